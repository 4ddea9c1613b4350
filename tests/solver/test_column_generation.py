"""Set partitioning by column generation (``method="column_generation"``): its pricing against
brute force over every set of units, and the method's plan and bound against the brute-force
optimum (every assignment of a tiny grid) and set partitioning over every listed area."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random

import numpy as np
import pytest

from solver import verify
from solver.backends import make_backend
from solver.graph import components
from solver.methods import column_generation, pricing
from solver.methods.context import Clock, Context
from solver.problem import Problem, Status
from solver.solve import SolveParams, method_for, solve
from tests.solver.grids import grid


def _random_grid(seed: int, rows: int, cols: int, k: int) -> Problem:
    rng = random.Random(seed)
    homes = [(rng.uniform(0, rows - 1), rng.uniform(0, cols - 1)) for _ in range(k)]
    weights = [float(rng.randint(5, 30)) for _ in range(rows * cols)]
    return grid(rows, cols, homes, weights=weights)


def _graph(problem: Problem, lo: float, hi: float, zones: list[str] | None = None) -> pricing.Graph:
    return pricing.Graph(problem.neighbours(), np.asarray(problem.weights), zones, lo, hi)


def _fits(g: pricing.Graph, members: tuple[int, ...]) -> bool:
    load = sum(float(g.w[i]) for i in members)
    one_zone = g.zones is None or len({g.zones[i] for i in members}) == 1
    connected = len(components(list(members), [list(x) for x in g.nb])) == 1
    return bool(members) and g.lo <= load <= g.hi and one_zone and connected


def _cheapest_by_brute_force(g: pricing.Graph, r: np.ndarray) -> float:
    n = len(r)
    best = math.inf
    for mask in range(1, 1 << n):
        members = tuple(i for i in range(n) if mask >> i & 1)
        if _fits(g, members):
            best = min(best, float(r[list(members)].sum()))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_pricing_finds_the_cheapest_connected_area(seed: int) -> None:
    rng = np.random.default_rng(seed)
    problem = _random_grid(seed, 3, 4, 1)
    zones = [("a" if i % 4 < 2 else "b") for i in range(12)] if seed % 3 == 0 else None
    mean = sum(problem.weights) / 3
    g = _graph(problem, 0.8 * mean, 1.2 * mean, zones)
    r = rng.normal(0, 20, 12)  # reduced costs of both signs
    expected = _cheapest_by_brute_force(g, r)
    greedy = pricing.greedy_areas(g, r, pricing.greedy_seeds(r, 0))
    assert all(_fits(g, a.members) for a in greedy)
    assert all(a.value == pytest.approx(float(r[list(a.members)].sum())) for a in greedy)
    start = min(greedy, key=lambda a: a.value) if greedy else None
    for known in (None, start):
        area, finished = pricing.cheapest_area(g, r, best=known, deadline=math.inf)
        assert finished
        if math.isinf(expected):
            assert area is None
            continue
        assert area is not None
        assert _fits(g, area.members)
        assert area.value == pytest.approx(expected)
    assert pricing.knapsack_bound(g, r) <= expected + 1e-9


def test_pricing_out_of_budget_says_so() -> None:
    problem = _random_grid(3, 4, 5, 1)
    g = _graph(problem, 0.0, sum(problem.weights))
    r = -np.ones(20)  # every set fits and every unit helps: nothing can be pruned
    area, finished = pricing.cheapest_area(g, r, best=None, deadline=math.inf, max_visits=50)
    assert not finished
    assert area is not None
    assert _fits(g, area.members)


def _brute_force(problem: Problem, tolerance: float) -> float:
    best = math.inf
    for plan in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        if not verify.check_plan(problem, list(plan), tolerance):
            best = min(best, verify.objective(problem, list(plan)))
    return best


def _context(
    problem: Problem, tolerance: float, backend: str = "highs", method: str = "column_generation"
) -> Context:
    params = SolveParams(tolerance=tolerance, time_limit=10, threads=1, method=method)
    return Context(
        problem,
        params,
        make_backend(backend, threads=1),
        Clock.starting_now(10),
        tolerance,
        lambda *_: None,
    )


@pytest.mark.parametrize(("seed", "tolerance"), [(s, t) for s in range(4) for t in (0.1, 0.3)])
def test_plan_and_bound_against_brute_force(seed: int, tolerance: float) -> None:
    problem = _random_grid(seed, 3, 3, 3)
    optimum = _brute_force(problem, tolerance)
    out = column_generation.solve(_context(problem, tolerance))
    if math.isinf(optimum):
        assert out.status is Status.INFEASIBLE  # the LP with every area priced has no solution
        return
    assert out.assignment is not None
    assert verify.check_plan(problem, out.assignment, tolerance) == []
    assert out.objective == pytest.approx(verify.objective(problem, out.assignment))
    assert out.bound is not None
    assert out.bound <= optimum + 1e-6 <= out.objective + 2e-6  # a valid bound, a real plan
    assert out.status is Status.OPTIMAL  # the exact pricing proves the LP; its plan is optimal here
    assert out.objective == pytest.approx(optimum, rel=1e-3)


@pytest.mark.parametrize("seed", [2, 26, 29, 35])
def test_same_optimum_as_set_partitioning(seed: int) -> None:
    problem = _random_grid(seed, 4, 5, 3)
    settings = SolveParams(tolerance=0.05, time_limit=20, threads=1)
    listed = solve(problem, settings, backend=make_backend("highs", threads=1))
    assert listed.method == "set_partitioning"
    assert listed.status is Status.OPTIMAL
    assert listed.objective is not None
    generated = solve(
        problem,
        SolveParams(tolerance=0.05, time_limit=20, threads=1, method="column_generation"),
        backend=make_backend("highs", threads=1),
    )
    assert generated.method == "column_generation"
    assert generated.assignment is not None
    assert verify.check_plan(problem, list(generated.assignment), 0.05) == []
    assert generated.bound is not None
    assert generated.bound <= listed.objective * (1 + 1e-9)
    assert generated.objective == pytest.approx(listed.objective, rel=1e-3)


def test_other_backends_run_the_cut_loop_and_say_so() -> None:
    problem = _random_grid(1, 3, 3, 3)
    out = column_generation.solve(_context(problem, 0.3, backend="cbc"))
    assert out.assignment is not None
    assert any("needs HiGHS" in w for w in out.warnings)


def test_auto_prefers_column_generation_to_the_cut_loop_at_few_units_per_organiser() -> None:
    """When set partitioning cannot list every area, *auto* takes column generation at up to six
    units per organiser (HiGHS), the cut loop above that or with CBC."""
    few = _random_grid(0, 3, 4, 3)  # 4 units per organiser
    many = _random_grid(0, 4, 5, 2)  # 10
    assert method_for(_context(few, 0.3, method="auto")) == "column_generation"
    assert method_for(_context(many, 0.3, method="auto")) == "cut_loop"
    assert method_for(_context(few, 0.3, backend="cbc", method="auto")) == "cut_loop"


def test_auto_keeps_to_the_cut_loop_for_costs_that_are_not_distances() -> None:
    """Re-plans (households moved) and pinned plans (a large cost for breaking a pin) turn
    ``auto_columns`` off: *auto* then takes the cut loop where it would take column generation."""
    few = _random_grid(0, 3, 4, 3)
    ctx = _context(few, 0.3, method="auto")
    off = dataclasses.replace(ctx, params=dataclasses.replace(ctx.params, auto_columns=False))
    assert method_for(ctx) == "column_generation"
    assert method_for(off) == "cut_loop"
