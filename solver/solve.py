"""Solve a :class:`~solver.problem.Problem`: prove infeasibility early, or find the best contiguous plan.

Two exact methods. When every connected area whose load fits the balance window can be listed (few
units per organiser, or a tight balance), :mod:`solver.partition` solves the set-partitioning model
over them: contiguity and balance are in the columns, the LP bound is strong, and an infeasible LP
proves that no plan exists. Otherwise the search is an outer loop over the MIP of
:mod:`solver.model`: solve, look for areas in several pieces, cut them off, solve again. Contiguous
heuristic plans (:mod:`solver.heuristic`, :mod:`solver.lns`) are the MIP starts, and every
disconnected MIP solution is repaired into a contiguous candidate, so a plan exists early and
improves as the bound rises. Cities too large for that model (sub-ward layers: thousands of units
times hundreds of organisers) take the bound of the LP without contiguity (:mod:`solver.relaxed`), a
plan rounded from it, and the neighbourhood search. The answer says exactly what was proved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from solver import heuristic, lns, partition, pockets, relaxed, treepart, verify
from solver.backends import Backend, MipResult, make_backend
from solver.graph import components
from solver.model import AssignmentModel
from solver.problem import Problem, Progress, Solution, Status, relative_gap

ProgressFn = Callable[[Progress], None]

#: A round of the cut loop gets at most this share of the time limit, and stops at ROUND_GAP: early
#: rounds are for finding the areas in pieces; the final round proves the gap.
ROUND_SHARE = 0.25
ROUND_GAP = 0.005

#: Spanning-tree splits for a balanced starting plan: at most this many plans, this many seconds,
#: this share of the time left.
TREE_PLANS = 5
TREE_SECONDS = 5.0
TREE_SHARE = 0.1

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
    gap: float = 1e-3
    seed: int = 0
    threads: int | None = None
    auto_share: float = 0.5  # share of the time limit the auto stage may use
    restart_on_pieces: bool = True  # stop a round at its first solution with an area in pieces
    #: Share of the time for the star-shaped primal model (0: skip it) and share of the time left
    #: for re-optimising neighbouring areas (0: skip). ``None`` chooses by units per organiser, see
    #: :func:`primal_shares`.
    star_share: float | None = None
    lns_share: float | None = None
    #: List every connected area that fits and solve the set-partitioning model (HiGHS only) when
    #: the list is short enough; otherwise, or with False, the cut loop.
    partition: bool = True

    def __post_init__(self) -> None:
        if self.tolerance is not None and not (0 <= self.tolerance < 10):
            raise ValueError(f"tolerance {self.tolerance!r} must be a fraction ≥ 0, e.g. 0.1")
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise ValueError(f"time limit {self.time_limit!r} must be a positive number of seconds")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap {self.gap!r} must be in [0, 1)")


#: Below this many units per organiser the contiguity rows, not the balance, decide the plan: the
#: cut loop's bound hardly moves (Bangalore, 40 COs: +0.3 % in 30 s) while the neighbourhood search
#: keeps improving the plan, so the search gets the larger share. Measured at 60 s on this machine:
#: Bangalore 40 COs (5 wards each) 990,318 with shares 0.3/0.2 → 937,603 with 0.1/0.5; Bangalore
#: 20 COs (10 wards each) gap 0.78 % with 0.3/0.2 → 1.06 % with 0.1/0.5.
FEW_UNITS_PER_ORGANISER = 8.0


def primal_shares(problem: Problem, params: SolveParams) -> tuple[float, float]:
    """(star share, neighbourhood-search share) for this problem: the params' values when set."""
    few = problem.n_units < FEW_UNITS_PER_ORGANISER * problem.n_organisers
    star = params.star_share if params.star_share is not None else (0.1 if few else 0.3)
    lns_ = params.lns_share if params.lns_share is not None else (0.5 if few else 0.2)
    return star, lns_


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
        reason = precheck(problem, 9.0, params.respect_zones, pockets_known=True)
        if reason:
            return finish(
                _LoopResult(Status.INFEASIBLE, None, None, None, 0, 0, reason), None, None
            )
        t0 = time.monotonic()
        stage_clock = _Clock(clock.start, params.time_limit * params.auto_share)
        search = _tightest_balance(problem, params, backend, stage_clock, report)
        timings["tightest_balance_s"] = time.monotonic() - t0
        if search.plan is None:
            failed = _LoopResult(
                Status.NO_SOLUTION,
                None,
                None,
                None,
                search.probes,
                0,
                "no contiguous plan was found while searching for the tightest balance; "
                "allow more time",
            )
            return finish(failed, None, None)
        tightest = verify.max_deviation(problem, search.plan)
        floor = search.proven_floor
        warnings.append(
            f"tightest balance found ±{tightest * 100:.2f} % after {search.probes} probes; "
            + (
                f"no plan exists below ±{floor * 100:.2f} % (proved)"
                if floor > 0
                else "not proved to be the tightest"
            )
            + (f": {search.why_floor}" if search.why_floor else "")
        )
        tolerance = math.ceil(tightest / TOLERANCE_STEP - 1e-6) * TOLERANCE_STEP
        start = search.plan
    else:
        tolerance = params.tolerance
        reason = precheck(problem, tolerance, params.respect_zones)
        if reason:
            return finish(
                _LoopResult(Status.INFEASIBLE, None, None, None, 0, 0, reason), tolerance, None
            )
        start = None
    t0 = time.monotonic()
    exact = None
    if _partition_applies(params, backend):
        exact = _partition_solve(problem, params, backend, clock, tolerance, report, start, timings)
    if exact is not None:
        loop = exact
    elif _too_large(problem):
        loop = _relaxed_search(problem, params, backend, clock, tolerance, report, start=start)
    else:
        loop = _cut_loop(problem, params, backend, clock, tolerance, report, start=start)
    timings["distance_s"] = time.monotonic() - t0
    if loop.status is Status.INFEASIBLE and params.tolerance is not None:
        loop.explanation = (
            f"no contiguous plan keeps every load within ±{tolerance * 100:.1f} % of the mean"
            + (loop.explanation and f" ({loop.explanation})")
            + "; run with tolerance 'auto' to find the tightest balance these wards allow"
        )
    return finish(loop, tolerance, tightest)


#: The listing of areas may take this share of the time limit, and at most LISTING_SECONDS, before
#: the cut loop takes over. How many areas fit depends on the units per organiser *and* on the
#: balance window, so it is simply tried: with 10 wards per CO at ±10 % (Lucknow, 11 COs) it gives
#: up after those seconds; at a tight balance found by *auto* it lists few areas even there.
LISTING_SHARE = 0.1
LISTING_SECONDS = 3.0


#: Shares of the time left, after the LP and the dive, for the first integer programme and, when
#: it does not prove the optimum, for the neighbourhood search on its plan; the integer programme
#: then gets the rest, warm-started with the improved plan.
PARTITION_FIRST_SHARE = 0.15
PARTITION_LNS_SHARE = 0.6


def _partition_applies(params: SolveParams, backend: Backend) -> bool:
    return params.partition and backend.name == "highs"


def _partition_solve(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    clock: _Clock,
    tolerance: float,
    report: Callable[[str, float | None, float | None, str], None],
    start: list[int] | None,
    timings: dict[str, float],
) -> _LoopResult | None:
    """The exact set-partitioning model when every fitting area can be listed; ``None`` if not
    (too many areas, or no plan before the time ran out), and the cut loop takes over."""
    lo, hi = problem.load_bounds(tolerance)
    t0 = time.monotonic()
    areas = partition.enumerate_areas(
        problem,
        lo,
        hi,
        respect_zones=params.respect_zones,
        deadline=t0 + min(LISTING_SECONDS, clock.limit * LISTING_SHARE),
    )
    timings["listing_s"] = time.monotonic() - t0
    if areas is None:
        return None
    report("distance", None, None, f"{areas.count:,} connected areas fit")
    nb = problem.neighbours()
    valid = []
    for a in _cheap_plans(problem, params, clock, tolerance, lo, hi, start):
        if a is not None and a is not start:
            a = heuristic.improve(
                problem,
                nb,
                a,
                lo,
                hi,
                respect_zones=params.respect_zones,
                seed=params.seed,
                deadline=time.monotonic() + max(0.2, min(2.0, clock.remaining() / 20)),
            )
        if a is not None and not verify.check_plan(
            problem, a, tolerance, respect_zones=params.respect_zones
        ):
            valid.append(a)
    best_start = min(valid, key=lambda a: verify.objective(problem, a)) if valid else None

    def progress(inc: float | None, bnd: float | None, msg: str) -> None:
        report("distance", inc, bnd, msg)

    def improve(plan: list[int], deadline: float) -> list[int]:
        """Re-optimise neighbouring areas; keep the result only if it is valid and better."""
        better = lns.improve(
            problem,
            plan,
            lo,
            hi,
            backend,
            deadline=deadline,
            respect_zones=params.respect_zones,
            seed=params.seed,
        )
        ok = not verify.check_plan(problem, better, tolerance, respect_zones=params.respect_zones)
        if ok and verify.objective(problem, better) < verify.objective(problem, plan):
            return better
        return plan

    res = partition.solve_partition(
        problem,
        areas,
        time_limit=max(0.05, clock.remaining()),
        gap=params.gap,
        start=best_start,
        on_progress=progress,
        improve=improve,
        first_share=PARTITION_FIRST_SHARE,
        improve_share=PARTITION_LNS_SHARE,
    )
    if res.status == "infeasible":
        return _LoopResult(Status.INFEASIBLE, None, None, None, 1, 0, res.detail)
    plan = res.assignment or best_start
    if plan is None:
        return None  # the cut loop takes over for the time left
    bound, lp_bound, columns = res.bound, res.lp_bound, res.columns
    if verify.check_plan(problem, plan, tolerance, respect_zones=params.respect_zones):
        raise AssertionError("the set-partitioning plan breaks a rule; this is a bug")
    value = verify.objective(problem, plan)
    if bound is not None:
        bound = min(bound, value)
    status = Status.OPTIMAL if _proved(value, bound, params.gap) else Status.FEASIBLE
    loop = _LoopResult(status, plan, value, bound, 1, 0)
    loop.warnings.append(
        f"set partitioning over all {areas.count:,} connected areas that fit "
        f"({columns:,} columns priced"
        + (f", LP bound {lp_bound:,.0f})" if lp_bound is not None else ")")
    )
    return loop


class _Best:
    """The best valid plan offered so far. Candidates are polished with boundary moves first (for
    at most a tenth of the time left, 0.2–5 s); the polished and the raw one are both checked."""

    def __init__(
        self, problem: Problem, params: SolveParams, clock: _Clock, tolerance: float
    ) -> None:
        self.problem, self.params, self.clock, self.tolerance = problem, params, clock, tolerance
        self.lo, self.hi = problem.load_bounds(tolerance)
        self.nb = problem.neighbours()
        self.plan: list[int] | None = None
        self.value = math.inf

    @property
    def known(self) -> float | None:
        """The best plan's value, ``None`` before there is one."""
        return None if self.plan is None else self.value

    def offer(self, a: list[int] | None, *, polish: bool = True) -> None:
        if a is None:
            return
        p, params = self.problem, self.params
        candidates = [a]
        if polish:
            budget = max(0.2, min(5.0, self.clock.remaining() / 10))
            candidates.insert(
                0,
                heuristic.improve(
                    p,
                    self.nb,
                    a,
                    self.lo,
                    self.hi,
                    respect_zones=params.respect_zones,
                    seed=params.seed,
                    deadline=time.monotonic() + budget,
                ),
            )
        for cand in candidates:
            if not verify.check_plan(p, cand, self.tolerance, respect_zones=params.respect_zones):
                val = verify.objective(p, cand)
                if val < self.value - 1e-9:
                    self.plan, self.value = list(cand), val


def _cut_loop(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    clock: _Clock,
    tolerance: float,
    report: Callable[[str, float | None, float | None, str], None],
    *,
    start: list[int] | None = None,
    first_plan: bool = False,
) -> _LoopResult:
    """Minimise distance at ``tolerance``: solve, cut off areas in pieces, solve again.

    With ``first_plan`` it stops at the first contiguous plan (a feasibility probe).
    """
    lo, hi = problem.load_bounds(tolerance)
    nb = problem.neighbours()
    model = AssignmentModel(problem, lo=lo, hi=hi, respect_zones=params.respect_zones)
    phase = "probe" if first_plan else "distance"
    best = _Best(problem, params, clock, tolerance)
    offer = best.offer
    for plan in _cheap_plans(problem, params, clock, tolerance, lo, hi, start):
        offer(plan)
    report(phase, best.known, None, "heuristic plan")
    star_share, lns_share = primal_shares(problem, params)
    if star_share > 0:
        offer(_star_plan(problem, params, backend, clock, lo, hi, first_plan, star_share))
        report(phase, best.known, None, "star-shaped plan")
    if best.plan is not None and not first_plan and lns_share > 0:
        offer(
            lns.improve(
                problem,
                best.plan,
                lo,
                hi,
                backend,
                deadline=time.monotonic() + clock.remaining() * lns_share,
                respect_zones=params.respect_zones,
                seed=params.seed,
            )
        )
        report(phase, best.known, None, "neighbourhood search")

    best_bound = -math.inf
    iterations = 0
    status = Status.NO_SOLUTION
    explanation = ""
    final = False  # the last round: nothing new to cut, so it gets all the time and the true gap
    while clock.remaining() > 0.05:
        if best.plan is not None and (first_plan or _proved(best.value, best_bound, params.gap)):
            break
        iterations += 1
        if final or first_plan:
            round_limit, round_gap = clock.remaining(), (0.5 if first_plan else params.gap)
        else:
            round_limit = min(clock.remaining(), max(1.0, clock.limit * ROUND_SHARE))
            round_gap = max(params.gap, ROUND_GAP)
        warm = model.start_values(best.plan) if best.plan is not None else None

        def progress(
            _inc: float | None,
            bnd: float | None,
            floor: float = best_bound,
            known: float = best.value,
            label: str = f"round {iterations}",
        ) -> bool:
            # the round's own incumbent may be an area in pieces: only verified plans are shown
            report(
                phase,
                known if math.isfinite(known) else None,
                None if bnd is None else max(floor, bnd),
                label,
            )
            return False

        in_pieces: list[list[int]] = []
        connected: list[list[int]] = []

        def on_solution(
            values: Mapping[str, float],
            connected: list[list[int]] = connected,
            in_pieces: list[list[int]] = in_pieces,
        ) -> bool:
            """Keep connected solutions; stop the round at the first one with an area in pieces,
            so that it can be cut off at once (PuLP's solvers offer no lazy constraints)."""
            a = model.assignment_from(values)
            if _all_connected(a, nb, problem.n_organisers):
                connected.append(a)
                return False
            in_pieces.append(a)
            return True

        res: MipResult = backend.solve(
            model.lp,
            time_limit=round_limit,
            gap=round_gap,
            warm_start=warm,
            on_progress=progress,
            on_solution=on_solution if (params.restart_on_pieces and not final) else None,
        )
        for a in connected:
            offer(a)
        if res.bound is not None:
            best_bound = max(best_bound, res.bound)
        if in_pieces:
            added = sum(model.add_separator_cuts(a) for a in in_pieces)
            offer(heuristic.repair(problem, nb, in_pieces[-1]))
            report(
                phase,
                best.known,
                best_bound if best_bound > -math.inf else None,
                f"round {iterations}: {added} contiguity cuts (restart)",
            )
            continue
        if res.status == "infeasible":
            if best.plan is None:
                status = Status.INFEASIBLE
                explanation = (
                    "proved by the model"
                    if model.cuts == 0
                    else f"proved after {model.cuts} contiguity cuts"
                )
            break  # (with an incumbent this cannot happen: it satisfies every row)
        if res.bound is not None:
            best_bound = max(best_bound, res.bound)
        if res.status == "no_solution":
            if final:
                break
            final = True  # nothing to learn from this round: try once more with all the time
            continue
        a = model.assignment_from(res.values)
        if _all_connected(a, nb, problem.n_organisers):
            offer(a)
            if final or (res.status == "optimal" and round_gap <= params.gap):
                break  # proved, or time ran out with all the time given
            final = True  # connected, but not yet proved to the accepted gap
            continue
        added = model.add_separator_cuts(a)
        offer(heuristic.repair(problem, nb, a))
        report(
            phase,
            best.known,
            best_bound if best_bound > -math.inf else None,
            f"round {iterations}: {added} contiguity cuts",
        )
    bound = best_bound if best_bound > -math.inf else None
    if best.plan is None:
        if status is not Status.INFEASIBLE:
            explanation = "time ran out before any contiguous plan was found"
        return _LoopResult(status, None, None, bound, iterations, model.cuts, explanation)
    if bound is not None:
        bound = min(bound, best.value)
    status = Status.OPTIMAL if _proved(best.value, bound, params.gap) else Status.FEASIBLE
    return _LoopResult(status, best.plan, best.value, bound, iterations, model.cuts, explanation)


#: Above this many unit–organiser pairs the assignment model is not built and
#: :func:`_relaxed_search` runs instead. Building the model in PuLP alone took minutes and 4 GB at
#: 1.25 million pairs (5,000 sub-ward units, 250 COs). Measured at 120 s on a quiet machine, 1,000
#: units / 50 COs (50,000 pairs): cut loop 843,432 (gap 10.5 %), relaxed search 762,707 (gap
#: 1.15 %). On ward layers (at most 13,000 pairs in the benchmark) the cut loop is better: Lucknow,
#: 11 COs, 60 s: 0.95 % against 3.25 %.
LARGE_PAIRS = 20_000
#: Areas re-optimised together by the neighbourhood search at first (it widens when it stalls).
#: With about 20 units per area, pairs improve fastest: on 2,000 units / 100 COs, 30 s of search
#: from the same plan ended 1.72 % above the bound with pairs, 1.93 % with three areas and 2.27 %
#: with four (the search's default for ward layers).
LARGE_NEIGHBOURHOOD = 2
#: Share of the time for the contiguity-relaxed LP (it needs about 1 s at 1.25 million pairs).
RELAXED_LP_SHARE = 0.3


def _too_large(problem: Problem) -> bool:
    return problem.n_units * problem.n_organisers > LARGE_PAIRS


def _relaxed_search(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    clock: _Clock,
    tolerance: float,
    report: Callable[[str, float | None, float | None, str], None],
    *,
    start: list[int] | None = None,
    first_plan: bool = False,
) -> _LoopResult:
    """For cities too large for the full model: the contiguity-relaxed LP's bound, a plan rounded
    from it and the cheap heuristic plans, then re-optimised neighbourhoods until the time is up.

    The bound ignores contiguity, so the gap is an upper limit on the true one."""
    lo, hi = problem.load_bounds(tolerance)
    phase = "probe" if first_plan else "distance"
    best = _Best(problem, params, clock, tolerance)
    bound: float | None = None

    def progress(msg: str) -> None:
        report(phase, best.known, bound, msg)

    lp = relaxed.solve_lp(
        problem, lo, hi, deadline=time.monotonic() + clock.remaining() * RELAXED_LP_SHARE
    )
    if lp is not None:
        bound = lp.bound
        progress(f"LP without contiguity ({lp.columns:,} pairs priced in)")
        best.offer(
            relaxed.round_plan(
                problem,
                lp.shares,
                lo,
                hi,
                respect_zones=params.respect_zones,
                seed=params.seed,
                deadline=time.monotonic() + max(0.5, clock.remaining() / 10),
            ),
            polish=False,
        )
        progress("plan rounded from the LP")
    if best.plan is None or not first_plan:
        for plan in _cheap_plans(problem, params, clock, tolerance, lo, hi, start):
            best.offer(plan)
        progress("heuristic plan")
    if best.plan is not None and not first_plan and not _proved(best.value, bound, params.gap):
        last = [time.monotonic()]

        def improved(plan: list[int]) -> None:
            if time.monotonic() - last[0] > 1.0:
                last[0] = time.monotonic()
                report(phase, verify.objective(problem, plan), bound, "neighbourhood search")

        best.offer(
            lns.improve(
                problem,
                best.plan,
                lo,
                hi,
                backend,
                deadline=clock.start + clock.limit - 0.05,
                respect_zones=params.respect_zones,
                seed=params.seed,
                neighbourhood=LARGE_NEIGHBOURHOOD,
                on_improve=improved,
            ),
            polish=False,
        )
        progress("neighbourhood search")
    if best.plan is None:
        why = "time ran out before any contiguous plan was found"
        return _LoopResult(Status.NO_SOLUTION, None, None, bound, 1, 0, why)
    if bound is not None:
        bound = min(bound, best.value)
    status = Status.OPTIMAL if _proved(best.value, bound, params.gap) else Status.FEASIBLE
    loop = _LoopResult(status, best.plan, best.value, bound, 1, 0)
    loop.warnings.append(
        f"{problem.n_units:,} units × {problem.n_organisers:,} organisers: too many pairs for the "
        "full model; the bound is the LP without contiguity, so the true gap is at most the one "
        "shown"
    )
    return loop


#: A balance probe lists at most this many areas (its integer programme has one column per area).
PROBE_MAX_AREAS = 20_000


def _partition_probe(
    problem: Problem, params: SolveParams, clock: _Clock, tolerance: float
) -> tuple[bool, _LoopResult | None]:
    """Whether any contiguous plan exists at ``tolerance``, decided exactly from the list of
    fitting areas: (whether they could all be listed, the answer or ``None`` if time ran out)."""
    lo, hi = problem.load_bounds(tolerance)
    areas = partition.enumerate_areas(
        problem,
        lo,
        hi,
        respect_zones=params.respect_zones,
        deadline=time.monotonic() + min(LISTING_SECONDS, clock.remaining() * 0.5),
        max_areas=PROBE_MAX_AREAS,
    )
    if areas is None:
        return False, None
    res = partition.find_partition(problem, areas, time_limit=max(0.05, clock.remaining()))
    if res.status == "infeasible":
        return True, _LoopResult(Status.INFEASIBLE, None, None, None, 1, 0, res.detail)
    if res.assignment is None:
        return True, None
    return True, _LoopResult(Status.FEASIBLE, res.assignment, res.objective, None, 1, 0)


def _cheap_plans(
    problem: Problem,
    params: SolveParams,
    clock: _Clock,
    tolerance: float,
    lo: float,
    hi: float,
    start: list[int] | None,
) -> list[list[int] | None]:
    """The first candidates of either method, unpolished: the given plan, region growing from
    the homes, and spanning-tree splits (not with zones)."""
    plans = [
        start,
        heuristic.grow(problem, problem.neighbours(), lo, hi, respect_zones=params.respect_zones),
    ]
    if not params.respect_zones:
        budget = min(TREE_SECONDS, clock.remaining() * TREE_SHARE)
        plans.extend(_tree_plans(problem, tolerance, params.seed, time.monotonic() + budget))
    return plans


def _tree_plans(problem: Problem, tolerance: float, seed: int, deadline: float) -> list[list[int]]:
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


def _star_plan(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    clock: _Clock,
    lo: float,
    hi: float,
    first_plan: bool,
    share: float,
) -> list[int] | None:
    """The best plan whose areas are 'stars' around each organiser's home unit (connected by
    construction): a strong early incumbent. It proves nothing about the unrestricted optimum."""
    try:
        centres = heuristic.home_units(problem)
    except ValueError:
        return None
    model = AssignmentModel(
        problem, lo=lo, hi=hi, respect_zones=params.respect_zones, centres=centres
    )
    res = backend.solve(
        model.lp,
        time_limit=max(0.5, clock.remaining() * share),
        gap=0.5 if first_plan else max(params.gap, ROUND_GAP / 5),
        warm_start=None,
    )
    return model.assignment_from(res.values) if res.values else None


def _all_connected(a: Sequence[int], nb: Sequence[Sequence[int]], k: int) -> bool:
    members: list[list[int]] = [[] for _ in range(k)]
    for i, j in enumerate(a):
        members[j].append(i)
    return all(len(components(m, nb)) == 1 for m in members)


def _proved(value: float, bound: float | None, gap: float) -> bool:
    """Whether ``bound`` proves ``value`` optimal within the relative ``gap``."""
    if bound is None or not math.isfinite(bound):
        return False
    g = relative_gap(value, bound)
    return g is not None and g <= gap


@dataclass
class _BalanceSearch:
    plan: list[int] | None
    proven_floor: float  # no contiguous plan exists at any tolerance below this (0: nothing proved)
    probes: int
    why_floor: str = ""  # what proves the floor, when a pocket of wards does


#: The auto search stops when the tightest plan found is this close to what is known impossible.
BALANCE_RESOLUTION = 0.001


def _tightest_balance(
    problem: Problem,
    params: SolveParams,
    backend: Backend,
    clock: _Clock,
    report: Callable[[str, float | None, float | None, str], None],
) -> _BalanceSearch:
    """Bisection on the tolerance: each probe asks the cut loop for any contiguous plan.

    A probe that finds a plan lowers the upper end to that plan's actual deviation; one that proves
    infeasibility raises the proven floor; one that runs out of time raises only the search's lower
    end (so the floor stays honest).
    """
    nb = problem.neighbours()
    m = problem.mean_load
    floor = max(0.0, max(problem.weights) / m - 1) if m > 0 else 0.0
    pocket = pockets.balance_floor(problem)
    if pocket is not None:
        floor = max(floor, pocket.floor)
    pocket_floor = floor
    plan = heuristic.grow(problem, nb, m, m, respect_zones=params.respect_zones)
    if plan is not None:
        plan = heuristic.improve(
            problem,
            nb,
            plan,
            m,
            m,
            respect_zones=params.respect_zones,
            seed=params.seed,
            deadline=time.monotonic() + max(0.5, min(5.0, clock.remaining() / 10)),
        )
    hi = verify.max_deviation(problem, plan) if plan is not None else 1.0
    lo = floor
    probes = 0
    too_many_areas = math.inf  # the narrowest tolerance whose areas could not all be listed
    while clock.remaining() > 0.2 and hi - lo > BALANCE_RESOLUTION:
        mid = (lo + hi) / 2 if plan is not None else hi
        budget = max(0.5, clock.remaining() / max(2.0, math.log2((hi - lo) / BALANCE_RESOLUTION)))
        probe_clock = _Clock(time.monotonic(), min(budget, clock.remaining()))
        probes += 1
        report("balance", hi if plan is not None else None, lo, f"probe ±{mid * 100:.2f} %")
        if precheck(problem, mid, params.respect_zones, pockets_known=True) is not None:
            lo = floor = max(floor, mid)
            continue
        res: _LoopResult | None = None
        if _partition_applies(params, backend) and mid < too_many_areas:
            listed, res = _partition_probe(problem, params, probe_clock, mid)
            if not listed:
                too_many_areas = mid  # a wider window only holds more areas
        if res is None:
            quick = (
                []
                if params.respect_zones
                else _tree_plans(problem, mid, params.seed + probes, time.monotonic() + budget / 3)
            )
            if quick:
                plan = min(quick, key=lambda a: verify.max_deviation(problem, a))
                hi = min(mid, verify.max_deviation(problem, plan))
                continue
            probe = _relaxed_search if _too_large(problem) else _cut_loop
            res = probe(problem, params, backend, probe_clock, mid, report, first_plan=True)
        if res.assignment is not None:
            plan = res.assignment
            hi = min(mid, verify.max_deviation(problem, plan))
        elif res.status is Status.INFEASIBLE:
            lo = floor = max(floor, mid)
        elif plan is None:
            hi = min(9.0, hi * 2)  # nothing found yet anywhere: look wider
        else:
            lo = mid
    why = ""
    if pocket is not None and floor == pocket_floor == pocket.floor:
        why = (
            f"{pocket.describe(problem)}; splitting ward {problem.unit_ids[pocket.gate]} into "
            "sub-ward units would allow a tighter balance"
        )
    return _BalanceSearch(plan, floor, probes, why)
