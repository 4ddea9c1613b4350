"""The camp search: the fewest camps (when not given), then the smallest registrant-km, each by
the cut loop over :class:`solver.camp_model.CampModel` (solve; cut off clusters in pieces or cut
off from their venue; solve again), started and repaired by :mod:`solver.camp_heuristic`."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from solver import camp_heuristic
from solver.backends import Backend, make_backend
from solver.camp_model import CampModel
from solver.camps import (
    Campaign,
    CampParams,
    CampProblem,
    CampSolution,
    all_rooted,
    cluster_days,
    fewest_camps,
    precheck,
    reachable,
)
from solver.problem import Status, relative_gap

#: Share of the time limit for finding the fewest camps (when the count is not given).
COUNT_SHARE = 0.3
#: Randomised sequential growth for a plan with few camps: at most this many tries, this share of the
#: time limit. On Lucknow (floor 17 camps) 200 tries took 5 s and gave 19 camps; plain growth 21.
GROW_TRIES = 200
GROW_SHARE = 0.1
#: A round of the cut loop gets at most this share of its stage's time before cuts are added.
ROUND_SHARE = 0.25


class _Incumbent:
    """The best valid plan of one stage (rooted, contiguous, fits the capacities and the window)."""

    def __init__(self, problem: CampProblem, campaign: Campaign, count: bool, fixed: int | None):
        self.problem, self.campaign = problem, campaign
        self.count, self.fixed = count, fixed
        self.nb = problem.neighbours()
        self.slots = campaign.teams * len(campaign.camp_days())
        self.longest = [problem.longest_camp(v, campaign) for v in range(problem.n_venues)]
        self.plan: list[int] | None = None
        self.value = math.inf

    def value_of(self, a: Sequence[int]) -> float:
        if self.count:
            return float(len(set(a)))
        p = self.problem
        return math.fsum(p.registrants[i] * p.distance_km[i][v] for i, v in enumerate(a))

    def valid(self, a: Sequence[int]) -> bool:
        if self.fixed is not None and len(set(a)) != self.fixed:
            return False
        days = cluster_days(self.problem, self.campaign, a)
        if any(d > self.longest[v] for v, d in enumerate(days)) or sum(days) > self.slots:
            return False
        return all_rooted(self.problem, a, self.nb)

    def offer(self, a: Sequence[int] | None) -> None:
        """Keep ``a`` if valid and better; in the distance stage, its local improvement too."""
        if a is None or not self.valid(a):
            return
        candidates = [list(a)]
        if not self.count:
            candidates.append(camp_heuristic.improve(self.problem, self.campaign, a))
        for cand in candidates:
            val = self.value_of(cand)
            if val < self.value - 1e-9 and self.valid(cand):
                self.plan, self.value = cand, val


@dataclass
class _Stage:
    status: Status
    plan: list[int] | None
    value: float | None
    bound: float | None
    iterations: int = 0
    notes: list[str] = field(default_factory=list)


def _proved(value: float, bound: float | None, gap: float, integral: bool) -> bool:
    if bound is None or not math.isfinite(value) or not math.isfinite(bound):
        return False
    if integral:
        return value <= math.ceil(bound - 1e-6) + 1e-9
    return (relative_gap(value, bound) or 0.0) <= gap + 1e-12


class _Collector:
    """The solver's incumbents in one round: clusters all connected to their venue, or in pieces.
    Returning True stops the round at the first plan in pieces (it is cut off at once)."""

    def __init__(self, model: CampModel) -> None:
        self.model = model
        self.connected: list[list[int]] = []
        self.in_pieces: list[list[int]] = []

    def __call__(self, values: Mapping[str, float]) -> bool:
        a = self.model.assignment_from(values)
        rooted = all_rooted(self.model.problem, a, self.model.nb)
        (self.connected if rooted else self.in_pieces).append(a)
        return bool(self.in_pieces)


def _cut_loop(
    model: CampModel,
    best: _Incumbent,
    backend: Backend,
    deadline: float,
    gap: float,
    floor: float = -math.inf,
) -> _Stage:
    """Solve, cut off clusters in pieces (or cut off from their venue), solve again. ``floor``: a
    bound known beforehand."""
    bound = floor
    stage_limit = max(0.5, deadline - time.monotonic())
    iterations, final, infeasible = 0, False, False
    while deadline - time.monotonic() > 0.05:
        known = None if best.plan is None else best.value
        if known is not None and _proved(known, bound, gap, best.count):
            break
        iterations += 1
        left = deadline - time.monotonic()
        limit = left if final else min(left, max(1.0, stage_limit * ROUND_SHARE))
        warm = None
        if best.plan is not None:
            warm = model.start_values(
                best.plan, cluster_days(best.problem, best.campaign, best.plan)
            )
        collect = _Collector(model)
        res = backend.solve(
            model.lp,
            time_limit=limit,
            gap=gap,
            warm_start=warm,
            on_solution=None if final else collect,
        )
        for a in collect.connected:
            best.offer(a)
        if res.bound is not None and res.status != Status.INFEASIBLE:
            bound = max(bound, res.bound)
        if collect.in_pieces:
            model.add_cuts(collect.in_pieces[-1])
            best.offer(camp_heuristic.grow(best.problem, best.campaign, collect.in_pieces[-1]))
            continue
        if res.status == Status.INFEASIBLE:
            infeasible = best.plan is None
            break
        if res.status == Status.NO_SOLUTION:
            if final:
                break
            final = True
            continue
        a = model.assignment_from(res.values)
        if all_rooted(model.problem, a, model.nb):
            best.offer(a)
            if final or res.status == Status.OPTIMAL:
                break
            final = True
            continue
        model.add_cuts(a)
        best.offer(camp_heuristic.grow(best.problem, best.campaign, a))
    b = bound if bound > -math.inf else None
    if infeasible:
        return _Stage(Status.INFEASIBLE, None, None, None, iterations)
    if best.plan is None:
        return _Stage(Status.NO_SOLUTION, None, None, b, iterations)
    if b is not None:
        b = min(b, best.value)
    ok = _proved(best.value, b, gap, best.count)
    return _Stage(Status.OPTIMAL if ok else Status.FEASIBLE, best.plan, best.value, b, iterations)


def nearest_bound(problem: CampProblem, campaign: Campaign) -> float:
    """A bound known without solving: every ward at the nearest venue it can share a camp with."""
    reach = reachable(problem, campaign)
    usable = [v for v in range(problem.n_venues) if problem.longest_camp(v, campaign) > 0]
    nearest = [math.inf] * problem.n_units
    for v in usable:
        for i in reach[v]:
            nearest[i] = min(nearest[i], problem.distance_km[i][v])
    return math.fsum(r * d for r, d in zip(problem.registrants, nearest, strict=True))


def solve_camps(
    problem: CampProblem,
    campaign: Campaign,
    params: CampParams,
    backend: Backend | None = None,
) -> CampSolution:
    """The camp plan: the given number of camps or the fewest, then the nearest venues."""
    backend = backend or make_backend("highs", threads=params.threads, seed=params.seed)
    t0 = time.monotonic()
    deadline = t0 + params.time_limit

    def answer(
        stage: _Stage, camps_bound: int | None, count_proved: bool, why: str = ""
    ) -> CampSolution:
        plan = stage.plan
        return CampSolution(
            status=stage.status,
            assignment=None if plan is None else tuple(plan),
            days=None if plan is None else tuple(cluster_days(problem, campaign, plan)),
            objective=stage.value,
            bound=stage.bound,
            camps=None if plan is None else len(set(plan)),
            camps_bound=camps_bound,
            count_proved=count_proved,
            solver=backend.name,
            solver_version=backend.version,
            seconds=time.monotonic() - t0,
            explanation=why,
            iterations=stage.iterations,
            cuts=model.cuts if model is not None else 0,
            warnings=tuple(stage.notes),
        )

    model: CampModel | None = None
    reason = precheck(problem, campaign, params.camps)
    if reason:
        return answer(_Stage(Status.INFEASIBLE, None, None, None), None, False, reason)
    model = CampModel(problem, campaign)
    count, count_bound, count_proved = params.camps, params.camps, params.camps is not None
    start: list[int] | None = None
    if count is None:
        model.lp.setObjective(model.count)
        best = _Incumbent(problem, campaign, True, None)
        best.offer(camp_heuristic.grow(problem, campaign))
        heuristic_s = params.time_limit * GROW_SHARE
        for plan in camp_heuristic.fewest(
            problem,
            campaign,
            tries=GROW_TRIES,
            deadline=time.monotonic() + heuristic_s,
            seed=params.seed,
        ):
            best.offer(plan)
        floor = float(fewest_camps(problem, campaign))
        stage = _cut_loop(model, best, backend, t0 + params.time_limit * COUNT_SHARE, 0.0, floor)
        if stage.plan is None:
            why = (
                "no contiguous camp plan fits the window, the venues and their capacities "
                f"(proved{f' after {model.cuts} contiguity cuts' if model.cuts else ''})"
                if stage.status is Status.INFEASIBLE
                else "time ran out before any camp plan was found; allow more time"
            )
            return answer(stage, None, False, why)
        count = len(set(stage.plan))
        count_bound = None if stage.bound is None else math.ceil(stage.bound - 1e-6)
        count_proved = stage.status is Status.OPTIMAL
        start = stage.plan
    model.lp += model.count == count, "camps"
    model.lp.setObjective(model.distance)
    best = _Incumbent(problem, campaign, False, count)
    best.offer(start)
    if start is None:
        best.offer(camp_heuristic.grow(problem, campaign))
    stage = _cut_loop(model, best, backend, deadline, params.gap, nearest_bound(problem, campaign))
    why = ""
    if stage.status is Status.INFEASIBLE:
        why = f"no contiguous plan with {count} camps fits the window, the venues and their capacities"
    elif stage.status is Status.NO_SOLUTION:
        why = "time ran out before any camp plan was found; allow more time"
    return answer(stage, count_bound, count_proved, why)
