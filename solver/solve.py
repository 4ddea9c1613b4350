"""Solve a :class:`~solver.problem.Problem`: prove infeasibility early, or find the best contiguous plan.

The search is an outer loop over the MIP of :mod:`solver.model`: solve, look for areas in several
pieces, cut them off, solve again. A contiguous heuristic plan (:mod:`solver.heuristic`) is the MIP
start of every round, and every disconnected MIP solution is repaired into a contiguous candidate, so
a plan exists early and improves as the bound rises. The answer says exactly what was proved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from solver import heuristic, verify
from solver.backends import Backend, MipResult, make_backend
from solver.graph import components
from solver.model import BALANCE_TIE_WEIGHT, AssignmentModel
from solver.problem import Problem, Progress, Solution, Status, relative_gap

ProgressFn = Callable[[Progress], None]

#: Tolerances are rounded up to this step when ``auto`` hands its result to the distance stage.
TOLERANCE_STEP = 1e-4


@dataclass(frozen=True)
class SolveParams:
    """``tolerance``: allowed relative deviation of each load from the mean (0.1 = ±10 %), or
    ``None`` for *auto*: the tightest balance any contiguous plan reaches, then the nearest-home plan
    at that balance. ``time_limit`` is always set; ``gap`` is the relative gap accepted as optimal."""

    tolerance: float | None = 0.10
    respect_zones: bool = False
    time_limit: float = 60.0
    gap: float = 1e-4
    seed: int = 0
    threads: int | None = None
    auto_share: float = 0.5  # share of the time limit the auto stage may use

    def __post_init__(self) -> None:
        if self.tolerance is not None and not (0 <= self.tolerance < 10):
            raise ValueError(f"tolerance {self.tolerance!r} must be a fraction ≥ 0, e.g. 0.1")
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise ValueError(f"time limit {self.time_limit!r} must be a positive number of seconds")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap {self.gap!r} must be in [0, 1)")


@dataclass
class _Clock:
    start: float
    limit: float

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        return self.limit - self.elapsed()


@dataclass
class _LoopResult:
    status: Status
    assignment: list[int] | None
    objective: float | None
    bound: float | None
    iterations: int
    cuts: int
    explanation: str = ""
    warnings: list[str] = field(default_factory=list)


def precheck(problem: Problem, tolerance: float, respect_zones: bool) -> str | None:
    """A reason why no plan can exist at ``tolerance``, found without solving; ``None`` if none."""
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
) -> Solution:
    backend = backend or make_backend("highs", threads=params.threads, seed=params.seed)
    clock = _Clock(time.monotonic(), params.time_limit)
    timings: dict[str, float] = {}
    warnings: list[str] = []

    def report(phase: str, inc: float | None, bnd: float | None, msg: str = "") -> None:
        if on_progress is not None:
            on_progress(Progress(clock.elapsed(), inc, bnd, phase, msg))

    def finish(loop: _LoopResult, tolerance: float | None, tightest: float | None) -> Solution:
        return Solution(
            status=loop.status,
            assignment=None if loop.assignment is None else tuple(loop.assignment),
            objective=loop.objective,
            bound=loop.bound,
            tolerance=tolerance,
            solver=backend.name,
            solver_version=backend.version,
            seconds=clock.elapsed(),
            explanation=loop.explanation,
            iterations=loop.iterations,
            cuts=loop.cuts,
            tightest_tolerance=tightest,
            timings=timings,
            warnings=tuple(warnings + loop.warnings),
        )

    tightest: float | None = None
    if params.tolerance is None:
        reason = precheck(problem, 9.0, params.respect_zones)
        if reason:
            return finish(_LoopResult(Status.INFEASIBLE, None, None, None, 0, 0, reason), None, None)
        t0 = time.monotonic()
        stage_clock = _Clock(clock.start, params.time_limit * params.auto_share)
        balance = _cut_loop(problem, params, backend, stage_clock, "balance", 9.0, report)
        timings["tightest_balance_s"] = time.monotonic() - t0
        if balance.assignment is None:
            balance.explanation = (
                "no contiguous plan was found while searching for the tightest balance; "
                "allow more time"
            )
            return finish(balance, None, None)
        tightest = verify.max_deviation(problem, balance.assignment)
        if balance.status is not Status.OPTIMAL:
            gap = relative_gap(balance.objective, balance.bound)
            warnings.append(
                f"tightest balance ±{tightest * 100:.2f} % is the best found, not proven "
                f"(bound ±{(balance.bound or 0) * 100:.2f} %, gap {100 * (gap or 0):.1f} %)"
            )
        tolerance = math.ceil(tightest / TOLERANCE_STEP - 1e-6) * TOLERANCE_STEP
        start = balance.assignment
    else:
        tolerance = params.tolerance
        reason = precheck(problem, tolerance, params.respect_zones)
        if reason:
            return finish(
                _LoopResult(Status.INFEASIBLE, None, None, None, 0, 0, reason), tolerance, None
            )
        start = None
    t0 = time.monotonic()
    loop = _cut_loop(problem, params, backend, clock, "distance", tolerance, report, start=start)
    timings["distance_s"] = time.monotonic() - t0
    if loop.status is Status.INFEASIBLE and params.tolerance is not None:
        loop.explanation = (
            f"no contiguous plan keeps every load within ±{tolerance * 100:.1f} % of the mean"
            + (loop.explanation and f" ({loop.explanation})")
            + "; run with tolerance 'auto' to find the tightest balance these wards allow"
        )
    return finish(loop, tolerance, tightest)


def _cut_loop(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    clock: _Clock,
    objective: str,
    tolerance: float,
    report: Callable[[str, float | None, float | None, str], None],
    *,
    start: list[int] | None = None,
) -> _LoopResult:
    lo, hi = problem.load_bounds(tolerance)
    nb = problem.neighbours()
    model = AssignmentModel(
        problem, lo=lo, hi=hi, respect_zones=params.respect_zones, objective=objective
    )

    def value(a: list[int]) -> float:
        if objective == "distance":
            return verify.objective(problem, a)
        return verify.max_deviation(problem, a)

    def valid(a: list[int] | None) -> bool:
        return a is not None and not verify.check_plan(
            problem, a, tolerance if objective == "distance" else None
        )

    incumbent: list[int] | None = None
    inc_val = math.inf

    def offer(a: list[int] | None) -> None:
        nonlocal incumbent, inc_val
        if a is None:
            return
        polished = heuristic.improve(
            problem,
            nb,
            a,
            lo if objective == "distance" else problem.mean_load,
            hi if objective == "distance" else problem.mean_load,
            respect_zones=params.respect_zones,
            seed=params.seed,
            deadline=time.monotonic() + max(0.5, min(5.0, clock.remaining() / 10)),
        ) if objective == "distance" else a
        for cand in (polished, a):
            if valid(cand) and value(cand) < inc_val - 1e-9:
                incumbent, inc_val = list(cand), value(cand)

    if start is not None:
        offer(start)
    grown = heuristic.grow(problem, nb, lo, hi, respect_zones=params.respect_zones)
    if grown is not None:
        if objective == "balance":
            grown = heuristic.improve(
                problem, nb, grown, problem.mean_load, problem.mean_load,
                respect_zones=params.respect_zones, seed=params.seed,
                deadline=time.monotonic() + max(0.5, min(5.0, clock.remaining() / 10)),
            )
        offer(grown)
    report(objective, None if incumbent is None else inc_val, None, "heuristic plan")

    best_bound = -math.inf
    iterations = 0
    status = Status.NO_SOLUTION
    explanation = ""
    while True:
        remaining = clock.remaining()
        if remaining <= 0.05:
            break
        if incumbent is not None and _proved(objective, inc_val, best_bound, params.gap):
            status = Status.OPTIMAL
            break
        iterations += 1
        warm = None
        if incumbent is not None:
            warm = model.start_values(incumbent, inc_val if objective == "balance" else None)

        def progress(inc: float | None, bnd: float | None) -> bool:
            shown_inc = min(x for x in (inc, inc_val) if x is not None) if (
                inc is not None or incumbent is not None
            ) else None
            report(objective, shown_inc, max(best_bound, bnd) if bnd is not None else None,
                   f"round {iterations}")
            return False

        res: MipResult = backend.solve(
            model.lp, time_limit=remaining, gap=params.gap, warm_start=warm, on_progress=progress
        )
        if res.status == "infeasible":
            if incumbent is None:
                status = Status.INFEASIBLE
                explanation = (
                    "proved by the model" if iterations == 1 and model.cuts == 0
                    else f"proved after {model.cuts} contiguity cuts"
                )
            else:  # cannot happen: the incumbent satisfies every row; keep it, claim nothing more
                status = Status.FEASIBLE
            break
        if res.bound is not None:
            # the balance objective carries a tie-break worth at most BALANCE_TIE_WEIGHT
            tie = BALANCE_TIE_WEIGHT if objective == "balance" else 0.0
            best_bound = max(best_bound, res.bound - tie)
        if res.status == "no_solution":
            break
        a = model.assignment_from(res.values)
        if all(len(components([i for i, x in enumerate(a) if x == j], nb)) == 1
               for j in range(problem.n_organisers)):
            offer(a)
            if res.status == "optimal":
                status = Status.OPTIMAL
            break  # optimal, or time ran out on a connected plan
        added = model.add_separator_cuts(a)
        offer(heuristic.repair(problem, nb, a))
        report(objective, None if incumbent is None else inc_val,
               best_bound if best_bound > -math.inf else None,
               f"round {iterations}: {added} contiguity cuts")
        if res.status != "optimal":
            break
    bound = best_bound if best_bound > -math.inf else None
    if incumbent is None:
        if status is not Status.INFEASIBLE:
            status = Status.NO_SOLUTION
            explanation = "time ran out before any contiguous plan was found"
        return _LoopResult(status, None, None, bound, iterations, model.cuts, explanation)
    if bound is not None:
        bound = min(bound, inc_val)
    status = Status.OPTIMAL if _proved(objective, inc_val, bound, params.gap) else Status.FEASIBLE
    return _LoopResult(status, incumbent, inc_val, bound, iterations, model.cuts, explanation)


def _proved(objective: str, value: float, bound: float | None, gap: float) -> bool:
    """Whether ``bound`` proves ``value`` optimal: relative gap for distance; for balance, within
    one tolerance step (0.01 percentage point) — the tie-break term blurs it below that."""
    if bound is None or not math.isfinite(bound):
        return False
    if objective == "balance":
        return value - bound <= TOLERANCE_STEP
    g = relative_gap(value, bound)
    return g is not None and g <= gap
