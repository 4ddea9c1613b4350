"""The re-plan's two steps, stability strictly first (:func:`solver.replan.replan`).

1. **Fewest households moved.** The re-plan's model (every constraint of a plan, the pins, the
   cap ``max_moves`` when given) with one cost: the poor households of each ward that leaves its
   current organiser. Solved by :func:`solver.solve.solve` (the cap as in
   :mod:`solver.replan_cap`); its best plan moves ``H`` households.
2. **Nearest to home, moves fixed.** The same model with the distance as cost and one more row,
   households moved ≤ ``H`` (step 1's best plan, which keeps it, is the start), solved over the
   listed areas (:mod:`solver.replan_areas`) or by the cut loop (:mod:`solver.replan_cap`).

No weight trades a moved household against kilometres: a plan moving fewer households always
wins. What each step proved is reported apart (:class:`Step`): when step 1 is stopped by the time
limit its bound says how many households *might* still be saved — the moves are then not proved
minimal — and step 2's bound is a lower bound on the distance of every plan moving at most ``H``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from solver import replan_areas, replan_cap, verify
from solver.backends import Backend
from solver.methods.context import proved
from solver.problem import Problem, Solution, Status, relative_gap

#: Step 1 (households moved) gets this share of the time limit; step 2 the rest, and whatever
#: step 1 did not use.
MOVES_SHARE = 0.5

MOVES_GOAL = "poor households moved"
NEAR_GOAL = "poor households × km from home, households moved fixed"


@dataclass(frozen=True)
class Step:
    """What one step proved: its best value and bound (units of ``goal``), in how long."""

    goal: str
    status: Status
    value: float | None
    bound: float | None
    seconds: float
    method: str = ""

    @property
    def gap(self) -> float | None:
        return relative_gap(self.value, self.bound)

    @classmethod
    def of(cls, goal: str, sol: Solution, value: float | None = None) -> Step:
        best = sol.objective if value is None else value
        return cls(goal, sol.status, best, sol.bound, sol.seconds, sol.method)

    def describe(self) -> str:
        num = f"{self.value:,.1f}" if self.value is not None else "unknown"
        bnd = f"{self.bound:,.1f}" if self.bound is not None else "unknown"
        if self.status is Status.OPTIMAL:
            gap = self.gap or 0.0
            within = f" within {gap * 100:.2f} %" if gap >= 5e-5 else ""
            return f"{self.goal}: optimal{within} ({num}, bound {bnd})"
        if self.status is Status.FEASIBLE:
            open_gap = self.gap
            gap_txt = "unknown" if open_gap is None else f"{open_gap * 100:.2f} %"
            return f"{self.goal}: feasible, gap {gap_txt} ({num}, bound {bnd})"
        return f"{self.goal}: {self.status.value}"

    def as_dict(self) -> dict[str, object]:
        return {
            "goal": self.goal,
            "status": self.status.value,
            "value": self.value,
            "bound": self.bound,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "method": self.method,
            "summary": self.describe(),
        }


def moves_problem(problem: Problem) -> Problem:
    """``problem`` with every distance 0: with :func:`solver.replan.stable_problem` at 1 km per
    household moved, its objective is the poor households moved (plus the pins' costs)."""
    zero = tuple((0.0,) * problem.n_organisers for _ in range(problem.n_units))
    return Problem(
        problem.unit_ids,
        problem.weights,
        problem.edges,
        problem.organiser_ids,
        zero,
        problem.zones,
    )


def households_row(problem: Problem, households: float) -> replan_areas.MoveRow:
    """Households moved ≤ ``households`` (step 1's value, fixed for step 2)."""
    return replan_areas.MoveRow(problem.weights, households, "households_moved")


def nearest_within(
    costed: Problem,
    problem: Problem,
    base: Sequence[int | None],
    rows: Sequence[replan_areas.MoveRow],
    start: Solution,
    backend: Backend,
    *,
    gap: float,
    respect_zones: bool,
    deadline: float,
) -> Solution:
    """Step 2: the least ``costed`` objective of a valid plan keeping ``rows``, from ``start``
    (step 1's answer, a plan at a fixed tolerance that keeps them); never worse than it."""
    assert start.assignment is not None
    assert start.tolerance is not None
    t0 = time.monotonic()
    tol = start.tolerance
    first = list(start.assignment)
    if not all(r.holds(base, first) for r in rows):
        raise AssertionError("step 1's plan breaks a row fixed from it; this is a bug")
    areas = replan_areas.list_areas(costed, tol, respect_zones, deadline)
    if areas is not None:
        left = max(0.05, deadline - time.monotonic())
        ans = replan_areas.solve_areas(
            areas, base, None, backend, time_limit=left, gap=gap, rows=rows
        )
        plan, bound, method = ans.plan, ans.bound, "set_partitioning"
        rounds, cuts = 1, 0
    else:
        loop = replan_cap._loop(
            costed, problem, base, tol, respect_zones, backend, gap, deadline, None, rows
        )
        loop.offer(first)
        loop.run()
        plan, bound, method = loop.best, None if loop.bound == -math.inf else loop.bound, "cut_loop"
        rounds, cuts = loop.rounds, loop.model.cuts
    value = verify.objective(costed, first)
    if plan is not None and verify.objective(costed, plan) < value:
        if verify.check_plan(problem, plan, tol, respect_zones=respect_zones):
            raise AssertionError("step 2's plan breaks a rule; this is a bug")
        first, value = list(plan), verify.objective(costed, plan)
    bound = None if bound is None else min(bound, value)
    status = Status.OPTIMAL if proved(value, bound, gap) else Status.FEASIBLE
    return Solution(
        status,
        tuple(first),
        value,
        bound,
        tol,
        start.solver,
        start.solver_version,
        time.monotonic() - t0,
        iterations=rounds,
        cuts=cuts,
        method=method,
    )
