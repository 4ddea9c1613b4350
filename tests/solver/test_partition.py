"""The set-partitioning path: complete listing of connected areas, exact optima and proofs."""

from __future__ import annotations

import itertools

import pytest

from solver import partition, verify
from solver.backends import make_backend
from solver.graph import is_connected
from solver.problem import Problem, Status
from solver.solve import SolveParams, solve
from tests.solver.grids import grid


def _brute_areas(p: Problem, lo: float, hi: float) -> set[tuple[int, ...]]:
    nb = p.neighbours()
    out = set()
    for r in range(1, p.n_units + 1):
        for s in itertools.combinations(range(p.n_units), r):
            load = sum(p.weights[i] for i in s)
            if lo <= load <= hi and is_connected(s, nb):
                out.add(s)
    return out


@pytest.mark.parametrize(("lo", "hi"), [(0, 25), (20, 40), (45, 60), (0, 120)])
def test_listing_holds_every_connected_area_that_fits_exactly_once(lo: float, hi: float) -> None:
    p = grid(3, 4, [(0, 0)], weights=[5, 10, 15, 5, 20, 5, 10, 5, 15, 5, 10, 20])
    areas = partition.enumerate_areas(p, lo, hi)
    assert areas is not None
    assert len(areas.members) == len(set(areas.members))  # nothing twice
    assert set(areas.members) == _brute_areas(p, lo, hi)
    for s, members in enumerate(areas.members):  # the cost column is Σ load × km
        expected = sum(p.weights[i] * p.distance_km[i][0] for i in members)
        assert areas.cost[s, 0] == pytest.approx(expected)


def test_listing_gives_up_beyond_its_cap() -> None:
    p = grid(5, 5, [(0, 0), (4, 4)])
    assert partition.enumerate_areas(p, 0, 1e9, max_areas=50) is None


def _star() -> Problem:
    """A centre (load 1) with three leaves (load 3 each), two organisers: ±20 % needs areas of
    4–6, which only a leaf with the centre makes, leaving two leaves that do not touch."""
    ids = ["c", "l1", "l2", "l3"]
    edges = [(0, 1), (0, 2), (0, 3)]
    dist = [[1.0, 1.0], [0.0, 2.0], [2.0, 0.0], [2.0, 2.0]]
    return Problem.from_lists(ids, [1, 3, 3, 3], edges, ["A", "B"], dist)


def test_a_balance_no_contiguous_plan_meets_is_proved_impossible() -> None:
    p = _star()
    assert verify.check_plan(p, [0, 0, 1, 1], 0.2)  # split with the centre: areas in pieces
    sol = solve(p, SolveParams(tolerance=0.2, time_limit=20))
    assert sol.status is Status.INFEASIBLE
    assert "connected areas" in sol.explanation


def test_auto_finds_and_proves_the_tightest_balance() -> None:
    sol = solve(_star(), SolveParams(tolerance=None, time_limit=20))
    assert sol.assignment is not None
    assert sol.tightest_tolerance == pytest.approx(0.4)  # a leaf alone: 3 against the mean 5
    assert any("(proved)" in w for w in sol.warnings)


@pytest.mark.parametrize("tolerance", [0.1, 0.3])
def test_set_partitioning_matches_the_cut_loop(tolerance: float) -> None:
    p = grid(
        4,
        5,
        [(0, 0), (0, 4), (3, 0), (3, 4), (1.5, 2)],
        weights=[10 + (i * 7) % 13 for i in range(20)],
    )
    exact = solve(p, SolveParams(tolerance=tolerance, time_limit=30))
    loop = solve(p, SolveParams(tolerance=tolerance, time_limit=30, partition=False))
    assert exact.status is Status.OPTIMAL
    assert any("set partitioning" in w for w in exact.warnings)
    assert loop.status is Status.OPTIMAL
    assert exact.objective == pytest.approx(loop.objective, rel=2e-3)
    assert exact.assignment is not None
    assert verify.check_plan(p, exact.assignment, tolerance) == []


def test_cbc_keeps_the_cut_loop() -> None:
    p = grid(3, 3, [(0, 0), (2, 2)])
    sol = solve(p, SolveParams(tolerance=0.2, time_limit=20), backend=make_backend("cbc"))
    assert sol.status is Status.OPTIMAL
    assert not any("set partitioning" in w for w in sol.warnings)


def test_the_dive_gives_a_valid_plan_priced_as_the_check_prices_it() -> None:
    import time

    import numpy as np

    p = grid(
        5,
        6,
        [(0, 0), (0, 5), (4, 0), (4, 5), (2, 2.5), (2, 0)],
        weights=[10 + (i * 7) % 13 for i in range(30)],
    )
    tol = 0.2
    lo, hi = p.load_bounds(tol)
    areas = partition.enumerate_areas(p, lo, hi)
    assert areas is not None
    master = partition._Master(p, areas, make_backend("highs").highs_model)
    master.add([(s, j) for s in range(areas.count) for j in range(p.n_organisers)][:50], phase=1)
    phase1 = partition._generate(master, np.zeros_like(areas.cost), 1, time.monotonic() + 30)
    assert phase1 is not None
    assert phase1[0] == pytest.approx(0.0, abs=1e-7)
    master.to_phase_2()
    phase2 = partition._generate(master, areas.cost, 2, time.monotonic() + 30)
    assert phase2 is not None
    index = {m: s for s, m in enumerate(areas.members)}
    found = partition._dive(p, master, index, time.monotonic() + 30)
    assert found is not None
    cost, plan = found
    assert verify.check_plan(p, plan, tol) == []
    assert cost == pytest.approx(verify.objective(p, plan))
    assert cost >= phase2[0] - 1e-6  # no plan beats the LP
