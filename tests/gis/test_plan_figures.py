"""One computation of a plan's figures (issue 16): ``gis.figures.PlanFigures``, by hand."""

from __future__ import annotations

import pytest

from gis.figures import PlanFigures
from solver.problem import Problem


def test_loads_deviations_and_distances_by_hand() -> None:
    # Wards w1, w2 → A; w3, w4 → B (w4's estimate is not known: left out); C has no ward.
    figures = PlanFigures.of(
        ["A", "B", "C"],
        ["w1", "w2", "w3", "w4"],
        ["A", "A", "B", "B"],
        [100.0, 50.0, 90.0, None],
        [1.0, 4.0, 2.0, 7.0],
    )
    assert figures.total_load == 240.0
    assert figures.mean_load == 80.0
    a, b, c = figures.organisers
    assert (a.organiser_id, a.ward_ids, a.load) == ("A", ("w1", "w2"), 150.0)
    assert a.deviation_pct == pytest.approx(87.5)
    assert a.mean_km == pytest.approx((100 * 1.0 + 50 * 4.0) / 150)  # weighted by the loads
    assert a.max_km == 4.0
    assert (b.ward_ids, b.load, b.mean_km) == (("w3", "w4"), 90.0, 2.0)
    assert b.max_km == 7.0  # the farthest ward counts even without an estimate
    assert b.deviation_pct == pytest.approx(12.5)
    assert (c.ward_ids, c.load, c.mean_km, c.max_km) == ((), 0.0, None, None)
    assert c.deviation_pct == pytest.approx(-100.0)
    assert figures.of_organiser("B") is b
    assert figures.of_organiser("D") is None


def test_no_home_and_no_load_give_no_figure() -> None:
    figures = PlanFigures.of(["A"], ["w1"], ["A"], [0.0], [None])
    (a,) = figures.organisers
    assert (a.load, a.deviation_pct, a.mean_km, a.max_km) == (0.0, None, None, None)


def test_a_solved_problem_gives_the_same_figures() -> None:
    problem = Problem.from_lists(
        unit_ids=["w1", "w2", "w3"],
        weights=[100.0, 50.0, 90.0],
        edges=[(0, 1), (1, 2)],
        organiser_ids=["A", "B"],
        distance_km=[[1.0, 5.0], [4.0, 3.0], [6.0, 2.0]],
    )
    figures = PlanFigures.of_problem(problem, [0, 0, 1])
    assert figures == PlanFigures.of(
        ["A", "B"], ["w1", "w2", "w3"], ["A", "A", "B"], [100.0, 50.0, 90.0], [1.0, 4.0, 2.0]
    )
    assert figures.mean_load == pytest.approx(problem.mean_load)
