"""``wardplan allocate --tolerance balanced`` / ``--frontier`` end to end on Chandigarh's real wards:
the frontier table, chart and map panel, the sheet's line, and the phase timings in report.json."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from app.core.options import LayerOptions
from app.pipeline import answer_time, planning
from app.pipeline.printing import sheet_parameters
from solver.deadline import MIN_SOLVER_SECONDS, MIN_SOLVER_SHARE, Deadline
from tests.app.test_cli import organisers, run

PHASES = ("reading", "adjacency", "model", "solve", "check", "outputs", "sheets")


def chandigarh_args(shared_data: Path) -> list[str | Path]:
    d = shared_data / "chandigarh"
    return [
        d / "raw" / "Chandigarh_Wards-SHP.zip",
        "--exclude",
        "reserve",
        "--merge",
        "5",
        "--population-table",
        d / "census2011_wards.csv",
    ]


@pytest.fixture(scope="module")
def balanced_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("frontier")
    args = chandigarh_args(shared_data)
    orgs = organisers(tmp, args, 3)
    out = tmp / "plan"
    code, text = run(
        "allocate",
        *args,
        "--organisers",
        orgs,
        "--out",
        out,
        "--tolerance",
        "balanced",
        "--time-limit",
        "40",
        "--sheets",
    )
    assert code == 0, text
    assert "balance–distance frontier" in text
    return out


def report_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.slow  # Chandigarh planned end to end through the CLI: a frontier of solves, every output
def test_balanced_answers_with_the_balanced_point(balanced_run: Path) -> None:
    report = report_of(balanced_run)
    table = report["frontier"]
    assert report["parameters"]["tolerance_requested"] == "balanced"
    assert table["chosen"] == table["balanced"]
    chosen = next(p for p in table["points"] if p["label"] == table["chosen"])
    assert report["tolerance_used"] == chosen["tolerance"]
    assert report["objective"] == pytest.approx(chosen["objective"])
    assert report["check"]["passed"]
    assert "2 %" in table["rule"]


@pytest.mark.slow  # Chandigarh planned end to end through the CLI: a frontier of solves, every output
def test_frontier_table_is_monotone_with_gaps(balanced_run: Path) -> None:
    points = report_of(balanced_run)["frontier"]["points"]
    assert points[0]["label"] == "tightest"
    assert len(points) >= 2
    objectives = [p["objective"] for p in points]
    assert all(a >= b - 1e-6 for a, b in itertools.pairwise(objectives))
    for p in points:
        assert p["check_passed"]
        assert p["gap"] == pytest.approx((p["objective"] - p["bound"]) / p["objective"], abs=1e-9)


@pytest.mark.slow  # Chandigarh planned end to end through the CLI: a frontier of solves, every output
def test_chart_map_panel_and_sheet(balanced_run: Path) -> None:
    png = (balanced_run / "frontier.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    page = (balanced_run / "map.html").read_text(encoding="utf-8")
    assert 'class="wp-frontier"' in page
    assert "data:image/png;base64," in page
    assert (balanced_run / "city-sheet.pdf").stat().st_size > 0
    report = report_of(balanced_run)
    assert "frontier.png" in report["outputs"]


@pytest.mark.slow  # Chandigarh planned end to end through the CLI: a frontier of solves, every output
def test_phases_are_reported_and_add_up(balanced_run: Path) -> None:
    report = report_of(balanced_run)
    phases = report["phases"]
    for name in PHASES:
        assert name in phases, name
    parts = math.fsum(v for k, v in phases.items() if k not in ("total", "limit"))
    assert parts == pytest.approx(phases["total"], abs=0.01)
    assert phases["limit"] == 40
    # the solver's budget was what remained when it started: at most the limit less the phases
    # before it (reading, adjacency, model)
    before = phases["reading"] + phases["adjacency"] + phases["model"]
    assert 0 < report["solver_budget_s"] <= max(MIN_SOLVER_SHARE * 40, 40 - before) + 1e-3


@pytest.mark.slow  # Chandigarh planned end to end through the CLI
def test_the_solver_gets_the_remainder(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The budget handed to the solve step is the deadline's remainder less the reserve."""
    seen: dict[str, float] = {}
    real = answer_time.solve_step

    def spy(problem: Any, params: Any, *rest: Any) -> Any:
        seen["time_limit"] = params.time_limit
        seen["remaining"] = deadline.remaining()
        return real(problem, params, *rest)

    monkeypatch.setattr(answer_time, "solve_step", spy)
    d = shared_data / "chandigarh"
    orgs = organisers(tmp_path, chandigarh_args(shared_data), 3)
    layer = planning.LayerRequest(
        d / "raw" / "Chandigarh_Wards-SHP.zip",
        LayerOptions(exclude_ids=("reserve",), merge_ids=("5",)),
        population_table=d / "census2011_wards.csv",
    )
    req = planning.PlanRequest(layer, orgs)
    deadline = Deadline(30)
    result = planning.plan(req, deadline=deadline)
    basis = deadline.phases["reading"] + deadline.phases["adjacency"]
    reserve = deadline.reserve.seconds(basis, 30)
    assert seen["time_limit"] == pytest.approx(deadline.solver_budget_s)
    # the budget is what remained when it was computed, less the reserve (the spy looked a moment
    # later, so it saw a little less remaining)
    least = max(MIN_SOLVER_SECONDS, MIN_SOLVER_SHARE * 30)  # when the phases before used it all
    assert seen["time_limit"] >= seen["remaining"] - reserve - 1e-6
    assert seen["time_limit"] <= max(least, 30 - basis - reserve) + 1e-6
    assert result.verified
    assert planning.report_dict(result)["solver_budget_s"] == pytest.approx(
        deadline.solver_budget_s, abs=1e-3
    )


@pytest.mark.slow  # Chandigarh planned end to end through the CLI: a frontier of solves, every output
def test_frontier_flag_keeps_the_requested_tolerance(shared_data: Path, tmp_path: Path) -> None:
    args = chandigarh_args(shared_data)
    orgs = organisers(tmp_path, args, 3)
    out = tmp_path / "plan"
    code, text = run(
        "allocate", *args, "--organisers", orgs, "--out", out, "--tolerance", "0.1",
        "--frontier", "--time-limit", "30",
    )  # fmt: skip
    assert code == 0, text
    report = report_of(out)
    assert report["parameters"]["tolerance_requested"] == 0.1
    assert report["frontier"]["chosen"] == "±10 %"
    assert report["tolerance_used"] == 0.1


def test_sheet_parameters_list_the_frontier() -> None:
    table = {
        "points": [
            {"label": "tightest", "tolerance": 0.02, "max_deviation": 0.019, "objective": 500.0,
             "gap": 0.0, "balance_floor": 0.015},
            {"label": "±5 %", "tolerance": 0.05, "max_deviation": 0.048, "objective": 420.0,
             "gap": 0.004},
        ],
        "balanced": "±5 %",
    }  # fmt: skip
    lines = sheet_parameters(
        poverty_rate=0.275,
        household_size=4.66,
        households_per_organiser=3000,
        tolerance_requested="balanced",
        tolerance_used=0.05,
        status="optimal",
        check_passed=True,
        frontier=table,
    )
    assert lines["balance asked"].startswith("balanced")
    assert lines["balance vs distance"] == (
        "±1.9 %: 500, gap 0.0 % [none below ±1.50 % (proved)] · ±4.8 %: 420, gap 0.4 % (balanced)"
        " household-km"
    )
