"""The cut loop: solve the assignment model (:mod:`solver.model`), cut off the areas that came out
in pieces, solve again, until a contiguous plan is proved within the gap or the time is up.

Contiguous heuristic plans (:mod:`solver.methods.starts`, :mod:`solver.lns`) are the MIP starts,
and every disconnected MIP solution is repaired into a contiguous candidate, so a plan exists early
and improves as the bound rises. The cheap plans come before the model is built, and the build
checks the clock: when the time runs out there, the answer is the best cheap plan (feasible, gap
unknown) or none, and says so."""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from solver import heuristic, lns
from solver.backends import MipResult
from solver.deadline import BuildStopped
from solver.methods.context import (
    Context,
    Incumbent,
    Outcome,
    all_connected,
    build_stopped,
    proved,
)
from solver.methods.starts import PROBE_GAP, ROUND_GAP, cheap_plans, star_plan
from solver.model import AssignmentModel
from solver.params import SolveParams
from solver.problem import Problem, Status

#: A round of the cut loop gets at most this share of the time limit, and stops at ROUND_GAP: early
#: rounds are for finding the areas in pieces; the final round proves the gap.
ROUND_SHARE = 0.25

#: Below this many units per organiser the contiguity rows, not the balance, decide the plan: the
#: cut loop's bound hardly moves while the neighbourhood search keeps improving the plan, so the
#: search gets the larger share (measurements in benchmarks/NOTES.md).
FEW_UNITS_PER_ORGANISER = 8.0


def primal_shares(problem: Problem, params: SolveParams) -> tuple[float, float]:
    """(star share, neighbourhood-search share) for this problem: the params' values when set."""
    few = problem.n_units < FEW_UNITS_PER_ORGANISER * problem.n_organisers
    star = params.star_share if params.star_share is not None else (0.1 if few else 0.3)
    lns_ = params.lns_share if params.lns_share is not None else (0.5 if few else 0.2)
    return star, lns_


def solve(ctx: Context, *, start: list[int] | None = None, first_plan: bool = False) -> Outcome:
    """Minimise distance at the context's tolerance: solve, cut off areas in pieces, solve again.

    With ``first_plan`` it stops at the first contiguous plan (a feasibility probe)."""
    return _CutLoop(ctx, first_plan).run(start)


class _Step(enum.Enum):
    """What a round of the loop leads to."""

    CUT = "cut"  # go on: cuts were added, or the final round comes next
    MODEL_INFEASIBLE = "model infeasible"  # the model (with its cuts) has no solution
    STOP = "stop"  # proved, or the final round is over


@dataclass
class _Round:
    """One solve of the model: its label, the connected solutions HiGHS offered on the way and
    the ones with an area in pieces (PuLP's solvers offer no lazy constraints, so the round stops
    at the first of those and it is cut off at once)."""

    label: str
    floor: float  # the best bound before this round
    known: float  # the best plan's value before this round (inf: none)
    connected: list[list[int]] = field(default_factory=list)
    in_pieces: list[list[int]] = field(default_factory=list)


class _CutLoop:
    #: Built by :meth:`run` after the cheap plans, checking the clock.
    model: AssignmentModel

    def __init__(self, ctx: Context, first_plan: bool) -> None:
        self.ctx, self.first_plan = ctx, first_plan
        self.phase = "probe" if first_plan else "distance"
        self.best = Incumbent(ctx)
        self.best_bound = -math.inf
        self.iterations = 0
        self.final = False  # the last round: nothing new to cut; it gets all the time, the true gap

    def report(self, message: str) -> None:
        bound = self.best_bound if self.best_bound > -math.inf else None
        self.ctx.report(self.phase, self.best.known, bound, message)

    def run(self, start: list[int] | None) -> Outcome:
        for plan in cheap_plans(self.ctx, start):
            self.best.offer(plan)
        self.ctx.report(self.phase, self.best.known, None, "heuristic plan")
        lo, hi = self.ctx.load_bounds
        try:
            self.model = AssignmentModel(
                self.ctx.problem,
                lo=lo,
                hi=hi,
                respect_zones=self.ctx.respect_zones,
                clock=self.ctx.clock,
            )
        except BuildStopped as stop:
            return build_stopped(self.ctx, self.best, stop)
        self._primal()
        infeasible = False
        while self.ctx.clock.remaining() > 0.05 and not self._done():
            self.iterations += 1
            step = self._round()
            if step is _Step.MODEL_INFEASIBLE:
                infeasible = self.best.plan is None
                break  # (with an incumbent this cannot happen: it satisfies every row)
            if step is _Step.STOP:
                break
        return self._outcome(infeasible)

    def _done(self) -> bool:
        gap = self.ctx.params.gap
        return self.best.plan is not None and (
            self.first_plan or proved(self.best.value, self.best_bound, gap)
        )

    def _primal(self) -> None:
        """After the cheap plans: the star-shaped model's plan, the neighbourhood search."""
        ctx, offer = self.ctx, self.best.offer
        star_share, lns_share = primal_shares(ctx.problem, ctx.params)
        if star_share > 0:
            offer(star_plan(ctx, first_plan=self.first_plan, share=star_share))
            self.ctx.report(self.phase, self.best.known, None, "star-shaped plan")
        if self.best.plan is not None and not self.first_plan and lns_share > 0:
            lo, hi = ctx.load_bounds
            offer(
                lns.improve(
                    ctx.problem,
                    self.best.plan,
                    lo,
                    hi,
                    ctx.backend,
                    deadline=time.monotonic() + ctx.clock.remaining() * lns_share,
                    respect_zones=ctx.respect_zones,
                    seed=ctx.seed,
                )
            )
            self.ctx.report(self.phase, self.best.known, None, "neighbourhood search")

    def _limits(self) -> tuple[float, float]:
        """(time limit, relative gap) of the next round."""
        clock, gap = self.ctx.clock, self.ctx.params.gap
        if self.final or self.first_plan:
            return clock.remaining(), (PROBE_GAP if self.first_plan else gap)
        return min(clock.remaining(), max(1.0, clock.limit * ROUND_SHARE)), max(gap, ROUND_GAP)

    def _round(self) -> _Step:
        """Solve once and learn from it."""
        round_limit, round_gap = self._limits()
        rnd = _Round(f"round {self.iterations}", self.best_bound, self.best.value)
        warm = self.model.start_values(self.best.plan) if self.best.plan is not None else None
        restart = self.ctx.params.restart_on_pieces and not self.final
        res: MipResult = self.ctx.backend.solve(
            self.model.lp,
            time_limit=round_limit,
            gap=round_gap,
            warm_start=warm,
            on_progress=lambda _inc, bnd: self._progress(rnd, bnd),
            on_solution=(lambda values: self._on_solution(rnd, values)) if restart else None,
        )
        for a in rnd.connected:
            self.best.offer(a)
        if res.bound is not None:
            self.best_bound = max(self.best_bound, res.bound)
        if rnd.in_pieces:
            added = sum(self.model.add_separator_cuts(a) for a in rnd.in_pieces)
            self._repair(rnd.in_pieces[-1], f"{rnd.label}: {added} contiguity cuts (restart)")
            return _Step.CUT
        if res.status is Status.INFEASIBLE:
            return _Step.MODEL_INFEASIBLE
        return self._learn(res, round_gap, rnd.label)

    def _learn(self, res: MipResult, round_gap: float, label: str) -> _Step:
        """After a round that ran to its end: keep its plan, or cut off its areas in pieces."""
        if res.status is Status.NO_SOLUTION:
            if self.final:
                return _Step.STOP
            self.final = True  # nothing to learn from this round: once more with all the time
            return _Step.CUT
        a = self.model.assignment_from(res.values)
        if all_connected(a, self.ctx.nb, self.ctx.problem.n_organisers):
            self.best.offer(a)
            if self.final or (res.status is Status.OPTIMAL and round_gap <= self.ctx.params.gap):
                return _Step.STOP  # proved, or time ran out with all the time given
            self.final = True  # connected, but not yet proved to the accepted gap
            return _Step.CUT
        added = self.model.add_separator_cuts(a)
        self._repair(a, f"{label}: {added} contiguity cuts")
        return _Step.CUT

    def _repair(self, a: list[int], message: str) -> None:
        self.best.offer(heuristic.repair(self.ctx.problem, self.ctx.nb, a))
        self.report(message)

    def _progress(self, rnd: _Round, bnd: float | None) -> bool:
        # the round's own incumbent may be an area in pieces: only verified plans are shown
        self.ctx.report(
            self.phase,
            rnd.known if math.isfinite(rnd.known) else None,
            None if bnd is None else max(rnd.floor, bnd),
            rnd.label,
        )
        return False

    def _on_solution(self, rnd: _Round, values: Mapping[str, float]) -> bool:
        """Keep connected solutions; stop the round at the first one with an area in pieces."""
        a = self.model.assignment_from(values)
        if all_connected(a, self.ctx.nb, self.ctx.problem.n_organisers):
            rnd.connected.append(a)
            return False
        rnd.in_pieces.append(a)
        return True

    def _outcome(self, infeasible: bool) -> Outcome:
        bound = self.best_bound if self.best_bound > -math.inf else None
        cuts = self.model.cuts
        if self.best.plan is None:
            if infeasible:
                why = "proved by the model" if cuts == 0 else f"proved after {cuts} contiguity cuts"
                return Outcome(Status.INFEASIBLE, None, None, bound, self.iterations, cuts, why)
            why = "time ran out before any contiguous plan was found"
            return Outcome(Status.NO_SOLUTION, None, None, bound, self.iterations, cuts, why)
        return Outcome.of_plan(
            self.best.plan,
            self.best.value,
            bound,
            self.ctx.params.gap,
            iterations=self.iterations,
            cuts=cuts,
        )
