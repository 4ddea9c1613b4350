"""The balance–distance frontier: what each balance costs in distance, proved point by point.

A frontier is a list of points from the tightest balance a contiguous plan reaches (*auto*'s
answer) to loose ones (by default ±5 %, ±10 %, ±15 %), each with the nearest-home plan's objective
(poor households × km from home), a lower bound and the gap between them, all computed in one
call within one time limit. The points share their work, in both directions and honestly:

- **plans go looser**: a plan within ±t % is within every looser tolerance too, so the best plan of
  the tighter points is the start of each looser solve, and a looser point whose own solve ends
  worse keeps that plan (objectives never rise as the balance loosens);
- **bounds go tighter**: every plan within ±t % is a plan at any looser tolerance too, so a lower
  bound proved at a looser tolerance bounds the tighter points' plans as well; each point keeps the
  largest bound of itself and the points looser than it.

**The ``balanced`` choice** (:func:`balanced_index`): the tightest point whose objective is within
:data:`BALANCED_SAVING` (2 %) of the loosest point's — loosening the balance further would save
at most 2 % of the distance. When even the tightest point is that close, it is chosen.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from solver import verify
from solver.backends import Backend, make_backend
from solver.params import SolveParams
from solver.problem import Problem, Progress, Solution, Status, relative_gap
from solver.solve import precheck, solve

#: The loose points of a frontier, after the tightest: ±5 %, ±10 %, ±15 %.
DEFAULT_TOLERANCES: tuple[float, ...] = (0.05, 0.10, 0.15)
#: ``balanced``: the tightest point within this share of the loosest point's objective.
BALANCED_SAVING = 0.02
#: The tightest point's share of the time, in units of one loose point's share (its bisection
#: probes for the balance, then solves the distance as the others do). One share: at the narrow
#: windows the search finds, the distance solve rarely improves the search's plan, while the loose
#: points gain from the time (2026-12-05, the 120 s frontiers of BENCHMARKS.md, idle, against
#: 2 shares: 6 of the 9 loose points within 1 % against 2, Bangalore's ±5 % at 40 COs solved
#: where 2 shares found no plan; the tightest point's gap 12.5 % against 12.4 % on Lucknow with
#: 11 COs, 14.9 % against 15.2 % and 2.4 % against 13.3 % on Bangalore with 20 and 40 COs).
TIGHTEST_WEIGHT = 1.0

Choice = Literal["requested", "balanced"]
#: solve(problem, params, backend, on_progress, start) → a solution; :func:`solver.solve.solve`.
SolveFn = Callable[..., Solution]


@dataclass(frozen=True)
class FrontierRequest:
    """Which points to compute (``tolerances``: the loose ones; the tightest always comes first) and
    which plan is the answer: the one at the requested tolerance (*auto*: the tightest) or the
    ``balanced`` one."""

    tolerances: tuple[float, ...] = DEFAULT_TOLERANCES
    choose: Choice = "requested"

    def __post_init__(self) -> None:
        if not self.tolerances or any(not 0 < t < 10 for t in self.tolerances):
            raise ValueError(f"frontier tolerances {self.tolerances!r} must be fractions > 0")


@dataclass(frozen=True)
class Point:
    """One point: the answer at ``tolerance`` after the frontier's reuse of plans and bounds.
    ``plan_from``: the tolerance the plan was solved at (a tighter point's, when reused);
    ``bound_from``: the tolerance whose solve proved the bound."""

    label: str
    tolerance: float
    solution: Solution
    plan_from: float | None
    bound_from: float | None
    check_passed: bool
    max_deviation: float | None

    @property
    def objective(self) -> float | None:
        return self.solution.objective

    def row(self) -> dict[str, object]:
        """The point as a table row (``report.json``, the API)."""
        s = self.solution
        return {
            "label": self.label,
            "tolerance": self.tolerance,
            "status": s.status.value,
            "objective": s.objective,
            "bound": s.bound,
            "gap": s.gap,
            "max_deviation": self.max_deviation,
            "balance_floor": s.balance_floor,
            "seconds": round(s.seconds, 3),
            "plan_from_tolerance": self.plan_from,
            "bound_from_tolerance": self.bound_from,
            "check_passed": self.check_passed,
        }


@dataclass(frozen=True)
class Frontier:
    """The points, tightest first; ``balanced`` and ``chosen`` index into them (``None``: none)."""

    points: tuple[Point, ...]
    balanced: int | None
    chosen: int | None
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def solution(self) -> Solution:
        """The chosen point's answer (the first point's when none has a plan), its seconds those
        of the whole frontier (the time the answer took)."""
        chosen = self.points[0 if self.chosen is None else self.chosen].solution
        return replace(chosen, seconds=self.seconds, warnings=(*chosen.warnings, *self.notes))

    def table(self) -> dict[str, object]:
        return {
            "points": [p.row() for p in self.points],
            "balanced": None if self.balanced is None else self.points[self.balanced].label,
            "chosen": None if self.chosen is None else self.points[self.chosen].label,
            "rule": balanced_rule(),
            "objective_unit": "poor households × km from home",
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


def balanced_rule() -> str:
    return (
        f"balanced: the tightest point whose objective is within {BALANCED_SAVING * 100:g} % of "
        "the loosest point's (loosening further saves at most that much distance)"
    )


def balanced_index(objectives: Sequence[float | None]) -> int | None:
    """The ``balanced`` point of objectives listed tightest first (``None``: no plan there)."""
    known = [(i, v) for i, v in enumerate(objectives) if v is not None]
    if not known:
        return None
    loosest = known[-1][1]
    return next(i for i, v in known if v <= loosest * (1 + BALANCED_SAVING) + 1e-9)


def label_of(tolerance: float) -> str:
    return f"±{tolerance * 100:g} %"


@dataclass
class _Points:
    """The raw answers, tightest first, as the solves return them."""

    tolerances: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    solutions: list[Solution] = field(default_factory=list)

    def add(self, label: str, sol: Solution) -> None:
        self.tolerances.append(sol.tolerance if sol.tolerance is not None else math.inf)
        self.labels.append(label)
        self.solutions.append(sol)


def _ruled_out(tolerance: float, why: str, backend: Backend) -> Solution:
    """The answer at a tolerance :func:`solver.solve.precheck` rules out, as a solve gives it."""
    return Solution(
        status=Status.INFEASIBLE,
        assignment=None,
        objective=None,
        bound=None,
        tolerance=tolerance,
        solver=backend.name,
        solver_version=backend.version,
        seconds=0.0,
        explanation=why,
    )


def compute(
    problem: Problem,
    params: SolveParams,
    request: FrontierRequest = FrontierRequest(),
    *,
    backend: Backend | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    solve_fn: SolveFn = solve,
    clock: Callable[[], float] = time.monotonic,
) -> Frontier:
    """The frontier within ``params.time_limit`` (``params.tolerance``: the requested one, added as
    a point when it is not ``None`` and not among the request's tolerances). The tightest point
    gets :data:`TIGHTEST_WEIGHT` shares of the time, each loose point one share of what is left;
    a loose point that :func:`~solver.solve.precheck` rules out (below a pocket's balance floor, a
    ward heavier than a share) is answered infeasible at once and takes no share."""
    t0 = clock()
    backend = backend or make_backend("highs", threads=params.threads, seed=params.seed)
    loose = sorted(set(request.tolerances) | _requested(params))
    deadline = t0 + params.time_limit
    raw = _Points()
    notes: list[str] = []

    def run(label: str, tolerance: float | None, share: float, start: list[int] | None) -> None:
        budget = max(0.5, (deadline - clock()) * share)
        sub = replace(params, tolerance=tolerance, time_limit=budget)
        raw.add(label, solve_fn(problem, sub, backend, _tagged(on_progress, label), start=start))

    # Points that no plan can reach (a ward too heavy, a pocket's floor, zones) are answered
    # without a solve and take no share of the time.
    ruled_out = {t: why for t in loose if (why := precheck(problem, t, params.respect_zones))}
    to_solve = len(loose) - len(ruled_out)
    run("tightest", None, TIGHTEST_WEIGHT / (TIGHTEST_WEIGHT + to_solve), None)
    for t in loose:  # one below the tightest found is proved infeasible or solved
        if t in ruled_out:
            raw.add(label_of(t), _ruled_out(t, ruled_out[t], backend))
            continue
        run(label_of(t), t, 1.0 / to_solve, _best_plan(raw.solutions, t))
        to_solve -= 1
    points = _reuse(problem, params, raw)
    first = next((p for p in points if p.objective is not None), None)
    if first is not None and first.label != "tightest":
        notes.append(
            f"the search for the tightest balance ended at ±{_tightest_deviation(points)} % "
            f"within its time; {first.label} found a tighter plan"
        )
    objectives = [p.objective for p in points]
    balanced = balanced_index(objectives)
    chosen = balanced if request.choose == "balanced" else _requested_index(points, params)
    return Frontier(tuple(points), balanced, chosen, clock() - t0, tuple(notes))


def _tightest_deviation(points: Sequence[Point]) -> str:
    dev = next((p.max_deviation for p in points if p.label == "tightest"), None)
    return "?" if dev is None else f"{dev * 100:.2f}"


def _requested(params: SolveParams) -> set[float]:
    return set() if params.tolerance is None else {params.tolerance}


def _requested_index(points: Sequence[Point], params: SolveParams) -> int | None:
    if params.tolerance is None:
        return 0
    return next((i for i, p in enumerate(points) if p.tolerance == params.tolerance), 0)


def _tagged(
    on_progress: Callable[[Progress], None] | None, label: str
) -> Callable[[Progress], None] | None:
    if on_progress is None:
        return None
    report = on_progress
    return lambda p: report(replace(p, phase=f"frontier {label}: {p.phase}"))


def _best_plan(solutions: Sequence[Solution], tolerance: float) -> list[int] | None:
    """The best plan so far solved at ``tolerance`` or tighter (so valid at ``tolerance``)."""
    have = [
        s
        for s in solutions
        if s.assignment is not None
        and s.objective is not None
        and s.tolerance is not None
        and s.tolerance <= tolerance + 1e-12
    ]
    if not have:
        return None
    best = min(have, key=lambda s: s.objective or 0.0)
    return list(best.assignment or ())


def _reuse(problem: Problem, params: SolveParams, raw: _Points) -> list[Point]:
    """Plans carried to looser points, bounds carried to tighter ones; each point re-checked.
    The points are ordered by tolerance first (a point without one, first)."""
    order = sorted(range(len(raw.solutions)), key=lambda i: _key(raw.solutions[i]))
    raw = _Points(
        [raw.tolerances[i] for i in order],
        [raw.labels[i] for i in order],
        [raw.solutions[i] for i in order],
    )
    n = len(raw.solutions)
    sols = list(raw.solutions)
    plan_from: list[float | None] = [s.tolerance if s.has_plan else None for s in sols]
    for i in range(1, n):
        prev = sols[i - 1]
        cur = sols[i]
        if prev.objective is not None and (cur.objective is None or prev.objective < cur.objective):
            why = f"the plan found at {_label(prev)}; this solve found none better"
            sols[i] = replace(
                cur, assignment=prev.assignment, objective=prev.objective, explanation=why
            )
            plan_from[i] = plan_from[i - 1]
    bound_from: list[float | None] = [
        s.tolerance if s.bound is not None else None for s in raw.solutions
    ]
    for i in range(n - 2, -1, -1):
        nxt, cur = sols[i + 1], sols[i]
        if cur.status is Status.INFEASIBLE:
            continue
        if nxt.bound is not None and (cur.bound is None or nxt.bound > cur.bound):
            sols[i] = replace(cur, bound=nxt.bound)
            bound_from[i] = bound_from[i + 1]
    return [
        _point(problem, params, raw.labels[i], sols[i], plan_from[i], bound_from[i])
        for i in range(n)
    ]


def _label(sol: Solution) -> str:
    return "no tolerance" if sol.tolerance is None else label_of(sol.tolerance)


def _key(sol: Solution) -> float:
    return -1.0 if sol.tolerance is None else sol.tolerance


def _point(
    problem: Problem,
    params: SolveParams,
    label: str,
    sol: Solution,
    plan_from: float | None,
    bound_from: float | None,
) -> Point:
    """The point with its status re-derived from its (possibly reused) plan and bound."""
    sol = replace(sol, status=_status(sol, params.gap))
    if sol.assignment is None or sol.tolerance is None:
        return Point(label, sol.tolerance or math.nan, sol, None, bound_from, False, None)
    violations = verify.check_plan(
        problem, sol.assignment, sol.tolerance, respect_zones=params.respect_zones
    )
    deviation = verify.max_deviation(problem, sol.assignment)
    return Point(label, sol.tolerance, sol, plan_from, bound_from, not violations, deviation)


def _status(sol: Solution, gap: float) -> Status:
    if sol.objective is None or sol.status is Status.INFEASIBLE:
        return sol.status
    g = relative_gap(sol.objective, sol.bound)
    return Status.OPTIMAL if g is not None and g <= gap else Status.FEASIBLE
