"""Pockets (wards reachable through one ward) and the balance floor they prove, against brute force."""

from __future__ import annotations

import itertools
import random

import pytest

from solver import pockets, verify
from solver.graph import articulation_points, components, is_connected
from solver.problem import Problem, Status
from solver.solve import SolveParams, solve


def _random_problem(seed: int, n: int, k: int) -> Problem:
    """A random connected graph with pendant chains (so it has cut units), random loads."""
    rng = random.Random(seed)
    edges = {(i - 1, i) for i in range(1, n)}  # a path keeps it connected
    for _ in range(n // 3):
        a, b = rng.sample(range(n), 2)
        if abs(a - b) > 1 and rng.random() < 0.5:
            edges.add((min(a, b), max(a, b)))
    weights = [float(rng.randint(1, 12)) for _ in range(n)]
    dist = [[rng.uniform(0, 5) for _ in range(k)] for _ in range(n)]
    return Problem.from_lists(
        [f"u{i}" for i in range(n)], weights, sorted(edges), [f"CO{j}" for j in range(k)], dist
    )


def _tightest_by_brute_force(p: Problem) -> float:
    """The smallest largest deviation of any split of the units into k connected areas."""
    n, k, nb = p.n_units, p.n_organisers, p.neighbours()
    best = float("inf")
    for labels in itertools.product(range(k), repeat=n - 1):
        a = [0, *labels]  # unit 0 in area 0: removes some symmetry
        groups = [[i for i in range(n) if a[i] == j] for j in range(k)]
        if all(groups) and all(is_connected(g, nb) for g in groups):
            best = min(best, verify.max_deviation(p, a))
    return best


def test_articulation_points_are_the_units_whose_removal_splits_the_graph() -> None:
    for seed in range(30):
        p = _random_problem(seed, 12, 2)
        nb = p.neighbours()
        expected = [
            u
            for u in range(p.n_units)
            if len(components([v for v in range(p.n_units) if v != u], nb)) > 1
        ]
        assert articulation_points(nb) == expected, seed


def test_the_pocket_floor_is_never_above_the_tightest_plan_and_usually_equal() -> None:
    exact = 0
    for seed in range(25):
        p = _random_problem(seed, 9, 2 + seed % 2)
        found = pockets.balance_floor(p)
        tightest = _tightest_by_brute_force(p)
        if found is not None:
            assert found.floor <= tightest + 1e-12, seed
            exact += found.floor >= tightest - 1e-12
    # on these small graphs the pockets decide the balance: 21 of the 25 (measured)
    assert exact >= 20


def _lucknow_like() -> Problem:
    """Units 0 and 1 reach the rest only through unit 2, as wards 0 and 9 reach Lucknow through 20.

    Mean load 100 (4 organisers, total 400): 0+1 alone is 64 (−36 %), with the gate 122 (+22 %)."""
    weights = [35.0, 29.0, 58.0, 50.0, 50.0, 40.0, 40.0, 48.0, 50.0]
    edges = [
        (0, 1),
        (0, 2),
        (1, 2),
        (2, 3),
        (2, 4),
        (3, 4),
        (3, 5),
        (4, 6),
        (5, 6),
        (5, 7),
        (6, 8),
        (7, 8),
    ]
    dist = [[float(abs(i - 2 * j)) for j in range(4)] for i in range(9)]
    return Problem.from_lists(
        [f"w{i}" for i in range(9)], weights, edges, [f"CO{j}" for j in range(4)], dist
    )


def test_a_pocket_behind_one_ward_sets_the_floor_exactly() -> None:
    p = _lucknow_like()
    found = pockets.balance_floor(p)
    assert found is not None
    assert (found.gate, found.members) == (2, (0, 1))
    assert found.floor == pytest.approx(0.22)
    assert _tightest_by_brute_force(p) == pytest.approx(0.22)


def test_a_balance_below_the_pocket_floor_is_refused_at_once_naming_the_wards() -> None:
    p = _lucknow_like()
    sol = solve(p, SolveParams(tolerance=0.10, time_limit=30))
    assert sol.status is Status.INFEASIBLE
    assert sol.iterations == 0  # no model was solved
    assert "wards w0, w1 reach the other wards only through ward w2" in sol.explanation
    assert "±22.0 %" in sol.explanation


def test_auto_proves_the_pocket_floor_tight() -> None:
    p = _lucknow_like()
    sol = solve(p, SolveParams(tolerance=None, time_limit=30))
    assert sol.status is Status.OPTIMAL
    assert sol.tightest_tolerance == pytest.approx(0.22)
    assert sol.balance_floor == pytest.approx(0.22)  # the proof, as a field and not only in words
    assert any(
        "no plan exists below ±22.00 % (proved): wards w0, w1 reach the other wards only through "
        "ward w2" in w
        for w in sol.warnings
    )
