"""What every solve method takes (:class:`Context`) and returns (:class:`Outcome`), and the best
plan found so far (:class:`Incumbent`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from solver import heuristic, verify
from solver.backends import Backend
from solver.deadline import BuildStopped
from solver.graph import components
from solver.params import SolveParams
from solver.problem import Problem, Status, relative_gap

#: report(phase, incumbent, bound, message): progress for the caller's ``on_progress``.
Report = Callable[[str, float | None, float | None, str], None]


@dataclass(frozen=True)
class Clock:
    """A time limit that started at ``start`` (``time.monotonic()``) and lasts ``limit`` seconds."""

    start: float
    limit: float

    @classmethod
    def starting_now(cls, limit: float) -> Clock:
        return cls(time.monotonic(), limit)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        return self.limit - self.elapsed()

    @property
    def deadline(self) -> float:
        return self.start + self.limit


@dataclass(frozen=True)
class Context:
    """One method's inputs: the plan must keep every load within ``tolerance`` of the mean and be
    done by ``clock``; the backend carries the solver options (seed, threads) to every model."""

    problem: Problem
    params: SolveParams
    backend: Backend
    clock: Clock
    tolerance: float
    report: Report

    @cached_property
    def nb(self) -> list[list[int]]:
        """The problem's adjacency lists (computed once per context)."""
        return self.problem.neighbours()

    @property
    def load_bounds(self) -> tuple[float, float]:
        return self.problem.load_bounds(self.tolerance)

    @property
    def respect_zones(self) -> bool:
        return self.params.respect_zones

    @property
    def seed(self) -> int:
        return self.params.seed

    def at(self, tolerance: float, clock: Clock) -> Context:
        """The same context at another tolerance and clock (a probe of the balance search)."""
        return replace(self, tolerance=tolerance, clock=clock)

    def violations(self, plan: Sequence[int]) -> bool:
        """Whether ``plan`` breaks a rule at this tolerance (a verified plan does not)."""
        return bool(
            verify.check_plan(
                self.problem, plan, self.tolerance, respect_zones=self.params.respect_zones
            )
        )

    def polish(self, plan: list[int], seconds: float) -> list[int]:
        """``plan`` after boundary moves that keep areas connected, for at most ``seconds``."""
        lo, hi = self.load_bounds
        return heuristic.improve(
            self.problem,
            self.nb,
            plan,
            lo,
            hi,
            respect_zones=self.respect_zones,
            seed=self.seed,
            deadline=time.monotonic() + seconds,
        )


@dataclass(frozen=True)
class Outcome:
    """What a method found and proved (``bound``: a lower bound on every plan's distance)."""

    status: Status
    assignment: list[int] | None
    objective: float | None
    bound: float | None
    iterations: int
    cuts: int
    explanation: str = ""
    warnings: tuple[str, ...] = ()
    #: The solver that made the plan and its version, when not the backend's (branch-and-cut: SCIP).
    solver: str = ""
    solver_version: str = ""

    @classmethod
    def without_plan(
        cls, status: Status, explanation: str, *, bound: float | None = None, iterations: int = 0
    ) -> Outcome:
        return cls(status, None, None, bound, iterations, 0, explanation)

    @classmethod
    def of_plan(
        cls,
        plan: list[int],
        value: float,
        bound: float | None,
        gap: float,
        *,
        iterations: int = 1,
        cuts: int = 0,
        explanation: str = "",
        warnings: tuple[str, ...] = (),
        solver: str = "",
        solver_version: str = "",
    ) -> Outcome:
        """A plan of distance ``value``: optimal when ``bound`` proves it within ``gap``."""
        if bound is not None:
            bound = min(bound, value)
        status = Status.OPTIMAL if proved(value, bound, gap) else Status.FEASIBLE
        return cls(
            status,
            plan,
            value,
            bound,
            iterations,
            cuts,
            explanation,
            warnings,
            solver,
            solver_version,
        )


class Incumbent:
    """The best valid plan offered so far. Candidates are polished with boundary moves first (for
    at most a tenth of the time left, 0.2–5 s); the polished and the raw one are both checked."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.plan: list[int] | None = None
        self.value = math.inf

    @property
    def known(self) -> float | None:
        """The best plan's value, ``None`` before there is one."""
        return None if self.plan is None else self.value

    def offer(self, a: list[int] | None, *, polish: bool = True) -> None:
        if a is None:
            return
        candidates = [a]
        if polish:
            candidates.insert(
                0, self.ctx.polish(a, max(0.2, min(5.0, self.ctx.clock.remaining() / 10)))
            )
        for cand in candidates:
            if not self.ctx.violations(cand):
                val = verify.objective(self.ctx.problem, cand)
                if val < self.value - 1e-9:
                    self.plan, self.value = list(cand), val


def build_stopped(ctx: Context, best: Incumbent, stop: BuildStopped) -> Outcome:
    """The answer of a method whose model build the time limit overtook: the best plan it had
    before (feasible, gap unknown: nothing was proved), or none; the explanation names the build."""
    ctx.report("distance", best.known, None, str(stop))
    if best.plan is None:
        return Outcome.without_plan(Status.NO_SOLUTION, f"no plan within the time limit: {stop}")
    note = f"{stop}: the plan is the best heuristic one, no bound was proved"
    return Outcome.of_plan(
        best.plan, best.value, None, ctx.params.gap, explanation=note, warnings=(note,)
    )


def all_connected(a: Sequence[int], nb: Sequence[Sequence[int]], k: int) -> bool:
    """Whether every organiser's area in ``a`` is in one piece."""
    members: list[list[int]] = [[] for _ in range(k)]
    for i, j in enumerate(a):
        members[j].append(i)
    return all(len(components(m, nb)) == 1 for m in members)


def proved(value: float, bound: float | None, gap: float) -> bool:
    """Whether ``bound`` proves ``value`` optimal within the relative ``gap``."""
    if bound is None or not math.isfinite(bound):
        return False
    g = relative_gap(value, bound)
    return g is not None and g <= gap
