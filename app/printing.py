"""Printable sheets of a plan (``gis.sheets``) from what the CLI and the service know about it.

The sheets print the parameters a CMMU needs to judge a plan: the poverty rate, the balance asked
for and reached, what the solver proved, and whether the plan passed its independent check.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from app.planning import DATA_CREDITS, PlanResult, plan_frames
from gis.sheets import SheetInfo, city_sheet, organiser_sheets

CITY_SHEET = "city-sheet.pdf"
CO_SHEETS = "co-sheets.pdf"


def _tolerance(value: float | str | None) -> str:
    if value is None or value == "auto":
        return "auto (tightest balance reached)"
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
) -> dict[str, str]:
    """The "parameters" lines of a sheet, in reading order."""
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
    }


def result_sheet_info(result: PlanResult, city: str) -> SheetInfo:
    """A plan fresh from the solver (CLI): never approved yet, so always a draft."""
    est, sol = result.request.estimate, result.solution
    return SheetInfo(
        city=city,
        parameters=sheet_parameters(
            poverty_rate=est.rate,
            household_size=est.household_size,
            households_per_organiser=est.households_per_organiser,
            tolerance_requested=result.request.solve.tolerance,
            tolerance_used=sol.tolerance,
            status=sol.describe(),
            check_passed=result.verified,
        ),
        printed_on=date.today(),
        credits=DATA_CREDITS,
    )


def write_sheets(result: PlanResult, out_dir: Path, *, city: str) -> list[Path]:
    """Write ``city-sheet.pdf`` and ``co-sheets.pdf`` (one page per CO) into ``out_dir``."""
    if not result.solution.has_plan:
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    plan_wards, areas = plan_frames(result)
    info = result_sheet_info(result, city)
    city_pdf, co_pdf = out_dir / CITY_SHEET, out_dir / CO_SHEETS
    city_pdf.write_bytes(city_sheet(plan_wards, areas, info))
    co_pdf.write_bytes(organiser_sheets(plan_wards, areas, info))
    return [city_pdf, co_pdf]
