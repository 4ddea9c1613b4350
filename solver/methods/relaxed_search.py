"""For layers too large for the assignment model (sub-ward layers: thousands of units times
hundreds of organisers): the bound of the LP without contiguity (:mod:`solver.relaxed`), a plan
rounded from it and the cheap plans, then re-optimised neighbourhoods until the time is up.

The bound ignores contiguity, so the gap is an upper limit on the true one."""

from __future__ import annotations

import time

from solver import lns, relaxed, verify
from solver.methods.context import Context, Incumbent, Outcome, proved
from solver.methods.starts import cheap_plans
from solver.problem import Problem, Status

#: Above this many unit–organiser pairs the assignment model is not built and this method runs
#: instead: building the model in PuLP alone takes minutes and gigabytes at a million pairs, and
#: on ward layers the cut loop is the better method (measurements in benchmarks/NOTES.md).
LARGE_PAIRS = 20_000
#: Areas re-optimised together by the neighbourhood search at first (it widens when it stalls);
#: pairs improve fastest with about 20 units per area (benchmarks/NOTES.md).
LARGE_NEIGHBOURHOOD = 2
#: Share of the time for the contiguity-relaxed LP.
RELAXED_LP_SHARE = 0.3


def too_large(problem: Problem) -> bool:
    """Whether the problem has too many unit–organiser pairs for the assignment model."""
    return problem.n_units * problem.n_organisers > LARGE_PAIRS


def solve(ctx: Context, *, start: list[int] | None = None, first_plan: bool = False) -> Outcome:
    """The relaxed search at the context's tolerance; with ``first_plan`` it stops at the first
    plan (a feasibility probe of the balance search)."""
    phase = "probe" if first_plan else "distance"
    best = Incumbent(ctx)
    bound = _relaxed_bound(ctx, best, phase)
    if best.plan is None or not first_plan:
        for plan in cheap_plans(ctx, start):
            best.offer(plan)
        ctx.report(phase, best.known, bound, "heuristic plan")
    if best.plan is not None and not first_plan and not proved(best.value, bound, ctx.params.gap):
        _neighbourhood_search(ctx, best, bound, phase)
    if best.plan is None:
        why = "time ran out before any contiguous plan was found"
        return Outcome.without_plan(Status.NO_SOLUTION, why, bound=bound, iterations=1)
    note = (
        f"{ctx.problem.n_units:,} units × {ctx.problem.n_organisers:,} organisers: too many pairs "
        "for the full model; the bound is the LP without contiguity, so the true gap is at most "
        "the one shown"
    )
    return Outcome.of_plan(best.plan, best.value, bound, ctx.params.gap, warnings=(note,))


def _relaxed_bound(ctx: Context, best: Incumbent, phase: str) -> float | None:
    """The LP without contiguity: its bound (``None`` if time ran out), and its rounded plan
    offered to ``best``."""
    lo, hi = ctx.load_bounds
    deadline = time.monotonic() + ctx.clock.remaining() * RELAXED_LP_SHARE
    lp = relaxed.solve_lp(ctx.problem, lo, hi, deadline=deadline, highs=ctx.backend.highs_model)
    if lp is None:
        return None
    ctx.report(
        phase, best.known, lp.bound, f"LP without contiguity ({lp.columns:,} pairs priced in)"
    )
    plan = relaxed.round_plan(
        ctx.problem,
        lp.shares,
        lo,
        hi,
        respect_zones=ctx.respect_zones,
        seed=ctx.seed,
        deadline=time.monotonic() + max(0.5, ctx.clock.remaining() / 10),
    )
    best.offer(plan, polish=False)
    ctx.report(phase, best.known, lp.bound, "plan rounded from the LP")
    return lp.bound


def _neighbourhood_search(ctx: Context, best: Incumbent, bound: float | None, phase: str) -> None:
    """Re-optimise neighbouring areas of the best plan until the time is up (progress at most
    once a second)."""
    assert best.plan is not None
    lo, hi = ctx.load_bounds
    last = [time.monotonic()]

    def improved(plan: list[int]) -> None:
        if time.monotonic() - last[0] > 1.0:
            last[0] = time.monotonic()
            ctx.report(phase, verify.objective(ctx.problem, plan), bound, "neighbourhood search")

    plan = lns.improve(
        ctx.problem,
        best.plan,
        lo,
        hi,
        ctx.backend,
        deadline=ctx.clock.deadline - 0.05,
        respect_zones=ctx.respect_zones,
        seed=ctx.seed,
        neighbourhood=LARGE_NEIGHBOURHOOD,
        on_improve=improved,
    )
    best.offer(plan, polish=False)
    ctx.report(phase, best.known, bound, "neighbourhood search")
