"""Branch-and-cut in one SCIP tree (``method="branch_and_cut"``) against the exact methods.

The grids are drawn so the best plan *without* contiguity has an area in pieces (checked here with
the assignment model alone), so the contiguity handler must cut; the optimum is known from set
partitioning (every connected area listed) and from the cut loop, and on a 3 × 3 grid by brute force.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import pyscipopt
import pytest

from solver import verify
from solver.backends import make_backend
from solver.graph import components
from solver.methods import branch_and_cut
from solver.methods.context import Clock, Context
from solver.model import AssignmentModel
from solver.problem import Problem, Status
from solver.solve import SolveParams, solve
from tests.solver.grids import grid

#: Seeds of 4 × 5 grids with 3 organisers whose no-contiguity optimum at ±5 % is in pieces.
IN_PIECES = (2, 26, 29, 35)
#: Seeds of each comparison run by ``make check``; the others are marked slow (``make test``).
_SLOW = pytest.mark.slow


def _seeds(seeds: tuple[int, ...] | range, fast: int) -> list[object]:
    return [s if s == fast else pytest.param(s, marks=_SLOW) for s in seeds]


def _random_grid(seed: int, rows: int = 4, cols: int = 5, k: int = 3) -> Problem:
    rng = random.Random(seed)
    homes = [(rng.uniform(0, rows - 1), rng.uniform(0, cols - 1)) for _ in range(k)]
    weights = [float(rng.randint(5, 30)) for _ in range(rows * cols)]
    return grid(rows, cols, homes, weights=weights)


def _solve(problem: Problem, tolerance: float, **params: Any) -> Any:
    settings = SolveParams(tolerance=tolerance, time_limit=20, threads=1, **params)
    return solve(problem, settings, backend=make_backend("highs", threads=1))


def _pieces_without_contiguity(problem: Problem, tolerance: float) -> int:
    lo, hi = problem.load_bounds(tolerance)
    model = AssignmentModel(problem, lo=lo, hi=hi)
    res = make_backend("highs", threads=1).solve(model.lp, time_limit=10, gap=1e-6)
    a, nb = model.assignment_from(res.values), problem.neighbours()
    k = problem.n_organisers
    return sum(len(components([i for i, x in enumerate(a) if x == j], nb)) for j in range(k)) - k


def _brute_force(problem: Problem, tolerance: float) -> float:
    """The best contiguous plan's objective over every assignment (tiny grids only)."""
    best = float("inf")
    for plan in itertools.product(range(problem.n_organisers), repeat=problem.n_units):
        if not verify.check_plan(problem, list(plan), tolerance):
            best = min(best, verify.objective(problem, list(plan)))
    return best


@pytest.mark.parametrize("seed", _seeds(IN_PIECES, fast=26))
def test_same_optimum_as_set_partitioning_and_cut_loop(seed: int) -> None:
    problem = _random_grid(seed)
    assert _pieces_without_contiguity(problem, 0.05) > 0  # contiguity decides the optimum
    bc = _solve(problem, 0.05, method="branch_and_cut")
    sp = _solve(problem, 0.05)  # set partitioning lists every connected area here
    cl = _solve(problem, 0.05, method="cut_loop")
    assert bc.status is sp.status is cl.status is Status.OPTIMAL
    assert bc.solver == "scip"
    assert sp.solver == cl.solver == "highs"
    assert bc.objective == pytest.approx(sp.objective, rel=1e-6)
    assert bc.objective == pytest.approx(cl.objective, rel=1e-6)
    assert bc.assignment is not None
    assert verify.check_plan(problem, list(bc.assignment), 0.05) == []  # contiguous, balanced


@pytest.mark.parametrize("seed", _seeds(range(4), fast=0))
def test_same_optimum_as_brute_force(seed: int) -> None:
    problem = _random_grid(seed, rows=3, cols=3, k=3)
    expected = _brute_force(problem, 0.3)
    bc = _solve(problem, 0.3, method="branch_and_cut")
    assert bc.status is Status.OPTIMAL
    assert bc.objective == pytest.approx(expected, rel=1e-6)


def test_cuts_in_the_tree_make_every_area_contiguous() -> None:
    """Without a warm start, SCIP's own solutions in pieces must be cut off by the handler."""
    problem = _random_grid(IN_PIECES[0])
    params = SolveParams(tolerance=0.05, time_limit=20, threads=1, method="branch_and_cut")
    ctx = Context(
        problem,
        params,
        make_backend("highs", threads=1),
        Clock.starting_now(20),
        0.05,
        lambda *_: None,
    )
    model, x, handler = branch_and_cut.build(ctx)
    model.optimize()
    plan = [max(range(len(row)), key=lambda j: model.getVal(row[j])) for row in x]
    # proved within the gap asked (1e-3): SCIP says "gaplimit" when the last node closed it to
    # within that rather than to zero (the root separation's budget is in seconds: load decides)
    assert model.getStatus() in ("optimal", "gaplimit")
    assert handler.cuts > 0
    assert verify.check_plan(problem, plan, 0.05) == []
    assert model.getObjVal() == pytest.approx(_solve(problem, 0.05).objective, rel=1e-3)


def test_zones_are_respected() -> None:
    zones = ["N" if i < 10 else "S" for i in range(20)]
    problem = grid(4, 5, [(0, 0), (3, 4), (0, 4), (3, 0)], zones=zones)
    bc = _solve(problem, 0.2, method="branch_and_cut", respect_zones=True)
    cl = _solve(problem, 0.2, method="cut_loop", respect_zones=True)
    assert bc.status is cl.status is Status.OPTIMAL
    assert bc.objective == pytest.approx(cl.objective, rel=1e-6)
    assert bc.assignment is not None
    violations = verify.check_plan(problem, list(bc.assignment), 0.2, respect_zones=True)
    assert violations == []


def test_a_stop_at_a_limit_is_feasible_with_a_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    """SCIP stopped before its proof (here by a node limit, deterministic where a time limit is not):
    the plan is reported feasible with its gap, never optimal."""
    options = branch_and_cut._options

    def one_node(m: pyscipopt.Model, ctx: Any) -> None:
        options(m, ctx)
        m.setParam("limits/nodes", 1)

    monkeypatch.setattr(branch_and_cut, "_options", one_node)
    rng = random.Random(5)
    homes = [(rng.uniform(0, 9), rng.uniform(0, 9)) for _ in range(6)]
    problem = grid(10, 10, homes, weights=[float(rng.randint(5, 30)) for _ in range(100)])
    sol = _solve(problem, 0.02, method="branch_and_cut", star_share=0.0, lns_share=0.0)
    assert sol.assignment is not None
    assert verify.check_plan(problem, list(sol.assignment), 0.02) == []
    assert sol.status is Status.FEASIBLE
    assert sol.gap is not None
    assert sol.gap > 1e-3
    assert "nodelimit" in sol.explanation


def test_an_unknown_method_is_refused_by_name() -> None:
    with pytest.raises(
        ValueError, match="method 'simplex' must be one of auto, set_partitioning, cut_loop"
    ):
        SolveParams(method="simplex")
