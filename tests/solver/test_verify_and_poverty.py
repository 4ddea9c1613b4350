from __future__ import annotations

import math

import pytest

from solver import verify
from solver.graph import minimal_separator
from solver.poverty import EstimateError, EstimateParams, WardFigures, poor_households, requirement
from tests.solver.grids import grid


def test_check_plan_reports_each_kind_of_violation() -> None:
    p = grid(1, 4, [(0, 0), (0, 3)])
    assert verify.check_plan(p, [0, 0, 1, 1], 0.0) == []
    kinds = {v.kind for v in verify.check_plan(p, [0, 1, 0, 1], 0.0)}
    assert kinds == {"contiguity"}
    kinds = {v.kind for v in verify.check_plan(p, [0, 0, 0, 1], 0.1)}
    assert kinds == {"balance"}
    kinds = {v.kind for v in verify.check_plan(p, [0, 0, 0, 0], None)}
    assert kinds == {"empty"}
    assert verify.check_plan(p, [0, 0, 1], None)[0].kind == "coverage"


def test_minimal_separator_separates() -> None:
    p = grid(3, 3, [(0, 0)])
    nb = p.neighbours()
    sep = minimal_separator([0], 8, nb)
    assert sep == [1, 3]


def test_estimate_prefers_ward_poverty_then_households_then_population() -> None:
    assert poor_households(WardFigures(1000.0, 200.0, 7.0), 0.3, 5.0) == 7.0
    assert poor_households(WardFigures(1000.0, 200.0, None), 0.3, 5.0) == pytest.approx(60.0)
    assert poor_households(WardFigures(1000.0, None, None), 0.3, 5.0) == pytest.approx(60.0)
    with pytest.raises(EstimateError):
        poor_households(WardFigures(None, None, None), 0.3, 5.0)


def test_requirement_at_both_ends_of_the_band() -> None:
    wards = [WardFigures(60_000.0, 12_000.0), WardFigures(30_000.0, None)]
    r = requirement(wards, EstimateParams(rate=0.275, household_size=5.0), organisers_in_post=2)
    assert r.poor_households_low == pytest.approx(12_000 * 0.25 + 30_000 * 0.25 / 5)
    assert r.poor_households_high == pytest.approx(12_000 * 0.30 + 30_000 * 0.30 / 5)
    assert r.organisers_required_low == math.ceil(r.poor_households_low / 3000)
    assert r.organisers_required_high == math.ceil(r.poor_households_high / 3000)
    assert r.shortfall == r.organisers_required - 2
    assert r.bases == {"households × rate": 1, "population × rate ÷ household size": 1}


def test_rates_outside_the_band_warn_and_nonsense_is_refused() -> None:
    assert EstimateParams(rate=0.27).check() == []
    assert "outside the mission letter's band" in EstimateParams(rate=0.4).check()[0]
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(EstimateError):
            EstimateParams(rate=bad).check()


def test_describe_never_claims_more_than_was_proved() -> None:
    from solver.problem import Solution, Status

    def sol(status: Status, obj: float | None, bound: float | None) -> Solution:
        return Solution(status, (0,), obj, bound, 0.1, "highs", "x", 1.0)

    assert sol(Status.FEASIBLE, 100.0, None).describe().startswith("feasible, gap unknown")
    assert sol(Status.FEASIBLE, 100.0, 97.5).describe().startswith("feasible, gap 2.50 %")
    assert sol(Status.OPTIMAL, 100.0, 99.95).describe().startswith("optimal within 0.05 %")
    assert sol(Status.OPTIMAL, 100.0, 100.0).describe().startswith("optimal (")
