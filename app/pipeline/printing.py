"""Printable sheets of a plan (``gis.sheets``) from what the CLI and the service know about it.

The sheets print the parameters a CMMU needs to judge a plan: the poverty rate, the balance asked
for and reached, what the solver proved, and whether the plan passed its independent check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from app.pipeline.answer_time import frontier_table
from app.pipeline.planning import PlanResult, plan_frames
from gis.co_sheets import organiser_sheets
from gis.frontier_chart import frontier_line
from gis.sheets import (
    SheetInfo,
    city_sheet,
    read_centres,
    read_ward_names,
)

CITY_SHEET = "city-sheet.pdf"
CO_SHEETS = "co-sheets.pdf"


def _tolerance(value: float | str | None) -> str:
    if value is None or value == "auto":
        return "auto (tightest balance reached)"
    if value == "balanced":
        return "balanced (where loosening further saves under 2 % of distance)"
    return f"±{float(value) * 100:.1f} %"


def sheet_parameters(
    *,
    poverty_rate: float,
    household_size: float,
    households_per_organiser: float,
    tolerance_requested: float | str | None,
    tolerance_used: float | None,
    status: str,
    check_passed: bool,
    frontier: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The "parameters" lines of a sheet, in reading order (with a frontier, its points too)."""
    line = frontier_line(frontier)
    return {
        "poverty rate": f"{poverty_rate * 100:g} % of the population",
        "household size": f"{household_size:g} (where no household count is known)",
        "poor households per CO": f"{households_per_organiser:,.0f} (guideline)",
        "balance asked": _tolerance(tolerance_requested),
        "balance used": "—" if tolerance_used is None else _tolerance(tolerance_used),
        "solver": status,
        "check": "passed (coverage, one connected area per CO, balance)"
        if check_passed
        else "FAILED",
        **({"balance vs distance": line} if line else {}),
    }


def result_sheet_info(result: PlanResult, city: str) -> SheetInfo:
    """A plan fresh from the solver (CLI): never approved yet, so always a draft."""
    est, sol = result.config.estimate, result.solution
    return SheetInfo(
        city=city,
        parameters=sheet_parameters(
            poverty_rate=est.rate,
            household_size=est.household_size,
            households_per_organiser=est.households_per_organiser,
            tolerance_requested=result.config.tolerance_requested,
            tolerance_used=sol.tolerance,
            status=sol.describe(),
            check_passed=result.verified,
            frontier=frontier_table(result.frontier),
        ),
        printed_on=date.today(),
        credits=result.layer_options.credits,
    )


def with_ward_names(plan_wards: gpd.GeoDataFrame, names: pd.DataFrame) -> gpd.GeoDataFrame:
    """``plan_wards`` with ``name_en``/``name_hi`` from a names table (``read_ward_names``); the
    layer's own ward name stays where the table has no English name."""
    out = plan_wards.copy()
    ids = [str(w) for w in out["ward_id"]]
    english = names["name_en"].reindex(ids).tolist()
    out["name_en"] = [
        e if isinstance(e, str) else n for e, n in zip(english, out["ward_name"], strict=True)
    ]
    out["name_hi"] = names["name_hi"].reindex(ids).tolist()
    return out


def check_sheet_inputs(ward_names: Path | None, centres: Path | None) -> None:
    """Read the optional sheet inputs once before a solve, so a bad file fails in seconds
    (``InputError``); ward ids are checked against the layer when the sheets are written."""
    if ward_names is not None:
        read_ward_names(ward_names)
    if centres is not None:
        read_centres(centres)


def write_sheets(
    result: PlanResult,
    out_dir: Path,
    *,
    city: str,
    ward_names: Path | None = None,
    centres: Path | None = None,
) -> list[Path]:
    """Write ``city-sheet.pdf`` and ``co-sheets.pdf`` (one page per CO) into ``out_dir``.

    ``ward_names``: a CSV ``ward_id,name_en,name_hi``; ``centres``: a CSV ``name,lat,lon`` of
    community centres (each CO sheet names the first one inside the CO's area). Both files are
    read again here (``check_sheet_inputs`` reads them before the solve, to fail early).
    """
    if not result.solution.has_plan:
        return []
    plan_wards, areas = plan_frames(result)
    if ward_names is not None:
        ids = [str(w) for w in plan_wards["ward_id"]]
        plan_wards = with_ward_names(plan_wards, read_ward_names(ward_names, ids))
    centre_frame = None if centres is None else read_centres(centres)
    info = result_sheet_info(result, city)
    out_dir.mkdir(parents=True, exist_ok=True)
    city_pdf, co_pdf = out_dir / CITY_SHEET, out_dir / CO_SHEETS
    city_pdf.write_bytes(city_sheet(plan_wards, areas, info))
    co_pdf.write_bytes(organiser_sheets(plan_wards, areas, info, centres=centre_frame))
    return [city_pdf, co_pdf]
