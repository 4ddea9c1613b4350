"""The *auto* tolerance: the tightest balance any contiguous plan reaches, by bisection.

Each probe asks for any contiguous plan at the middle tolerance: exactly from the list of fitting
areas when it is short (:func:`solver.methods.set_partitioning.probe`), else from spanning-tree
splits, else from the cut loop or the relaxed search stopped at their first plan."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from solver import heuristic, pockets, verify
from solver.methods import cut_loop, relaxed_search, set_partitioning
from solver.methods.context import Clock, Context, Outcome
from solver.methods.starts import tree_plans
from solver.problem import Status

#: The auto search stops when the tightest plan found is this close to what is known impossible.
BALANCE_RESOLUTION = 0.001
#: The widest tolerance the search looks at (the prechecks' "any balance").
WIDEST = 9.0

#: precheck(tolerance) → a reason no plan exists there, found without solving; ``None`` if none.
Precheck = Callable[[float], str | None]


@dataclass(frozen=True)
class BalanceSearch:
    """The tightest plan found, what is proved below it, and how many probes it took."""

    plan: list[int] | None
    proven_floor: float  # no contiguous plan exists at any tolerance below this (0: nothing proved)
    probes: int
    why_floor: str = ""  # what proves the floor, when a pocket of wards does


@dataclass
class _Bracket:
    """The search's state: the tightest plan so far (its deviation ``hi``), the search's lower
    end ``lo`` and the proven ``floor`` (never above ``lo``)."""

    plan: list[int] | None
    hi: float
    lo: float
    floor: float
    too_many_areas: float = math.inf  # the narrowest tolerance whose areas could not all be listed

    def found(self, plan: list[int], tolerance: float, deviation: float) -> None:
        self.plan, self.hi = plan, min(tolerance, deviation)

    def impossible(self, tolerance: float) -> None:
        self.lo = self.floor = max(self.floor, tolerance)


def tightest_balance(ctx: Context, precheck: Precheck) -> BalanceSearch:
    """Bisection on the tolerance (``ctx.tolerance`` is not used): each probe asks for any
    contiguous plan.

    A probe that finds a plan lowers the upper end to that plan's actual deviation; one that proves
    infeasibility raises the proven floor; one that runs out of time raises only the search's lower
    end (so the floor stays honest)."""
    problem = ctx.problem
    m = problem.mean_load
    floor = max(0.0, max(problem.weights) / m - 1) if m > 0 else 0.0
    pocket = pockets.balance_floor(problem)
    if pocket is not None:
        floor = max(floor, pocket.floor)
    pocket_floor = floor
    plan = _first_plan(ctx)
    hi = verify.max_deviation(problem, plan) if plan is not None else 1.0
    state = _Bracket(plan, hi, floor, floor)
    probes = 0
    while ctx.clock.remaining() > 0.2 and state.hi - state.lo > BALANCE_RESOLUTION:
        probes += 1
        _probe(ctx, state, probes, precheck)
    why = ""
    if pocket is not None and state.floor == pocket_floor == pocket.floor:
        why = (
            f"{pocket.describe(problem)}; splitting ward {problem.unit_ids[pocket.gate]} into "
            "sub-ward units would allow a tighter balance"
        )
    return BalanceSearch(state.plan, state.floor, probes, why)


def _first_plan(ctx: Context) -> list[int] | None:
    """A plan grown from the homes towards the mean load, polished: the search's upper end."""
    m = ctx.problem.mean_load
    plan = heuristic.grow(ctx.problem, ctx.nb, m, m, respect_zones=ctx.respect_zones)
    if plan is None:
        return None
    return heuristic.improve(
        ctx.problem,
        ctx.nb,
        plan,
        m,
        m,
        respect_zones=ctx.respect_zones,
        seed=ctx.seed,
        deadline=time.monotonic() + max(0.5, min(5.0, ctx.clock.remaining() / 10)),
    )


def _probe(ctx: Context, state: _Bracket, probes: int, precheck: Precheck) -> None:
    """One probe at the middle of the bracket (at its upper end while there is no plan)."""
    problem = ctx.problem
    mid = (state.lo + state.hi) / 2 if state.plan is not None else state.hi
    span = max(2.0, math.log2((state.hi - state.lo) / BALANCE_RESOLUTION))
    budget = max(0.5, ctx.clock.remaining() / span)
    probe_ctx = ctx.at(mid, Clock.starting_now(min(budget, ctx.clock.remaining())))
    known = state.hi if state.plan is not None else None
    ctx.report("balance", known, state.lo, f"probe ±{mid * 100:.2f} %")
    if precheck(mid) is not None:
        state.impossible(mid)
        return
    res = _exact_probe(probe_ctx, state, mid)
    if res is None:
        quick = (
            []
            if ctx.respect_zones
            else tree_plans(problem, mid, ctx.seed + probes, time.monotonic() + budget / 3)
        )
        if quick:
            plan = min(quick, key=lambda a: verify.max_deviation(problem, a))
            state.found(plan, mid, verify.max_deviation(problem, plan))
            return
        method = relaxed_search.solve if relaxed_search.too_large(problem) else cut_loop.solve
        res = method(probe_ctx, first_plan=True)
    if res.assignment is not None:
        state.found(res.assignment, mid, verify.max_deviation(problem, res.assignment))
    elif res.status is Status.INFEASIBLE:
        state.impossible(mid)
    elif state.plan is None:
        state.hi = min(WIDEST, state.hi * 2)  # nothing found yet anywhere: look wider
    else:
        state.lo = mid


def _exact_probe(ctx: Context, state: _Bracket, mid: float) -> Outcome | None:
    """Set partitioning's answer at ``mid`` when its areas can be listed; ``None`` otherwise."""
    if not set_partitioning.applies(ctx) or mid >= state.too_many_areas:
        return None
    listed, res = set_partitioning.probe(ctx)
    if not listed:
        state.too_many_areas = mid  # a wider window only holds more areas
    return res
