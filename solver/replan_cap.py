"""At most N wards move: the re-plan's cap (``--max-moves``), a constraint of the model.

The re-plan (:func:`solver.replan.replan`) first solves without the cap. When its plan already
moves at most N wards it is also the capped optimum (a constraint its optimum satisfies changes
nothing; the uncapped bound stays valid). Otherwise the cap binds, and this module solves the
re-plan's assignment model (:class:`solver.model.AssignmentModel`, on the stability and pin costs)
with one more row,

    Σ_{i with a current CO b(i)} (1 − x[i][b(i)]) ≤ N.

When every connected area that fits the balance can be listed, the capped model is solved over
those areas, exactly (:mod:`solver.replan_areas`). Otherwise it is solved by the cut loop: solve,
cut off the areas that came out in pieces, solve again, until a connected plan is proved within
the gap or the time is up. Wards without a current CO (theirs left, or new in the layer) move
freely and are not counted. Every round's bound is a lower bound on the capped optimum (the rows
without contiguity relax it), and so is the uncapped bound.

When the capped model has no solution, no plan moves at most N wards (proved). The same model
then minimises the wards moved, in the time left (at least :data:`FEWEST_SECONDS`), to say which
cap would work: the smallest (proved), or the range between the bound and the best plan found.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulp

from solver import heuristic, replan_areas, verify
from solver.areas import Areas
from solver.backends import Backend
from solver.methods.context import all_connected, proved
from solver.model import AssignmentModel
from solver.problem import Problem, Solution, Status

#: A round of the loop gets at most this share of the time left (the last one gets it all).
ROUND_SHARE = 0.25
#: The search for the smallest cap that works gets the time left, and at least this many seconds.
FEWEST_SECONDS = 5.0


def moves_of(base: Sequence[int | None], plan: Sequence[int]) -> int:
    """Wards that leave their (still present) current CO."""
    return sum(1 for b, a in zip(base, plan, strict=True) if b is not None and b != a)


def check_cap(max_moves: int | None) -> None:
    if max_moves is not None and max_moves < 0:
        raise ValueError(f"max moves {max_moves!r} must be a whole number of wards ≥ 0")


@dataclass
class _Loop:
    """The cut loop over one model: the best plan that ``accept`` takes, and the best bound."""

    model: AssignmentModel
    value: Callable[[Sequence[int]], float]
    accept: Callable[[Sequence[int]], bool]
    backend: Backend
    gap: float
    deadline: float
    best: list[int] | None = None
    best_value: float = math.inf
    integral: bool = False  # the objective is a whole number: a bound proves its ceiling
    bound: float = -math.inf
    infeasible: bool = False
    rounds: int = 0
    pending: list[list[int]] = field(default_factory=list)

    def offer(self, plan: Sequence[int] | None) -> None:
        if plan is not None and self.accept(plan):
            v = self.value(plan)
            if v < self.best_value - 1e-9:
                self.best, self.best_value = list(plan), v

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self) -> None:
        nb, k = self.model.nb, self.model.problem.n_organisers
        final = False
        while self.left() > 0.05:
            if self._proved():
                return
            self.rounds += 1
            self.pending = []
            warm = None if self.best is None else self.model.start_values(self.best)
            limit = self.left() if final else max(1.0, self.left() * ROUND_SHARE)
            res = self.backend.solve(
                self.model.lp,
                time_limit=min(limit, self.left()),
                gap=self.gap,
                warm_start=warm,
                on_solution=None if final else self._on_solution,
            )
            if res.bound is not None:
                self.bound = max(self.bound, res.bound)
            if self.pending:  # stopped at a plan in pieces: cut it off, try again
                self._cut(self.pending[-1])
                continue
            if res.status is Status.INFEASIBLE:
                self.infeasible = self.best is None
                return
            if res.status is Status.NO_SOLUTION:
                if final:
                    return
                final = True
                continue
            a = self.model.assignment_from(res.values)
            if all_connected(a, nb, k):
                self.offer(a)
                if final or res.status is Status.OPTIMAL:
                    return
                final = True
            else:
                self._cut(a)

    def _proved(self) -> bool:
        if self.best is None:
            return False
        if self.integral:
            return self.bound > -math.inf and math.ceil(self.bound - 1e-6) >= self.best_value - 1e-9
        return proved(self.best_value, self.bound, self.gap)

    def _on_solution(self, values: Mapping[str, float]) -> bool:
        a = self.model.assignment_from(values)
        if all_connected(a, self.model.nb, self.model.problem.n_organisers):
            self.offer(a)
            return False
        self.pending.append(a)
        return True

    def _cut(self, a: list[int]) -> None:
        self.model.add_separator_cuts(a)
        self.offer(heuristic.repair(self.model.problem, self.model.nb, a))


def _moves_expr(
    model: AssignmentModel, base: Sequence[int | None], per_ward: Sequence[float] | None = None
) -> pulp.LpAffineExpression:
    """Σ over wards with a current CO of their x towards other COs, times ``per_ward`` when
    given (no constant term: the solver's bound is then the wards moved)."""
    if per_ward is None:
        return pulp.lpSum(
            v
            for i, b in enumerate(base)
            if b is not None
            for j, v in enumerate(model.x[i])
            if j != b
        )
    return pulp.LpAffineExpression(
        (v, per_ward[i])
        for i, b in enumerate(base)
        if b is not None and per_ward[i]
        for j, v in enumerate(model.x[i])
        if j != b
    )


def _loop(
    costed: Problem,
    problem: Problem,
    base: Sequence[int | None],
    tolerance: float,
    respect_zones: bool,
    backend: Backend,
    gap: float,
    deadline: float,
    cap: int | None,
    rows: Sequence[replan_areas.MoveRow] = (),
) -> _Loop:
    """The cut loop's model: the re-plan's (costs of ``costed``) with the cap's row and
    ``rows``, or, without either, minimising the wards moved."""
    lo, hi = problem.load_bounds(tolerance)
    model = AssignmentModel(costed, lo=lo, hi=hi, respect_zones=respect_zones)
    limits = [*([] if cap is None else [replan_areas.ward_cap(problem.n_units, cap)]), *rows]

    def valid(plan: Sequence[int]) -> bool:
        ok = not verify.check_plan(problem, plan, tolerance, respect_zones=respect_zones)
        return ok and all(r.holds(base, plan) for r in limits)

    if not limits:
        model.lp.setObjective(_moves_expr(model, base))
        count = _Loop(model, lambda p: float(moves_of(base, p)), valid, backend, gap, deadline)
        count.integral = True
        return count
    for r in limits:
        slack = 1e-9 * max(1.0, abs(r.limit))
        model.lp += _moves_expr(model, base, r.per_ward) <= r.limit + slack, r.name
    return _Loop(model, lambda p: verify.objective(costed, p), valid, backend, gap, deadline)


@dataclass(frozen=True)
class _Found:
    """What one method found under the cap: the best plan and its value (``None``: none), the
    best bound, whether the cap was proved impossible, and the fewest moves when it was."""

    plan: list[int] | None
    value: float | None
    bound: float | None
    infeasible: bool
    fewest: str = ""
    rounds: int = 0
    cuts: int = 0


@dataclass(frozen=True)
class _Task:
    costed: Problem
    problem: Problem
    base: Sequence[int | None]
    tolerance: float
    respect_zones: bool
    backend: Backend
    gap: float
    deadline: float
    #: The uncapped re-plan's plan: valid, it bounds the smallest cap that works from above.
    start: Sequence[int] | None = None

    def left(self) -> float:
        return max(0.05, self.deadline - time.monotonic())

    def valid(self, plan: Sequence[int], cap: int) -> bool:
        broken = verify.check_plan(
            self.problem, plan, self.tolerance, respect_zones=self.respect_zones
        )
        return not broken and moves_of(self.base, plan) <= cap


def capped(
    costed: Problem,
    problem: Problem,
    base: Sequence[int | None],
    max_moves: int,
    uncapped: Solution,
    backend: Backend,
    *,
    gap: float,
    respect_zones: bool,
    deadline: float,
) -> Solution:
    """The re-plan with at most ``max_moves`` wards moved, after the uncapped re-plan
    ``uncapped`` (a plan at a fixed tolerance) moved more; objective and bound in ``costed``'s
    units, like the uncapped one's. Over listed areas when they can be listed, else by the cut
    loop."""
    assert uncapped.tolerance is not None
    t0 = time.monotonic()
    task = _Task(costed, problem, base, uncapped.tolerance, respect_zones, backend, gap, deadline)
    areas = replan_areas.list_areas(costed, task.tolerance, respect_zones, deadline)
    found = _by_cuts(task, max_moves) if areas is None else _by_areas(task, areas, max_moves)
    floors = [b for b in (found.bound, uncapped.bound) if b is not None]
    bound = max(floors) if floors else None
    if found.plan is not None and found.value is not None:
        value = found.value
        bound = None if bound is None else min(bound, value)
        status = Status.OPTIMAL if proved(value, bound, gap) else Status.FEASIBLE
        why = ""
    elif found.infeasible:
        status, value = Status.INFEASIBLE, None
        fewest = found.fewest
        if uncapped.assignment is not None and "exists" not in fewest and "(proved)" not in fewest:
            most = moves_of(
                base, uncapped.assignment
            )  # the re-plan without the cap moves this many
            fewest = f"{fewest}; the re-plan without the cap moves {most}, one moving {most} exists"
        why = (
            f"no plan moves at most {_wards(max_moves)} from their current CO (proved): the "
            f"roster change needs more moves; {fewest}"
        )
    else:
        status, value = Status.NO_SOLUTION, None
        why = (
            f"no plan moving at most {_wards(max_moves)} was found in time (not proved "
            "impossible): allow more time or more moves"
        )
    return Solution(
        status,
        None if found.plan is None else tuple(found.plan),
        value,
        bound,
        task.tolerance,
        uncapped.solver,
        uncapped.solver_version,
        uncapped.seconds + time.monotonic() - t0,
        why,
        iterations=found.rounds,
        cuts=found.cuts,
    )


def _by_areas(task: _Task, areas: Areas, cap: int) -> _Found:
    ans = replan_areas.solve_areas(
        areas, task.base, cap, task.backend, time_limit=task.left(), gap=task.gap
    )
    if ans.plan is not None:
        if not task.valid(ans.plan, cap):
            raise AssertionError("the capped area model's plan breaks a rule; this is a bug")
        return _Found(ans.plan, ans.value, ans.bound, False, rounds=1)
    if ans.status is not Status.INFEASIBLE:
        return _Found(None, None, ans.bound, False, rounds=1)
    fewest = replan_areas.solve_areas(
        areas, task.base, None, task.backend, time_limit=max(FEWEST_SECONDS, task.left()), gap=1e-9
    )
    low = 0 if fewest.bound is None else max(0, math.ceil(fewest.bound - 1e-6))
    most = None if fewest.value is None else round(fewest.value)
    if most is None and task.start is not None:
        most = moves_of(task.base, task.start)
    return _Found(None, None, ans.bound, True, _fewest_text(low, most), rounds=2)


def _by_cuts(task: _Task, cap: int) -> _Found:
    t = task
    loop = _loop(
        t.costed, t.problem, t.base, t.tolerance, t.respect_zones, t.backend, t.gap, t.deadline, cap
    )
    loop.run()
    bound = None if loop.bound == -math.inf else loop.bound
    value = None if loop.best is None else loop.best_value
    fewest = _fewest(task) if loop.infeasible else ""
    return _Found(loop.best, value, bound, loop.infeasible, fewest, loop.rounds, loop.model.cuts)


def _fewest(task: _Task) -> str:
    """What the smallest cap is, as far as the time left proves it (the cut loop)."""
    t = task
    deadline = max(t.deadline, time.monotonic() + FEWEST_SECONDS)
    loop = _loop(
        t.costed, t.problem, t.base, t.tolerance, t.respect_zones, t.backend, 1e-9, deadline, None
    )
    loop.offer(t.start)  # a valid plan to start from: its moves bound the answer
    loop.run()
    low = max(0, math.ceil(loop.bound - 1e-6)) if loop.bound > -math.inf else 0
    return _fewest_text(low, None if loop.best is None else round(loop.best_value))


def _fewest_text(low: int, most: int | None) -> str:
    if most is None:
        return f"a plan needs at least {_wards(low)} moved" if low else "allow more moves"
    if low >= most:
        return f"the smallest cap that allows a plan is {most} (proved)"
    return f"a plan needs at least {_wards(low)} moved, and one moving {most} exists"


def _wards(n: int) -> str:
    return f"{n} ward" if n == 1 else f"{n} wards"
