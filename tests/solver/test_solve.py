"""The exact solver on hand-drawn grids: optimal, infeasible and time-limited cases, both backends."""

from __future__ import annotations

import itertools
import math
import time

import pytest

from solver import verify
from solver.backends import make_backend
from solver.graph import components
from solver.problem import Problem, Progress, Status
from solver.solve import SolveParams, precheck, primal_shares, solve
from tests.solver.grids import grid

BACKENDS = ["highs", "cbc"]


def brute_force(problem: Problem, tolerance: float) -> float:
    """The contiguous optimum by enumerating every assignment (tiny problems only)."""
    best = math.inf
    k = problem.n_organisers
    for a in itertools.product(range(k), repeat=problem.n_units):
        if not verify.check_plan(problem, a, tolerance):
            best = min(best, verify.objective(problem, a))
    return best


@pytest.mark.parametrize("backend", BACKENDS)
def test_four_corners_is_optimal_quadrants(backend: str) -> None:
    p = grid(4, 4, [(0, 0), (0, 3), (3, 0), (3, 3)])
    sol = solve(p, SolveParams(tolerance=0.0, time_limit=30), backend=make_backend(backend))
    assert sol.status is Status.OPTIMAL
    assert sol.assignment == (0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3)
    assert sol.gap is not None
    assert sol.gap <= 1e-3
    assert verify.check_plan(p, sol.assignment, 0.0) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_brute_force_when_contiguity_binds(backend: str) -> None:
    # Both homes sit at the left; the nearest-home split without contiguity would give CO0 the two
    # left corners and cut the strip in pieces. Brute force over all 2^8 assignments is the truth.
    p = grid(2, 4, [(0, 0), (1, 0.2)], weights=[5, 1, 1, 5, 5, 1, 1, 5])
    tol = 0.25
    expected = brute_force(p, tol)
    sol = solve(p, SolveParams(tolerance=tol, time_limit=30), backend=make_backend(backend))
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(expected, rel=1e-6)
    assert verify.check_plan(p, sol.assignment or (), tol) == []


def test_a_ward_above_one_share_is_infeasible_with_reason() -> None:
    p = grid(2, 2, [(0, 0), (1, 1)], weights=[100, 10, 10, 10])
    sol = solve(p, SolveParams(tolerance=0.1, time_limit=10))
    assert sol.status is Status.INFEASIBLE
    assert sol.assignment is None
    assert "ward r0c0" in sol.explanation
    assert "tightest balance" in sol.explanation


def test_more_organisers_than_wards_is_infeasible() -> None:
    p = grid(1, 2, [(0, 0), (0, 1), (0, 0.5)])
    assert "only 2 wards" in (precheck(p, 0.5, False) or "")


def test_contiguity_makes_a_balance_infeasible() -> None:
    # A path a-b-c with loads 1, 2, 1 and two COs: {a,c} vs {b} balances exactly but is not
    # contiguous; every contiguous split is 1 vs 3. Ward a reaches c only through b.
    p = Problem.from_lists(
        ["a", "b", "c"], [1, 2, 1], [(0, 1), (1, 2)], ["X", "Y"], [[0, 1], [1, 0], [0, 1]]
    )
    sol = solve(p, SolveParams(tolerance=0.1, time_limit=20))
    assert sol.status is Status.INFEASIBLE
    assert "reach the other wards only through ward b" in sol.explanation


def test_contiguity_makes_a_balance_infeasible_without_a_pocket() -> None:
    # A ring of six wards, loads 5 1 5 1 5 1 (mean 9 for two COs): 8 vs 10 (±11 %) is possible
    # in pieces, but the contiguous splits are arcs, at best 7 vs 11 (±22 %). No ward cuts the
    # ring, so only the solver can prove it.
    ids = ["a", "b", "c", "d", "e", "f"]
    edges = [(i, (i + 1) % 6) for i in range(6)]
    dist = [[float(i % 3), float((i + 1) % 3)] for i in range(6)]
    p = Problem.from_lists(ids, [5, 1, 5, 1, 5, 1], edges, ["X", "Y"], dist)
    sol = solve(p, SolveParams(tolerance=0.15, time_limit=20))
    assert sol.status is Status.INFEASIBLE
    assert "no contiguous plan" in sol.explanation


def test_auto_tolerance_finds_the_tightest_contiguous_balance() -> None:
    p = Problem.from_lists(
        ["a", "b", "c"], [1, 2, 1], [(0, 1), (1, 2)], ["X", "Y"], [[0, 1], [1, 0], [0, 1]]
    )
    sol = solve(p, SolveParams(tolerance=None, time_limit=20))
    assert sol.status is Status.OPTIMAL
    assert sol.tightest_tolerance == pytest.approx(0.5)
    assert sol.tolerance == pytest.approx(0.5)
    assert verify.check_plan(p, sol.assignment or (), 0.5) == []
    # the floor it claims is proved: no plan at all is tighter (every assignment tried)
    assert sol.balance_floor == pytest.approx(0.5)
    tighter = [
        a
        for a in itertools.product(range(2), repeat=3)
        if not verify.check_plan(p, a, sol.balance_floor - 1e-6)
    ]
    assert tighter == []


def test_zones_keep_each_area_inside_one_zone() -> None:
    zones = ["W", "W", "E", "E"] * 4
    p = grid(4, 4, [(0, 0), (3, 0), (0, 3), (3, 3)], zones=zones)
    sol = solve(p, SolveParams(tolerance=0.0, respect_zones=True, time_limit=30))
    assert sol.status is Status.OPTIMAL
    assert sol.assignment is not None
    for j in range(4):
        assert len({zones[i] for i, a in enumerate(sol.assignment) if a == j}) == 1


def test_a_zone_that_cannot_be_split_is_explained() -> None:
    zones = ["W"] * 3 + ["E"] * 13
    p = grid(4, 4, [(0, 0), (3, 0), (0, 3), (3, 3)], zones=zones)
    sol = solve(p, SolveParams(tolerance=0.05, respect_zones=True, time_limit=10))
    assert sol.status is Status.INFEASIBLE
    assert "zone W (30 poor households)" in sol.explanation
    assert "zone E (130 poor households)" in sol.explanation


@pytest.mark.parametrize("backend", BACKENDS)
def test_time_limited_solve_is_never_called_optimal(backend: str) -> None:
    rows, cols = 12, 12
    weights = [float(5 + (7 * i * i + 3 * i) % 41) for i in range(rows * cols)]
    homes = [(1, 1), (1, 10), (10, 1), (10, 10), (5, 5), (2, 6), (9, 6), (6, 2), (6, 9), (4, 8)]
    p = grid(rows, cols, homes, weights=weights)
    sol = solve(p, SolveParams(tolerance=0.02, time_limit=2), backend=make_backend(backend))
    assert sol.status in (Status.FEASIBLE, Status.NO_SOLUTION, Status.OPTIMAL)
    if sol.status is Status.OPTIMAL:  # only when the bound truly meets the plan
        assert sol.gap is not None
        assert sol.gap <= 1e-3
    if sol.status is Status.FEASIBLE:
        # A loaded machine can stop before the solver has any bound: then the gap is unknown,
        # and said so, never taken for zero.
        if sol.gap is None:
            assert sol.bound is None
            assert "feasible, gap unknown" in sol.describe()
        else:
            assert sol.gap > 1e-3
            assert "feasible, gap" in sol.describe()
        assert verify.check_plan(p, sol.assignment or (), 0.02) == []
    if sol.status is Status.NO_SOLUTION:
        assert sol.assignment is None
        assert "time ran out" in sol.explanation


def test_every_returned_area_is_connected() -> None:
    p = grid(5, 5, [(0, 0), (4, 4), (0, 4)], weights=[float(1 + i % 4) for i in range(25)])
    sol = solve(p, SolveParams(tolerance=0.15, time_limit=30))
    assert sol.assignment is not None
    nb = p.neighbours()
    for j in range(3):
        assert len(components([i for i, a in enumerate(sol.assignment) if a == j], nb)) == 1


def test_primal_shares_follow_units_per_organiser_unless_set() -> None:
    many = grid(4, 4, [(0, 0), (3, 3)])  # 8 units per organiser: the bound can move
    few = grid(4, 4, [(r, r) for r in range(4)])  # 4 per organiser: contiguity decides
    assert primal_shares(many, SolveParams()) == (0.3, 0.2)
    assert primal_shares(few, SolveParams()) == (0.1, 0.5)
    assert primal_shares(few, SolveParams(star_share=0.0, lns_share=0.25)) == (0.0, 0.25)


def test_neighbourhood_search_keeps_plans_connected_and_never_worsens() -> None:
    from solver import heuristic, lns

    p = grid(6, 6, [(0, 0), (0, 5), (5, 0), (5, 5), (2.5, 2.5), (0, 2.5)])
    lo, hi = p.load_bounds(0.2)
    grown = heuristic.grow(p, p.neighbours(), lo, hi)
    assert grown is not None
    start = heuristic.improve(p, p.neighbours(), grown, lo, hi)
    assert verify.check_plan(p, start, 0.2) == []
    better = lns.improve(p, start, lo, hi, make_backend("highs"), deadline=time.monotonic() + 5)
    assert verify.check_plan(p, better, 0.2) == []
    assert verify.objective(p, better) <= verify.objective(p, start) + 1e-9


def test_progress_shows_only_verified_plans_as_the_incumbent() -> None:
    # contiguity binds here, so the cut loop's MIP rounds find cheaper plans in pieces first
    p = grid(4, 6, [(0, 0), (1.5, 0.2), (3, 0)], weights=[5 + (i * 7) % 11 for i in range(24)])
    seen: list[float] = []

    def on_progress(pr: Progress) -> None:
        if pr.phase == "distance" and pr.incumbent is not None:
            seen.append(pr.incumbent)

    sol = solve(
        p, SolveParams(tolerance=0.25, time_limit=30, partition=False), on_progress=on_progress
    )
    assert sol.objective is not None
    assert seen
    assert min(seen) >= sol.objective - 1e-6
