"""The cheap starting plans every method begins from: the given plan, region growing from the
homes, spanning-tree splits, and the best plan of areas shaped as stars around each home."""

from __future__ import annotations

import time

from solver import heuristic, treepart
from solver.deadline import BuildStopped
from solver.methods.context import Context
from solver.model import AssignmentModel
from solver.problem import Problem

#: Spanning-tree splits for a balanced starting plan: at most this many plans, this many seconds,
#: this share of the time left.
TREE_PLANS = 5
TREE_SECONDS = 5.0
TREE_SHARE = 0.1

#: The star-shaped model's relative gap when any plan will do (a probe), and the cut loop's round
#: gap, of which it takes a fifth otherwise.
PROBE_GAP = 0.5
ROUND_GAP = 0.005


def cheap_plans(ctx: Context, start: list[int] | None) -> list[list[int] | None]:
    """The first candidates of either method, unpolished: the given plan, region growing from
    the homes, and spanning-tree splits (not with zones)."""
    lo, hi = ctx.load_bounds
    plans = [start, heuristic.grow(ctx.problem, ctx.nb, lo, hi, respect_zones=ctx.respect_zones)]
    if not ctx.respect_zones:
        budget = min(TREE_SECONDS, ctx.clock.remaining() * TREE_SHARE)
        plans.extend(tree_plans(ctx.problem, ctx.tolerance, ctx.seed, time.monotonic() + budget))
    return plans


def tree_plans(problem: Problem, tolerance: float, seed: int, deadline: float) -> list[list[int]]:
    """Balanced contiguous plans from random spanning-tree splits, until the deadline."""
    plans: list[list[int]] = []
    attempt = 0
    while time.monotonic() < deadline and len(plans) < TREE_PLANS:
        pieces = treepart.tree_partition(problem, tolerance, seed=seed + attempt, deadline=deadline)
        attempt += 1
        if pieces is None:
            break
        plans.append(treepart.match_to_organisers(problem, pieces))
    return plans


def star_plan(ctx: Context, *, first_plan: bool, share: float) -> list[int] | None:
    """The best plan whose areas are 'stars' around each organiser's home unit (connected by
    construction): a strong early incumbent. It proves nothing about the unrestricted optimum."""
    try:
        centres = heuristic.home_units(ctx.problem)
    except ValueError:
        return None
    lo, hi = ctx.load_bounds
    try:
        model = AssignmentModel(
            ctx.problem,
            lo=lo,
            hi=hi,
            respect_zones=ctx.respect_zones,
            centres=centres,
            clock=ctx.clock,
        )
    except BuildStopped:
        return None  # the method's own build or loop stops for the time next
    res = ctx.backend.solve(
        model.lp,
        time_limit=max(0.5, ctx.clock.remaining() * share),
        gap=PROBE_GAP if first_plan else max(ctx.params.gap, ROUND_GAP / 5),
        warm_start=None,
    )
    return model.assignment_from(res.values) if res.values else None
