"""``wardplan check``: re-verify a written plan from its files alone, without the solver.

Reads ``plan.geojson`` (wards, their organiser and load), ``summary.csv`` (the organisers, so one
left without wards is caught) and ``report.json`` (tolerance and snapping used), recomputes adjacency
from the geometry and checks coverage, one connected area per organiser and balance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis.adjacency import build_adjacency
from gis.errors import InputError, Issue
from solver import verify
from solver.problem import Problem


@dataclass(frozen=True)
class CheckResult:
    wards: int
    organisers: int
    tolerance: float | None
    max_deviation: float
    violations: list[verify.Violation]

    @property
    def passed(self) -> bool:
        return not self.violations


def check_plan_dir(
    plan_dir: Path,
    *,
    tolerance: float | None = None,
    snap_metres: float | None = None,
    wards_expected: set[str] | None = None,
) -> CheckResult:
    plan_file, summary_file, report_file = (
        plan_dir / "plan.geojson",
        plan_dir / "summary.csv",
        plan_dir / "report.json",
    )
    missing = [p.name for p in (plan_file, summary_file, report_file) if not p.is_file()]
    if missing:
        raise InputError(
            f"{plan_dir} is not a plan folder",
            [Issue("missing-file", "file not found", file=m) for m in missing],
            code="not-a-plan",
        )
    report = json.loads(report_file.read_text(encoding="utf-8"))
    params = report.get("parameters", {})
    if tolerance is None:
        tolerance = report.get("tolerance_used")
    if snap_metres is None:
        snap_metres = float(params.get("snap_metres", 5.0))
    wards = gpd.read_file(plan_file, engine="pyogrio")
    summary = pd.read_csv(summary_file, dtype={"organiser_id": str})
    organisers = [str(o) for o in summary["organiser_id"]]
    ids = [str(w) for w in wards["ward_id"]]
    pos = {o: j for j, o in enumerate(organisers)}
    assignment = [pos.get(str(o), -1) for o in wards["organiser_id"]]
    adjacency = build_adjacency(wards, snap_metres=snap_metres)
    respect_zones = bool(params.get("respect_zones", False))
    zones = None
    if respect_zones and "zone" in wards.columns:
        zones = [None if pd.isna(z) else str(z) for z in wards["zone"]]
    problem = Problem.from_lists(
        unit_ids=ids,
        weights=[float(x) for x in wards["poor_households_est"]],
        edges=list(adjacency.edges),
        organiser_ids=organisers,
        distance_km=[[0.0] * len(organisers) for _ in ids],
        zones=zones,
    )
    violations = verify.check_plan(problem, assignment, tolerance, respect_zones=respect_zones)
    if wards_expected is not None:
        for w in sorted(wards_expected - set(ids)):
            violations.append(verify.Violation("coverage", f"ward {w} is missing from the plan"))
        for w in sorted(set(ids) - wards_expected):
            violations.append(verify.Violation("coverage", f"ward {w} is not in the ward layer"))
    valid = all(a >= 0 for a in assignment)
    return CheckResult(
        wards=len(ids),
        organisers=len(organisers),
        tolerance=tolerance,
        max_deviation=verify.max_deviation(problem, assignment) if valid else float("nan"),
        violations=violations,
    )
