"""Set partitioning by column generation, without listing every area (issue 18, n/5).

The master LP is the set-partitioning LP of :mod:`solver.partition`: one column per (connected
area with load in the window, organiser), every unit and every organiser covered once. Its columns
are generated, never listed: the starting plans' areas first, then, each round, areas of negative
reduced cost found per organiser by :mod:`solver.methods.pricing` (greedy growth; the exact,
pruned enumeration when the greedy finds none, or every :data:`EXACT_EVERY` rounds).

**The bound.** For any unit duals ``π``, every plan costs at least
``Σ_i π_i + Σ_j min_S Σ_{i∈S} (load_i × km_ij − π_i)`` (the Lagrangian of the unit rows: each
organiser still takes exactly one connected area). Each exact pricing round gives that bound with
the master's duals (an organiser whose enumeration ran out of budget takes the lower bound without
contiguity, :func:`~solver.methods.pricing.knapsack_bound`). When no column prices out, it equals
the LP value. The largest bound seen is kept, and compared with the LP without contiguity
(:func:`solver.relaxed.solve_lp`); the answer carries the larger.

**The plan.** The integer programme over the generated columns (plus the best plan's areas, its
warm start), then the neighbourhood search of the other methods. Only HiGHS (highspy).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from solver import heuristic, relaxed
from solver.backends import highspy_module
from solver.methods import cut_loop, pricing
from solver.methods.context import Context, Incumbent, Outcome
from solver.methods.set_partitioning import improve_plan
from solver.methods.starts import cheap_plans
from solver.problem import Problem, Status
from solver.verify import LOAD_EPS

#: Share of the time left for column generation (the LP and its bound); the integer programme
#: and the neighbourhood search share the rest.
CG_SHARE = 0.55
#: Of the time after column generation: the integer programme's share (the search gets the rest,
#: then the integer programme again with the improved plan).
MIP_SHARE = 0.5
#: An exact pricing round (a bound) at least every this many rounds, and every round after this
#: share of column generation's time (so that a bound is proved even when the greedy pricing
#: still finds columns).
EXACT_EVERY = 1_000_000
EXACT_LATE = 0.7
#: The enumeration's budget per organiser in the rounds between exact ones (partial areas).
HEURISTIC_VISITS = 300
#: The dive's reduced cost of a unit an area fixed already holds (never worth taking).
BLOCKED = 1e18
#: The dive (a plan from the LP: fix the columns at 1 and the largest fractional one, re-price,
#: repeat) gets this share of the time after column generation, and at most this many pricing
#: rounds between two fixings.
DIVE_SHARE = 0.35
DIVE_ROUNDS = 3
#: When the fixings leave units that only an artificial covers, pricing (with the enumeration, at
#: most a second a round) goes on for at most this many rounds before the dive gives up.
DIVE_REPAIR_ROUNDS = 30
#: The dive undoes (and bans) its last batch of fixings at most this many times.
DIVE_BACKTRACKS = 20
#: *auto* runs column generation instead of the cut loop, when set partitioning cannot list every
#: area, at up to this many units per organiser (measured at 5: Lucknow, 22 COs; BENCHMARKS.md).
AUTO_UNITS_PER_ORGANISER = 6.0
#: Columns added per organiser and round, at most.
PER_ORGANISER = 10


def few_units(problem: Problem) -> bool:
    """Whether *auto* prefers column generation to the cut loop (when the areas cannot all be
    listed): at most :data:`AUTO_UNITS_PER_ORGANISER` units per organiser."""
    return problem.n_units <= AUTO_UNITS_PER_ORGANISER * problem.n_organisers


def applies(ctx: Context) -> bool:
    """HiGHS only: the master is built with highspy."""
    return ctx.backend.name == "highs"


@dataclass
class _Master:
    """The restricted master LP: rows are units then organisers (= 1), then one artificial per row
    (cost ``big``), then the generated columns."""

    problem: Problem
    h: Any
    unit_cost: np.ndarray  # (n, k): load × km
    columns: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    known: set[tuple[tuple[int, ...], int]] = field(default_factory=set)

    @classmethod
    def build(cls, ctx: Context) -> _Master:
        p = ctx.problem
        n, k = p.n_units, p.n_organisers
        hs = highspy_module()
        h = ctx.backend.highs_model()
        rows = n + k
        h.addRows(
            rows,
            np.ones(rows),
            np.ones(rows),
            0,
            np.zeros(0, np.int32),
            np.zeros(0, np.int32),
            np.zeros(0),
        )
        unit_cost = relaxed.cost_matrix(p)
        big = _big(unit_cost)
        h.addCols(
            rows,
            np.full(rows, big),
            np.zeros(rows),
            np.full(rows, hs.kHighsInf),
            rows,
            np.arange(rows, dtype=np.int32),
            np.arange(rows, dtype=np.int32),
            np.ones(rows),
        )
        return cls(p, h, unit_cost)

    def cost(self, members: tuple[int, ...], j: int) -> float:
        return float(self.unit_cost[list(members), j].sum())

    def add(self, cols: list[tuple[tuple[int, ...], int]]) -> int:
        n = self.problem.n_units
        starts: list[int] = []
        index: list[int] = []
        costs: list[float] = []
        for members, j in cols:
            if (members, j) in self.known or not members:
                continue
            self.known.add((members, j))
            self.columns.append((members, j))
            starts.append(len(index))
            index.extend(members)
            index.append(n + j)
            costs.append(self.cost(members, j))
        if starts:
            hs = highspy_module()
            m = len(starts)
            self.h.addCols(
                m,
                np.array(costs),
                np.zeros(m),
                np.full(m, hs.kHighsInf),
                len(index),
                np.array(starts, np.int32),
                np.array(index, np.int32),
                np.ones(len(index)),
            )
        return len(starts)

    def solve(self, seconds: float) -> tuple[float, np.ndarray, np.ndarray] | None:
        """(LP value, unit duals, organiser duals), ``None`` if the LP did not finish."""
        hs = highspy_module()
        self.h.setOptionValue("time_limit", max(0.05, seconds))
        self.h.run()
        if self.h.getModelStatus() != hs.HighsModelStatus.kOptimal:
            return None
        duals = np.asarray(self.h.getSolution().row_dual)
        n = self.problem.n_units
        return float(self.h.getInfo().objective_function_value), duals[:n], duals[n:]

    def plan_columns(self, plan: list[int]) -> list[tuple[tuple[int, ...], int]]:
        groups: list[list[int]] = [[] for _ in range(self.problem.n_organisers)]
        for i, j in enumerate(plan):
            groups[j].append(i)
        return [(tuple(g), j) for j, g in enumerate(groups)]


@dataclass
class _State:
    """What column generation has found: the bound, rounds, pricing figures."""

    bound: float = -math.inf
    lp_value: float | None = None
    rounds: int = 0
    exact_rounds: int = 0
    converged: bool = False
    unfinished: int = 0  # organisers whose last exact pricing ran out of budget


def _graph(ctx: Context) -> pricing.Graph:
    lo, hi = ctx.load_bounds
    slack = LOAD_EPS * max(1.0, ctx.problem.mean_load)
    zones = ctx.problem.zones if ctx.respect_zones else None
    return pricing.Graph(ctx.nb, np.asarray(ctx.problem.weights), zones, lo - slack, hi + slack)


def _price_round(
    ctx: Context,
    master: _Master,
    g: pricing.Graph,
    duals: tuple[np.ndarray, np.ndarray],
    *,
    exact: bool,
    deadline: float,
    homes: list[int],
    blocked: np.ndarray | None = None,
) -> tuple[list[tuple[tuple[int, ...], int]], float | None, int]:
    """One pricing round: (new columns of negative reduced cost, the Lagrangian bound when
    ``exact`` (``None`` otherwise), organisers whose enumeration ran out of budget). ``blocked``
    (the dive): units no new area may take, organisers (``blocked[n + j]``) that need none."""
    pi, mu = duals
    n, k = ctx.problem.n_units, ctx.problem.n_organisers
    cols: list[tuple[tuple[int, ...], int]] = []
    total = float(pi.sum())
    unfinished = 0
    scale = 1e-7 * max(1.0, float(np.abs(master.unit_cost).max()))
    for j in range(k):
        if blocked is not None and blocked[n + j]:
            continue
        r = master.unit_cost[:, j] - pi
        if blocked is not None:
            r = np.where(blocked[:n], BLOCKED, r)
        found = pricing.greedy_areas(g, r, pricing.greedy_seeds(r, homes[j]))
        best = min(found, key=lambda a: a.value) if found else None
        share = max(0.05, (deadline - time.monotonic()) / (k - j))
        area, finished = pricing.cheapest_area(
            g,
            r,
            best=best,
            deadline=time.monotonic() + (share if exact else min(share, 0.5)),
            max_visits=pricing.MAX_VISITS if exact else HEURISTIC_VISITS,
        )
        if area is not None and area is not best:
            found.append(area)
        if exact:
            if finished:
                total += math.inf if area is None else area.value
            else:
                unfinished += 1
                total += pricing.knapsack_bound(g, r)
        found.sort(key=lambda a: a.value)
        cols.extend((a.members, j) for a in found[:PER_ORGANISER] if a.value - mu[j] < -scale)
    return cols, (total if exact else None), unfinished


def _generate(ctx: Context, master: _Master, state: _State, until: float) -> None:
    """Column generation until the LP is optimal (proved by exact pricing) or ``until``."""
    g = _graph(ctx)
    homes = heuristic.home_units(ctx.problem)
    since_exact = 0
    late = time.monotonic() + EXACT_LATE * (until - time.monotonic())
    while time.monotonic() < until:
        solved = master.solve(until - time.monotonic())
        if solved is None:
            return
        value, pi, mu = solved
        state.lp_value, state.rounds = value, state.rounds + 1
        if state.rounds % 10 == 0:
            ctx.report(
                "distance", None, None, f"column generation: round {state.rounds}, LP {value:,.0f}"
            )
        exact = since_exact + 1 >= EXACT_EVERY or time.monotonic() > late
        cols, bound, unfinished = _price_round(
            ctx, master, g, (pi, mu), exact=exact, deadline=until, homes=homes
        )
        if not cols and not exact:
            exact = True
            cols, bound, unfinished = _price_round(
                ctx, master, g, (pi, mu), exact=True, deadline=until, homes=homes
            )
        since_exact = 0 if exact else since_exact + 1
        if bound is not None:
            state.exact_rounds += 1
            state.unfinished = unfinished
            state.bound = max(state.bound, bound)
            ctx.report("distance", None, state.bound, f"column generation: LP {value:,.0f}")
        if not cols:
            if exact and unfinished == 0:
                state.converged = True
                state.bound = max(state.bound, value)
            return
        master.add(cols)


class _Fixings:
    """The dive's fixed columns (in batches, the last one undone first), the columns it banned,
    and the units and organisers the fixed ones hold (``blocked``, for pricing)."""

    def __init__(self, master: _Master) -> None:
        self.master = master
        self.n, self.k = master.problem.n_units, master.problem.n_organisers
        self.batches: list[list[int]] = []
        self.banned: list[int] = []
        self.blocked = np.zeros(self.n + self.k, dtype=bool)

    def _bounds(self, cols: list[int], lower: float, upper: float) -> None:
        if cols:
            idx = np.array(cols, dtype=np.int32) + self.n + self.k
            m = len(idx)
            self.master.h.changeColsBounds(m, idx, np.full(m, lower), np.full(m, upper))

    def _block(self) -> None:
        self.blocked[:] = False
        for c in (c for batch in self.batches for c in batch):
            members, j = self.master.columns[c]
            self.blocked[list(members)] = True
            self.blocked[self.n + j] = True

    def fix(self, cols: list[int]) -> None:
        self.batches.append(cols)
        self._bounds(cols, 1.0, 1.0)
        self._block()

    def fixed(self) -> set[int]:
        return {c for batch in self.batches for c in batch}

    def back(self) -> bool:
        """Undo the last batch and ban its columns; ``False`` when there is none."""
        if not self.batches:
            return False
        cols = self.batches.pop()
        self._bounds(cols, 0.0, 0.0)
        self.banned.extend(cols)
        self._block()
        return True

    def undo_all(self) -> None:
        self._bounds([*self.fixed(), *self.banned], 0.0, highspy_module().kHighsInf)


def _dive(ctx: Context, master: _Master, best: Incumbent, until: float) -> None:
    """A plan from the LP: fix the columns at (nearly) 1 and the largest fractional one, price a
    few rounds for the units and organisers left, repeat until the LP is integral (its plan is
    offered to ``best``). When the fixings leave units only an artificial covers, the last batch
    is undone and banned (at most :data:`DIVE_BACKTRACKS` times). Every fixing is undone after."""
    n, k = ctx.problem.n_units, ctx.problem.n_organisers
    g, homes = _graph(ctx), heuristic.home_units(ctx.problem)
    fix = _Fixings(master)
    rounds = backtracks = 0
    try:
        while time.monotonic() < until:
            solved = master.solve(until - time.monotonic())
            if solved is None:
                return
            x = np.asarray(master.h.getSolution().col_value)
            stuck = x[: n + k].max() > 1e-6  # an artificial is needed: price until it is not
            if rounds < (DIVE_REPAIR_ROUNDS if stuck else DIVE_ROUNDS):
                cols, _, _ = _price_round(
                    ctx,
                    master,
                    g,
                    solved[1:],
                    exact=stuck,
                    deadline=min(until, time.monotonic() + 1.0),
                    homes=homes,
                    blocked=fix.blocked,
                )
                if master.add(cols):
                    rounds += 1
                    continue
            rounds = 0
            if stuck:
                backtracks += 1
                if backtracks > DIVE_BACKTRACKS or not fix.back():
                    return
                continue
            x = x[n + k :]
            fixed = fix.fixed()
            free = [int(c) for c in np.nonzero(x > 1e-6)[0] if int(c) not in fixed]
            if all(x[c] > 1 - 1e-6 for c in free):
                best.offer(_plan_of(master, x, n))
                return
            fix.fix([c for c in free if x[c] > 0.99] or [max(free, key=lambda c: x[c])])
    finally:
        fix.undo_all()


def _plan_of(master: _Master, x: np.ndarray, n: int) -> list[int] | None:
    plan = [-1] * n
    for c in np.nonzero(x > 0.5)[0]:
        members, j = master.columns[int(c)]
        for i in members:
            plan[i] = j
    return None if -1 in plan else plan


def _integer_master(
    ctx: Context, master: _Master, best: Incumbent, seconds: float
) -> tuple[list[int] | None, float]:
    """The integer programme over the generated columns, warm-started with the best plan:
    (its plan or ``None``, its proven bound — over these columns only, so not a bound of the
    problem)."""
    hs = highspy_module()
    p = ctx.problem
    n, k = p.n_units, p.n_organisers
    if best.plan is not None:
        master.add(master.plan_columns(best.plan))
    cols = master.columns
    h = ctx.backend.highs_model()
    h.addRows(
        n + k,
        np.ones(n + k),
        np.ones(n + k),
        0,
        np.zeros(0, np.int32),
        np.zeros(0, np.int32),
        np.zeros(0),
    )
    starts: list[int] = []
    index: list[int] = []
    for members, j in cols:
        starts.append(len(index))
        index.extend(members)
        index.append(n + j)
    m = len(cols)
    h.addCols(
        m,
        np.array([master.cost(s, j) for s, j in cols]),
        np.zeros(m),
        np.ones(m),
        len(index),
        np.array(starts, np.int32),
        np.array(index, np.int32),
        np.ones(len(index)),
    )
    h.changeColsIntegrality(m, np.arange(m, dtype=np.int32), np.full(m, hs.HighsVarType.kInteger))
    h.setOptionValue("time_limit", max(0.05, seconds))
    h.setOptionValue("mip_rel_gap", ctx.params.gap)
    if best.plan is not None:
        chosen = set(master.plan_columns(best.plan))
        sol = hs.HighsSolution()
        sol.col_value = [1.0 if c in chosen else 0.0 for c in cols]
        h.setSolution(sol)
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return None, -math.inf
    x = np.asarray(h.getSolution().col_value)
    plan = [-1] * n
    for c in np.nonzero(x > 0.5)[0]:
        members, j = cols[int(c)]
        for i in members:
            plan[i] = j
    return (plan if -1 not in plan else None), float(info.mip_dual_bound)


def _starts(ctx: Context, start: list[int] | None, best: Incumbent) -> list[list[int]]:
    """The cheap starting plans offered to ``best``; the valid ones returned (first columns)."""
    valid = []
    for a in cheap_plans(ctx, start):
        best.offer(a)
        if a is not None and not ctx.violations(a):
            valid.append(a)
    return valid


def _no_contiguity_bound(ctx: Context, until: float) -> float:
    """The LP without contiguity (the other methods' floor), ``-inf`` if it did not finish."""
    lo, hi = ctx.load_bounds
    lp = relaxed.solve_lp(ctx.problem, lo, hi, deadline=until, highs=ctx.backend.highs_model)
    return -math.inf if lp is None else lp.bound


def solve(ctx: Context, *, start: list[int] | None = None) -> Outcome:
    """Column generation for the bound, the integer programme over its columns for the plan
    (the cut loop, with a note, when the backend is not HiGHS)."""
    if not applies(ctx):
        done = cut_loop.solve(ctx, start=start)
        note = f"column generation needs HiGHS, not {ctx.backend.name}: the cut loop ran instead"
        return replace(done, warnings=(*done.warnings, note))
    best = Incumbent(ctx)
    plans = _starts(ctx, start, best)
    master = _Master.build(ctx)
    for plan in [*plans, *([] if best.plan is None else [best.plan])]:
        master.add(master.plan_columns(plan))
    state = _State()
    floor = _no_contiguity_bound(ctx, time.monotonic() + 0.1 * ctx.clock.remaining())
    t0 = time.monotonic()
    _generate(ctx, master, state, time.monotonic() + CG_SHARE * ctx.clock.remaining())
    cg_seconds = time.monotonic() - t0
    infeasible = _big(master.unit_cost) - 1e-6
    if state.converged and state.lp_value is not None and state.lp_value >= infeasible:
        note = "the set-partitioning LP over every connected area that fits has no solution"
        return Outcome.without_plan(Status.INFEASIBLE, note, iterations=state.rounds)
    bound = max(state.bound, floor)
    _dive(ctx, master, best, time.monotonic() + DIVE_SHARE * ctx.clock.remaining())
    ctx.report("distance", best.known, bound, "column generation: after the dive")
    _mip_and_search(ctx, master, best, bound)
    if best.plan is None:
        why = "column generation: no plan within the time limit"
        return Outcome.without_plan(
            Status.NO_SOLUTION,
            why,
            bound=bound if math.isfinite(bound) else None,
            iterations=state.rounds,
        )
    if ctx.violations(best.plan):
        raise AssertionError("the column-generation plan breaks a rule; this is a bug")
    note = _note(state, master, floor, cg_seconds)
    return Outcome.of_plan(
        best.plan,
        best.value,
        bound if math.isfinite(bound) else None,
        ctx.params.gap,
        iterations=state.rounds,
        warnings=(note,),
    )


def _big(unit_cost: np.ndarray) -> float:
    """The artificial columns' cost: more than any plan's distance."""
    return 10.0 * float(unit_cost.max(axis=1).sum()) + 1.0


def _mip_and_search(ctx: Context, master: _Master, best: Incumbent, bound: float) -> None:
    """The integer programme, the neighbourhood search on its plan, the integer programme again."""
    for share in (MIP_SHARE, None):
        if ctx.clock.remaining() <= 0.1:
            return
        if (
            best.known is not None
            and math.isfinite(bound)
            and best.value <= bound * (1 + ctx.params.gap)
        ):
            return
        seconds = ctx.clock.remaining() * (share or 1.0)
        plan, _ = _integer_master(ctx, master, best, seconds)
        best.offer(plan, polish=False)
        ctx.report("distance", best.known, bound, "column generation: integer programme")
        if share is not None and best.plan is not None and ctx.clock.remaining() > 0.5:
            until = time.monotonic() + ctx.clock.remaining() * 0.5
            best.offer(improve_plan(ctx, best.plan, until), polish=False)
            ctx.report("distance", best.known, bound, "column generation: neighbourhood search")


def _note(state: _State, master: _Master, floor: float, seconds: float) -> str:
    how = "LP optimal (proved by exact pricing)" if state.converged else "LP not proved optimal"
    unfinished = (
        f", {state.unfinished} organisers' pricing bounded without contiguity"
        if state.unfinished
        else ""
    )
    return (
        f"column generation: {len(master.columns):,} columns in {state.rounds} rounds "
        f"({state.exact_rounds} exact) in {seconds:.1f} s, {how}{unfinished}; "
        f"bound {state.bound:,.0f} against {floor:,.0f} without contiguity"
    )
