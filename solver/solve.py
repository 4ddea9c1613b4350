"""Solve a :class:`~solver.problem.Problem`: prove infeasibility early, or find the best contiguous plan.

This module runs the prechecks (reasons no plan can exist, found without solving) and chooses the
method (:mod:`solver.methods`). When every connected area whose load fits the balance window can be
listed (few units per organiser, or a tight balance), the set-partitioning model solves the problem
exactly over them (:mod:`solver.methods.set_partitioning`); otherwise the cut loop solves the
assignment model with contiguity cuts (:mod:`solver.methods.cut_loop`). Layers too large for that
model take the bound of the LP without contiguity and a neighbourhood search
(:mod:`solver.methods.relaxed_search`); at a few units per organiser, column generation takes the
cut loop's place (:mod:`solver.methods.column_generation`). With tolerance *auto*, a bisection
first finds the tightest balance (:mod:`solver.methods.balance`). ``SolveParams.method`` may name
one method instead: set partitioning, the cut loop, branch-and-cut in one SCIP tree
(:mod:`solver.methods.branch_and_cut`), the relaxed search or column generation; *auto* keeps
the choice above, which the benchmark finds best (BENCHMARKS.md). The answer says exactly what
was proved, and which method ran (``Solution.method``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from solver import pockets, verify
from solver.backends import Backend, make_backend
from solver.graph import components
from solver.methods import (
    balance,
    branch_and_cut,
    column_generation,
    cut_loop,
    relaxed_search,
    set_partitioning,
)
from solver.methods.context import Clock, Context, Outcome
from solver.methods.cut_loop import primal_shares
from solver.params import SolveParams
from solver.problem import Problem, Progress, Solution, Status

__all__ = [
    "EXACT_METHODS",
    "ProgressFn",
    "SolveParams",
    "exact_method",
    "method_for",
    "precheck",
    "primal_shares",
    "solve",
]

ProgressFn = Callable[[Progress], None]

#: Tolerances are rounded up to this step when ``auto`` hands its result to the distance stage.
TOLERANCE_STEP = 1e-4


def precheck(
    problem: Problem, tolerance: float, respect_zones: bool, *, pockets_known: bool = False
) -> str | None:
    """A reason why no plan can exist at ``tolerance``, found without solving; ``None`` if none.
    ``pockets_known``: the caller has the pockets' floor already (the auto search), skip them."""
    n, k = problem.n_units, problem.n_organisers
    if k > n:
        return f"{k} organisers but only {n} wards: every organiser needs at least one ward"
    nb = problem.neighbours()
    pieces = components(range(n), nb)
    if len(pieces) > 1:
        return (
            f"the wards form {len(pieces)} separate groups with no neighbour between them; "
            "link islands (adjacency) before planning"
        )
    lo, hi = problem.load_bounds(tolerance)
    m = problem.mean_load
    heavy = max(range(n), key=lambda i: problem.weights[i])
    if problem.weights[heavy] > hi * (1 + 1e-12):
        need = problem.weights[heavy] / m - 1
        return (
            f"ward {problem.unit_ids[heavy]} alone has {problem.weights[heavy]:,.0f} poor households, "
            f"more than one organiser's largest share {hi:,.0f} at ±{tolerance * 100:.1f} % of the mean "
            f"{m:,.0f}; the tightest balance these wards allow is at least ±{need * 100:.1f} % — "
            "or split that ward into sub-ward units"
        )
    pocket = None if pockets_known else pockets.balance_floor(problem)
    if pocket is not None and pocket.floor > tolerance + 1e-9:
        return (
            f"{pocket.describe(problem)}, so every plan has an area at least "
            f"±{pocket.floor * 100:.1f} % off the mean {m:,.0f}: allow ±{pocket.floor * 100:.1f} % "
            f"or more, or split ward {problem.unit_ids[pocket.gate]} into sub-ward units"
        )
    if respect_zones and problem.zones is not None:
        return _zone_precheck(problem, lo, hi)
    return None


def _zone_precheck(problem: Problem, lo: float, hi: float) -> str | None:
    if any(z is None for z in problem.zones or ()):
        return "some wards have no zone; give every ward a zone or plan without --respect-zones"
    totals: dict[str, float] = {}
    for z, w in zip(problem.zones or (), problem.weights, strict=True):
        totals[str(z)] = totals.get(str(z), 0.0) + w
    counts: dict[str, int] = {}
    for z in problem.zones or ():
        counts[str(z)] = counts.get(str(z), 0) + 1
    min_total, max_total = 0, 0
    stuck = []
    for z, total in sorted(totals.items()):
        fewest = max(1, math.ceil(total / hi - 1e-9))
        most = min(counts[z], math.floor(total / lo + 1e-9)) if lo > 0 else counts[z]
        if fewest > most:
            stuck.append(f"zone {z} ({total:,.0f} poor households)")
        min_total += fewest
        max_total += most
    if stuck:
        return (
            f"{'; '.join(stuck)}: no whole number of organisers with {lo:,.0f}–{hi:,.0f} poor "
            "households each adds up to the zone's total, so the zone cannot be split at this "
            "balance; widen the tolerance or plan without zones"
        )
    k = problem.n_organisers
    if not min_total <= k <= max_total:
        return (
            f"the zones need between {min_total} and {max_total} organisers at this balance, "
            f"but there are {k}"
        )
    return None


def solve(
    problem: Problem,
    params: SolveParams,
    backend: Backend | None = None,
    on_progress: ProgressFn | None = None,
    *,
    start: Sequence[int] | None = None,
) -> Solution:
    """The best contiguous plan within the time limit, and what was proved about it. Without a
    ``backend``, HiGHS with the params' seed and threads. ``start``: a plan to start from at a
    fixed tolerance (checked like any other candidate; the frontier passes a tighter point's)."""
    backend = backend or make_backend("highs", threads=params.threads, seed=params.seed)
    clock = Clock.starting_now(params.time_limit)

    def report(phase: str, inc: float | None, bnd: float | None, msg: str) -> None:
        if on_progress is not None:
            on_progress(Progress(clock.elapsed(), inc, bnd, phase, msg))

    run = _Run(Context(problem, params, backend, clock, params.tolerance or 0.0, report))
    if params.tolerance is None:
        return run.auto()
    reason = precheck(problem, params.tolerance, params.respect_zones)
    if reason:
        return run.finish(Outcome.without_plan(Status.INFEASIBLE, reason), params.tolerance)
    return run.distance(params.tolerance, None if start is None else list(start))


#: A largest deviation this small is an exact balance: no plan can be tighter.
EXACT_BALANCE = 1e-9


@dataclass
class _Run:
    """One call of :func:`solve`: its context, the stage timings and warnings, the answer."""

    ctx: Context
    tightest: float | None = None
    #: See :attr:`Solution.balance_floor`.
    floor: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: The distance stage's method, once it ran ("": the prechecks answered before it).
    method: str = ""

    def auto(self) -> Solution:
        """The tightest balance first (in ``auto_share`` of the time), then the distance stage."""
        ctx, params = self.ctx, self.ctx.params
        reason = precheck(ctx.problem, balance.WIDEST, params.respect_zones, pockets_known=True)
        if reason:
            return self.finish(Outcome.without_plan(Status.INFEASIBLE, reason), None)
        t0 = time.monotonic()
        stage = Clock(ctx.clock.start, params.time_limit * params.auto_share)
        search = balance.tightest_balance(
            ctx.at(0.0, stage),
            lambda t: precheck(ctx.problem, t, params.respect_zones, pockets_known=True),
        )
        self.timings["tightest_balance_s"] = time.monotonic() - t0
        if search.plan is None:
            why = (
                "no contiguous plan was found while searching for the tightest balance; "
                "allow more time"
            )
            failed = Outcome.without_plan(Status.NO_SOLUTION, why, iterations=search.probes)
            return self.finish(failed, None)
        self.tightest = verify.max_deviation(ctx.problem, search.plan)
        self.floor = _balance_floor(self.tightest, search)
        self.warnings.append(_tightest_note(self.tightest, search))
        tolerance = math.ceil(self.tightest / TOLERANCE_STEP - 1e-6) * TOLERANCE_STEP
        return self.distance(tolerance, search.plan)

    def distance(self, tolerance: float, start: list[int] | None) -> Solution:
        """The nearest-home plan at ``tolerance``, by the method asked for or fitting the problem."""
        ctx = self.ctx.at(tolerance, self.ctx.clock)
        t0 = time.monotonic()
        outcome = None
        asked = ctx.params.method
        if asked in ("auto", "set_partitioning") and set_partitioning.applies(ctx):
            outcome = set_partitioning.solve(
                ctx, start, self.timings, forced=asked == "set_partitioning"
            )
            self.method = "set_partitioning"
        if outcome is None:
            self.method = method_for(ctx)
            if asked == "set_partitioning":
                self.warnings.append(_no_partition_note(ctx, self.method))
            outcome = EXACT_METHODS[self.method](ctx, start=start)
        self.timings["distance_s"] = time.monotonic() - t0
        if outcome.status is Status.INFEASIBLE and ctx.params.tolerance is not None:
            explanation = (
                f"no contiguous plan keeps every load within ±{tolerance * 100:.1f} % of the mean"
                + (outcome.explanation and f" ({outcome.explanation})")
                + "; run with tolerance 'auto' to find the tightest balance these wards allow"
            )
            outcome = replace(outcome, explanation=explanation)
        return self.finish(outcome, tolerance)

    def finish(self, outcome: Outcome, tolerance: float | None) -> Solution:
        """The answer, at ``tolerance`` (``None``: the auto search found none)."""
        ctx = self.ctx
        return Solution(
            status=outcome.status,
            assignment=None if outcome.assignment is None else tuple(outcome.assignment),
            objective=outcome.objective,
            bound=outcome.bound,
            tolerance=tolerance,
            solver=outcome.solver or ctx.backend.name,
            solver_version=outcome.solver_version or ctx.backend.version,
            seconds=ctx.clock.elapsed(),
            explanation=outcome.explanation,
            iterations=outcome.iterations,
            cuts=outcome.cuts,
            tightest_tolerance=self.tightest,
            balance_floor=self.floor,
            timings=self.timings,
            warnings=(*self.warnings, *outcome.warnings),
            method=self.method,
        )


#: The methods :func:`method_for` may choose, by name (set partitioning runs before them).
EXACT_METHODS: dict[str, Callable[..., Outcome]] = {
    "cut_loop": cut_loop.solve,
    "branch_and_cut": branch_and_cut.solve,
    "relaxed_search": relaxed_search.solve,
    "column_generation": column_generation.solve,
}


def method_for(ctx: Context) -> str:
    """The distance stage's method when set partitioning does not apply or gave up: the one asked
    for, else the relaxed search for layers too large for the assignment model, else column
    generation at a few units per organiser (HiGHS; not with ``partition`` off), else the cut
    loop."""
    method = ctx.params.method
    if method in EXACT_METHODS:
        return method
    if relaxed_search.too_large(ctx.problem):
        return "relaxed_search"
    if (
        ctx.params.partition
        and ctx.params.auto_columns
        and column_generation.applies(ctx)
        and column_generation.few_units(ctx.problem)
    ):
        return "column_generation"
    return "cut_loop"


def exact_method(ctx: Context) -> Callable[..., Outcome]:
    """The function of :func:`method_for`'s method."""
    return EXACT_METHODS[method_for(ctx)]


def _no_partition_note(ctx: Context, used: str) -> str:
    if ctx.backend.name != "highs":
        why = "needs the HiGHS solver"
    elif not ctx.params.partition:
        why = "is switched off (SolveParams.partition)"
    else:
        why = (
            "could not list every connected area that fits in its share of the time, or found "
            "no plan over them"
        )
    return f"method set_partitioning asked for: it {why}; {used.replace('_', ' ')} used instead"


def _balance_floor(tightest: float, search: balance.BalanceSearch) -> float | None:
    """What is proved about the balance: none below the search's floor, or below the plan's own
    deviation when that is nil (an exact balance); ``None``: nothing."""
    if search.proven_floor > 0:
        return search.proven_floor
    return 0.0 if tightest <= EXACT_BALANCE else None


def _tightest_note(tightest: float, search: balance.BalanceSearch) -> str:
    floor = _balance_floor(tightest, search)
    proof = (
        f"no plan exists below ±{floor * 100:.2f} % (proved)"
        if floor is not None
        else "not proved to be the tightest"
    )
    why = f": {search.why_floor}" if search.why_floor else ""
    return (
        f"tightest balance found ±{tightest * 100:.2f} % after {search.probes} probes; {proof}{why}"
    )
