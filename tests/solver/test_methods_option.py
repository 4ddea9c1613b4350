"""The solve method as an option (``SolveParams.method``): each name reaches its method and the
answer says which ran; model builds stop when the time is up and say so (issue 18)."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from solver import verify
from solver.backends import make_backend
from solver.deadline import BuildStopped
from solver.methods import branch_and_cut, cut_loop
from solver.methods.context import Clock, Context
from solver.model import AssignmentModel
from solver.params import METHODS
from solver.problem import Problem, Status
from solver.solve import SolveParams, solve
from tests.solver.grids import grid

HOMES = [(0, 0), (3, 4), (0, 4)]


def _grid() -> Problem:
    return grid(4, 5, HOMES)  # 20 equal wards, 3 COs: areas of 6 or 7 wards at ±10 %


def _solve(problem: Problem, method: str, solver: str = "highs") -> Any:
    params = SolveParams(tolerance=0.1, time_limit=20, threads=1, method=method)
    return solve(problem, params, backend=make_backend(solver, threads=1))


@pytest.fixture(scope="module")
def solved() -> dict[str, Any]:
    """The grid solved once by each method (auto included), for the tests below to compare."""
    return {m: _solve(_grid(), m) for m in METHODS}


@pytest.mark.parametrize("method", [m for m in METHODS if m != "auto"])
def test_a_named_method_is_the_one_that_runs(method: str, solved: dict[str, Any]) -> None:
    sol = solved[method]
    assert sol.method == method
    assert sol.status is Status.OPTIMAL
    assert not verify.check_plan(_grid(), sol.assignment, 0.1)
    assert sol.solver == ("scip" if method == "branch_and_cut" else "highs")


def test_every_method_finds_the_same_optimum(solved: dict[str, Any]) -> None:
    values = {m: sol.objective for m, sol in solved.items()}
    assert max(values.values()) == pytest.approx(min(values.values()), rel=1e-6), values
    assert solved["auto"].method == "set_partitioning"  # every area listed at once


def test_set_partitioning_at_a_bound_reached_exactly() -> None:
    """6 wards of 10 make 60, the lower bound 66.67 × 0.9, which rounds to 60.00000000000001:
    the listing keeps the check's slack, so that area is listed and no infeasibility is claimed."""
    sol = _solve(_grid(), "set_partitioning")
    assert sol.status is Status.OPTIMAL
    assert sorted(10 * sol.assignment.count(j) for j in range(3)) == [60, 70, 70]


def test_set_partitioning_without_highs_says_what_ran_instead() -> None:
    sol = _solve(_grid(), "set_partitioning", solver="cbc")
    assert sol.method == "cut_loop"
    assert sol.status is Status.OPTIMAL
    assert any("set_partitioning asked for" in w and "HiGHS" in w for w in sol.warnings)


def test_prechecks_answer_before_any_method() -> None:
    problem = grid(2, 2, [*HOMES, (1, 1), (0, 1)])  # 5 COs, 4 wards
    sol = _solve(problem, "cut_loop")
    assert sol.status is Status.INFEASIBLE
    assert sol.method == ""


@dataclass(frozen=True)
class _Countdown(Clock):
    """A clock with time left for its first ``allowed`` looks, none after (no real time)."""

    allowed: int = 0
    looks: list[int] = field(default_factory=lambda: [0])

    def remaining(self) -> float:
        self.looks[0] += 1
        return 1.0 if self.looks[0] <= self.allowed else 0.0


def test_the_assignment_model_build_stops_partway_when_the_time_is_up() -> None:
    problem = grid(6, 6, HOMES)
    lo, hi = problem.load_bounds(0.1)
    clock = _Countdown(time.monotonic(), 60.0, allowed=10)
    with pytest.raises(BuildStopped) as stopped:
        AssignmentModel(problem, lo=lo, hi=hi, clock=clock)
    assert (stopped.value.done, stopped.value.total, stopped.value.unit) == (10, 36, "units")
    assert "the assignment model (10 of 36 units done)" in str(stopped.value)
    # and with time enough it is the whole model
    whole = AssignmentModel(problem, lo=lo, hi=hi, clock=_Countdown(0.0, 60.0, allowed=10**6))
    assert len(whole.x) == 36


def test_the_star_model_and_the_zones_check_the_time_too() -> None:
    problem = grid(4, 5, HOMES, zones=["a"] * 10 + ["b"] * 10)
    lo, hi = problem.load_bounds(0.3)
    for allowed, kw in ((20 + 20 + 3, {"respect_zones": True}), (43, {"centres": [0, 19, 4]})):
        with pytest.raises(BuildStopped) as stopped:
            AssignmentModel(problem, lo=lo, hi=hi, clock=_Countdown(0.0, 60, allowed=allowed), **kw)
        assert stopped.value.done == 0  # the first organiser's zone or star rows
        assert stopped.value.unit in ("organisers' zone rows", "organisers' star rows")


def test_the_branch_and_cut_build_stops_partway() -> None:
    problem = grid(6, 6, HOMES)
    ctx = _context(problem, _Countdown(time.monotonic(), 60.0, allowed=7))
    with pytest.raises(BuildStopped, match=r"branch-and-cut model \(7 of 36 units done\)"):
        branch_and_cut.build(ctx)


def _context(problem: Problem, clock: Clock, tolerance: float = 0.3) -> Context:
    params = SolveParams(tolerance=tolerance, time_limit=clock.limit, threads=1)
    backend = make_backend("highs", threads=1)
    return Context(problem, params, backend, clock, tolerance, lambda *_: None)


def _spent() -> Clock:
    """A 10 s limit that ran out 100 s ago: what a method sees after slow phases before it."""
    return Clock(time.monotonic() - 110.0, 10.0)


@pytest.mark.parametrize("method", [cut_loop.solve, branch_and_cut.solve])
def test_a_method_out_of_time_answers_its_cheap_plan_and_names_the_build(method: Any) -> None:
    problem = grid(4, 5, HOMES)
    out = method(_context(problem, _spent()))
    assert out.status is Status.FEASIBLE  # region growing's plan, never claimed optimal
    assert out.bound is None
    assert re.search(r"time limit ran out while building the (assignment|branch-and-cut) model",
                     out.explanation)  # fmt: skip
    assert "(0 of 20 units done)" in out.explanation
    assert not verify.check_plan(problem, out.assignment, 0.3)


def test_a_method_out_of_time_without_a_plan_says_no_plan_within_the_limit() -> None:
    problem = grid(1, 3, [(0, 0), (0, 2)], weights=[10, 3, 10])  # no plan at ±1 %: none to offer
    out = cut_loop.solve(_context(problem, _spent(), tolerance=0.01))
    assert out.status is Status.NO_SOLUTION
    assert out.explanation.startswith("no plan within the time limit: the time limit ran out")
    assert "the assignment model" in out.explanation


@pytest.mark.parametrize("seed", range(3))
def test_neighbour_rows_keep_the_contiguous_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The n/5 experiment's rows (off by default, BENCHMARKS.md) cut off no contiguous plan: the
    cut loop with them proves the optimum that set partitioning proves without them."""
    rng = random.Random(seed)
    homes = [(rng.uniform(0, 3), rng.uniform(0, 4)) for _ in range(4)]
    problem = grid(4, 5, homes, weights=[float(rng.randint(5, 30)) for _ in range(20)])
    plain = solve(problem, SolveParams(tolerance=0.2, time_limit=20, threads=1))
    lo, hi = problem.load_bounds(0.2)
    bare = AssignmentModel(problem, lo=lo, hi=hi).lp.numConstraints()
    monkeypatch.setattr(AssignmentModel, "neighbour_rows", True)
    rows = AssignmentModel(problem, lo=lo, hi=hi)
    assert rows.lp.numConstraints() == bare + 20 * 4  # every ward is lighter than lo here
    assert rows.lp.get_constraint_by_name("nb_0_0") is not None
    with_rows = solve(
        problem, SolveParams(tolerance=0.2, time_limit=20, threads=1, method="cut_loop")
    )
    assert plain.status is with_rows.status is Status.OPTIMAL
    assert with_rows.objective == pytest.approx(plain.objective, rel=1e-6)


def test_a_branch_and_cut_model_never_optimised_has_no_bound_and_does_not_crash() -> None:
    """The build done but no time left to optimise: asking SCIP for its dual bound before the
    transformed stage killed the process (a segmentation fault)."""
    model, _x, _handler = branch_and_cut.build(_context(_grid(), Clock.starting_now(10.0)))
    assert branch_and_cut._bound(model) is None
