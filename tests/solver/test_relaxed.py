"""The contiguity-relaxed LP, its bound and the plan rounded from it (solver.relaxed), and the
search that uses them for cities too large for the full model."""

from __future__ import annotations

import itertools
import math
import random
import time

import numpy as np
import pytest
from scipy.optimize import linprog

from solver import relaxed, verify
from solver.backends import make_backend
from solver.methods import cut_loop, relaxed_search, starts
from solver.problem import Problem, Status
from solver.solve import SolveParams, solve
from tests.solver.grids import grid

#: The relaxed LP's HiGHS models, made as the solver makes them (the backend's options).
HIGHS = make_backend("highs").highs_model


def _weighted_grid(rows: int, cols: int, homes: list[tuple[float, float]], seed: int) -> Problem:
    rng = random.Random(seed)
    return grid(rows, cols, homes, weights=[rng.uniform(5, 20) for _ in range(rows * cols)])


def _full_lp(problem: Problem, lo: float, hi: float) -> float:
    """The same LP over every pair at once, by scipy (the reference)."""
    n, k = problem.n_units, problem.n_organisers
    c = relaxed.cost_matrix(problem).ravel()
    a_eq = np.zeros((n, n * k))
    for i in range(n):
        a_eq[i, i * k : (i + 1) * k] = 1
    load = np.zeros((k, n * k))
    for i in range(n):
        for j in range(k):
            load[j, i * k + j] = problem.weights[i]
    res = linprog(
        c,
        A_ub=np.vstack([load, -load]),
        b_ub=np.concatenate([np.full(k, hi), np.full(k, -lo)]),
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


def _floor(problem: Problem, lo: float, hi: float) -> float:
    """The best plan without contiguity, by enumeration (tiny problems only)."""
    best = math.inf
    for a in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        loads = [0.0] * problem.n_organisers
        for i, j in enumerate(a):
            loads[j] += problem.weights[i]
        if all(lo - 1e-9 <= x <= hi + 1e-9 for x in loads):
            best = min(best, verify.objective(problem, a))
    return best


def test_column_generation_reaches_the_lp_over_all_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relaxed, "CANDIDATES", 2)  # the two nearest homes only: pricing must work
    # three homes crowd one corner: at ±5 % they must reach past each other's nearest units
    p = _weighted_grid(6, 6, [(0, 0), (0, 2), (2, 0), (5, 5), (5, 0)], seed=3)
    lo, hi = p.load_bounds(0.05)
    lp = relaxed.solve_lp(p, lo, hi, deadline=time.monotonic() + 30, highs=HIGHS)
    assert lp is not None
    assert lp.rounds > 1
    assert lp.columns < p.n_units * p.n_organisers
    reference = _full_lp(p, lo, hi)
    assert lp.value == pytest.approx(reference, rel=1e-7)
    assert lp.bound == pytest.approx(reference, rel=1e-6)
    assert lp.bound <= lp.value
    assert lp.shares.sum(axis=1) == pytest.approx(np.ones(p.n_units))


def test_the_lagrangian_bound_holds_for_any_multipliers() -> None:
    p = _weighted_grid(3, 3, [(0, 0), (2, 2)], seed=5)
    lo, hi = p.load_bounds(0.2)
    floor = _floor(p, lo, hi)
    cost = relaxed.cost_matrix(p)
    rng = np.random.default_rng(0)
    for _ in range(50):
        v = rng.normal(0, 1, p.n_organisers)
        assert relaxed.lagrangian_bound(p, cost, v, lo, hi) <= floor + 1e-9
    lp = relaxed.solve_lp(p, lo, hi, deadline=time.monotonic() + 30, highs=HIGHS)
    assert lp is not None
    assert lp.bound <= floor + 1e-9


def test_the_rounded_plan_is_contiguous_and_balanced() -> None:
    p = _weighted_grid(10, 10, [(1, 1), (1, 8), (8, 1), (8, 8), (4.5, 4.5)], seed=7)
    lo, hi = p.load_bounds(0.1)
    lp = relaxed.solve_lp(p, lo, hi, deadline=time.monotonic() + 30, highs=HIGHS)
    assert lp is not None
    plan = relaxed.round_plan(p, lp.shares, lo, hi, deadline=time.monotonic() + 10)
    assert plan is not None
    assert verify.check_plan(p, plan, 0.1) == []
    assert verify.objective(p, plan) >= lp.bound - 1e-6


def test_a_city_too_large_for_the_full_model_gets_a_plan_and_a_true_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relaxed_search, "LARGE_PAIRS", 0)  # every city counts as large

    def no_full_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the full assignment model was built")

    monkeypatch.setattr(cut_loop, "AssignmentModel", no_full_model)
    monkeypatch.setattr(starts, "AssignmentModel", no_full_model)
    p = _weighted_grid(3, 4, [(0, 0), (2, 3), (0, 3)], seed=11)
    tol = 0.25
    sol = solve(p, SolveParams(tolerance=tol, time_limit=5, partition=False))
    assert sol.status in (Status.OPTIMAL, Status.FEASIBLE)
    assert sol.assignment is not None
    assert verify.check_plan(p, sol.assignment, tol) == []
    assert sol.bound is not None
    assert sol.objective is not None
    # the bound is below the best plan without contiguity, so below the contiguous optimum
    assert sol.bound <= _floor(p, *p.load_bounds(tol)) + 1e-9
    assert sol.bound <= sol.objective
    assert any("too many pairs" in w for w in sol.warnings)


@pytest.mark.slow  # runs its whole 10 s time limit
def test_auto_balance_on_a_large_city_probes_without_the_full_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relaxed_search, "LARGE_PAIRS", 0)

    def no_full_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the full assignment model was built")

    monkeypatch.setattr(cut_loop, "AssignmentModel", no_full_model)
    monkeypatch.setattr(starts, "AssignmentModel", no_full_model)
    p = _weighted_grid(4, 5, [(0, 0), (3, 4), (0, 4), (3, 0)], seed=13)
    sol = solve(p, SolveParams(tolerance=None, time_limit=10, partition=False))
    assert sol.assignment is not None
    assert sol.tolerance is not None
    assert verify.check_plan(p, sol.assignment, sol.tolerance) == []
    assert sol.tightest_tolerance == pytest.approx(
        verify.max_deviation(p, sol.assignment), abs=1e-3
    )
