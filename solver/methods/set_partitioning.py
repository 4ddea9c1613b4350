"""Set partitioning as a solve method: list every connected area that fits, then pick one per
organiser exactly (:mod:`solver.partition`); also the balance search's exact feasibility probe."""

from __future__ import annotations

import time

from solver import lns, partition, verify
from solver.areas import Areas
from solver.methods.context import Context, Outcome
from solver.methods.starts import cheap_plans
from solver.problem import Status

#: The listing of areas may take this share of the time limit, and at most LISTING_SECONDS, before
#: the cut loop takes over. How many areas fit depends on the units per organiser *and* on the
#: balance window, so it is simply tried: with about 10 wards per organiser at ±10 % the listing
#: gives up after those seconds, at a tight balance found by *auto* it lists few areas even there.
LISTING_SHARE = 0.1
LISTING_SECONDS = 3.0
#: When set partitioning is asked for by name, the listing may take this share of the time limit
#: (no cap in seconds) before the cut loop takes over.
FORCED_LISTING_SHARE = 0.5

#: Shares of the time left, after the LP and the dive, for the first integer programme and, when
#: it does not prove the optimum, for the neighbourhood search on its plan; the integer programme
#: then gets the rest, warm-started with the improved plan.
PARTITION_FIRST_SHARE = 0.15
PARTITION_LNS_SHARE = 0.6

#: A balance probe lists at most this many areas (its integer programme has one column per area).
PROBE_MAX_AREAS = 20_000


def applies(ctx: Context) -> bool:
    """Whether the method may run: asked for, and HiGHS (the model is built for highspy)."""
    return ctx.params.partition and ctx.backend.name == "highs"


def solve(
    ctx: Context, start: list[int] | None, timings: dict[str, float], *, forced: bool = False
) -> Outcome | None:
    """The exact set-partitioning model when every fitting area can be listed; ``None`` if not
    (too many areas, or no plan before the time ran out), and the cut loop takes over.
    ``forced``: asked for by name, the listing may take :data:`FORCED_LISTING_SHARE` of the time."""
    lo, hi = ctx.load_bounds
    t0 = time.monotonic()
    listing = ctx.clock.limit * FORCED_LISTING_SHARE
    if not forced:
        listing = min(LISTING_SECONDS, ctx.clock.limit * LISTING_SHARE)
    deadline = min(t0 + listing, ctx.clock.deadline)
    areas = partition.enumerate_areas(
        ctx.problem, lo, hi, respect_zones=ctx.respect_zones, deadline=deadline
    )
    timings["listing_s"] = time.monotonic() - t0
    if areas is None:
        return None
    ctx.report("distance", None, None, f"{areas.count:,} connected areas fit")
    best_start = _best_start(ctx, start)
    res = partition.solve_partition(
        ctx.problem,
        areas,
        time_limit=max(0.05, ctx.clock.remaining()),
        gap=ctx.params.gap,
        highs=ctx.backend.highs_model,
        start=best_start,
        on_progress=lambda inc, bnd, msg: ctx.report("distance", inc, bnd, msg),
        improve=lambda plan, deadline: improve_plan(ctx, plan, deadline),
        first_share=PARTITION_FIRST_SHARE,
        improve_share=PARTITION_LNS_SHARE,
    )
    if res.status is Status.INFEASIBLE:
        return Outcome.without_plan(Status.INFEASIBLE, res.detail, iterations=1)
    plan = res.assignment or best_start
    if plan is None:
        return None  # the cut loop takes over for the time left
    if ctx.violations(plan):
        raise AssertionError("the set-partitioning plan breaks a rule; this is a bug")
    return Outcome.of_plan(
        plan,
        verify.objective(ctx.problem, plan),
        res.bound,
        ctx.params.gap,
        warnings=(_listing_note(areas, res),),
    )


def _listing_note(areas: Areas, res: partition.PartitionResult) -> str:
    lp = f", LP bound {res.lp_bound:,.0f})" if res.lp_bound is not None else ")"
    return (
        f"set partitioning over all {areas.count:,} connected areas that fit "
        f"({res.columns:,} columns priced{lp}"
    )


def _best_start(ctx: Context, start: list[int] | None) -> list[int] | None:
    """The best valid plan among the cheap ones (each polished briefly), ``None`` if none is."""
    valid = []
    for a in cheap_plans(ctx, start):
        if a is not None and a is not start:
            a = ctx.polish(a, max(0.2, min(2.0, ctx.clock.remaining() / 20)))
        if a is not None and not ctx.violations(a):
            valid.append(a)
    return min(valid, key=lambda a: verify.objective(ctx.problem, a)) if valid else None


def improve_plan(ctx: Context, plan: list[int], deadline: float) -> list[int]:
    """Re-optimise neighbouring areas; keep the result only if it is valid and better."""
    lo, hi = ctx.load_bounds
    better = lns.improve(
        ctx.problem,
        plan,
        lo,
        hi,
        ctx.backend,
        deadline=deadline,
        respect_zones=ctx.respect_zones,
        seed=ctx.seed,
    )
    if not ctx.violations(better) and verify.objective(ctx.problem, better) < verify.objective(
        ctx.problem, plan
    ):
        return better
    return plan


def probe(ctx: Context) -> tuple[bool, Outcome | None]:
    """Whether any contiguous plan exists at the context's tolerance, decided exactly from the
    list of fitting areas: (whether they could all be listed, the answer or ``None`` if time ran
    out)."""
    lo, hi = ctx.load_bounds
    areas = partition.enumerate_areas(
        ctx.problem,
        lo,
        hi,
        respect_zones=ctx.respect_zones,
        deadline=time.monotonic() + min(LISTING_SECONDS, ctx.clock.remaining() * 0.5),
        max_areas=PROBE_MAX_AREAS,
    )
    if areas is None:
        return False, None
    res = partition.find_partition(
        ctx.problem,
        areas,
        time_limit=max(0.05, ctx.clock.remaining()),
        highs=ctx.backend.highs_model,
    )
    if res.status is Status.INFEASIBLE:
        return True, Outcome.without_plan(Status.INFEASIBLE, res.detail, iterations=1)
    if res.assignment is None:
        return True, None
    return True, Outcome(Status.FEASIBLE, res.assignment, res.objective, None, 1, 0)
