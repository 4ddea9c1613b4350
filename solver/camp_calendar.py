"""The camp calendar: each camp's date(s) within the window, at most ``teams`` camps on any day.

A small exact assignment (HiGHS through :mod:`solver.backends`): ``z[v][d] = 1`` when venue ``v``'s
camp runs on date ``d``; ``Σ_d z[v][d] = days[v]`` over the venue's open dates (camp days of the
window minus the venue's closed dates), ``Σ_v z[v][d] ≤ teams``. It minimises the total spread
``Σ_v (last[v] − first[v])`` (in camp days), so a camp of several days runs on consecutive camp
days whenever the window allows; the bound ``Σ_v (days[v] − 1)`` is what perfectly consecutive
camps would give. Neighbouring clusters are free to share a day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pulp

from solver.backends import Backend, make_backend
from solver.camps import Campaign, CampProblem
from solver.problem import Status, relative_gap


@dataclass(frozen=True)
class Schedule:
    """``dates[v]``: the dates of venue ``v``'s camp (empty for venues without a camp)."""

    status: Status
    dates: tuple[tuple[date, ...], ...] | None
    spread: float | None
    bound: float | None
    seconds: float
    explanation: str = ""

    @property
    def gap(self) -> float | None:
        return relative_gap(self.spread, self.bound)

    def describe(self) -> str:
        if self.dates is None or self.spread is None:
            return f"calendar {self.status.value} — {self.explanation}"
        camps = sum(1 for d in self.dates if d)
        runs = self.spread <= _runs_floor(self.dates) + 1e-9
        shape = (
            "every camp on consecutive camp days"
            if runs
            else f"camps not all consecutive: total spread {self.spread:,.0f} camp days"
        )
        if self.status is Status.OPTIMAL:
            return f"calendar optimal for {camps} camps: {shape}"
        gap = self.gap or 0.0
        return f"calendar feasible for {camps} camps (spread gap {gap * 100:.2f} %): {shape}"


def _runs_floor(dates: Sequence[Sequence[date]]) -> float:
    return float(sum(len(d) - 1 for d in dates if d))


def calendar_reason(problem: CampProblem, campaign: Campaign, days: Sequence[int]) -> str | None:
    """Why the camps cannot be fitted, found without solving (the counting conditions)."""
    window = campaign.camp_days()
    need, slots = sum(days), campaign.teams * len(window)
    if need > slots:
        return (
            f"the camps need {need} camp-days but {campaign.teams} team(s) × {len(window)} camp "
            f"days = {slots}: at least {math.ceil(need / campaign.teams)} camp days or "
            f"{math.ceil(need / max(1, len(window)))} teams are needed"
        )
    for v, d in enumerate(days):
        open_days = problem.open_days(v, campaign)
        if d > len(open_days):
            return (
                f"the camp at venue {problem.venue_ids[v]} needs {d} day(s) but the venue is open "
                f"on only {len(open_days)} camp day(s) of the window"
            )
    return None


def schedule_camps(
    problem: CampProblem,
    campaign: Campaign,
    days: Sequence[int],
    *,
    time_limit: float = 10.0,
    backend: Backend | None = None,
) -> Schedule:
    """Dates for every camp (``days[v]`` of them for venue ``v``), or the reason there are none."""
    backend = backend or make_backend("highs")
    reason = calendar_reason(problem, campaign, days)
    if reason:
        return Schedule(Status.INFEASIBLE, None, None, None, 0.0, reason)
    window = campaign.camp_days()
    camps = [v for v, d in enumerate(days) if d > 0]
    blocks = _consecutive(problem, campaign, days, camps, window, backend, time_limit)
    if blocks is not None:
        floor = float(sum(days[v] - 1 for v in camps))
        return Schedule(Status.OPTIMAL, blocks[0], floor, floor, blocks[1])
    return _spread(problem, campaign, days, camps, window, backend, time_limit)


def _consecutive(
    problem: CampProblem,
    campaign: Campaign,
    days: Sequence[int],
    camps: list[int],
    window: list[date],
    backend: Backend,
    time_limit: float,
) -> tuple[tuple[tuple[date, ...], ...], float] | None:
    """Every camp on a run of consecutive camp days (its venue open on all of them), the earliest
    runs preferred (spare days stay at the end for a mop-up); ``None`` if no such calendar is found."""
    lp = pulp.LpProblem("calendar_runs", pulp.LpMinimize)
    runs: dict[tuple[int, int], pulp.LpVariable] = {}
    for v in camps:
        closed = problem.venue_unavailable[v]
        for k in range(len(window) - days[v] + 1):
            if not any(window[k + j] in closed for j in range(days[v])):
                runs[v, k] = lp.add_variable(f"s_{v}_{k}", 0, 1, cat="Binary")
    for v in camps:
        mine = [var for (u, _k), var in runs.items() if u == v]
        if not mine:
            return None
        lp += pulp.lpSum(mine) == 1, f"run_{v}"
    for j in range(len(window)):
        today = [var for (v, k), var in runs.items() if k <= j < k + days[v]]
        if today:
            lp += pulp.lpSum(today) <= campaign.teams, f"teams_{j}"
    lp += pulp.lpSum(k * var for (_v, k), var in runs.items())
    res = backend.solve(lp, time_limit=time_limit / 2, gap=0.0)
    if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
        return None
    dates: list[tuple[date, ...]] = [() for _ in range(problem.n_venues)]
    for (v, k), var in runs.items():
        if res.values.get(var.name, 0.0) > 0.5:
            dates[v] = tuple(window[k : k + days[v]])
    return tuple(dates), res.seconds


def _spread(
    problem: CampProblem,
    campaign: Campaign,
    days: Sequence[int],
    camps: list[int],
    window: list[date],
    backend: Backend,
    time_limit: float,
) -> Schedule:
    """Camps on any open days, the total spread as small as possible."""
    index = {d: k for k, d in enumerate(window)}
    lp = pulp.LpProblem("calendar", pulp.LpMinimize)
    z = {
        (v, d): lp.add_variable(f"z_{v}_{index[d]}", 0, 1, cat="Binary")
        for v in camps
        for d in problem.open_days(v, campaign)
    }
    span = len(window)
    first = {v: lp.add_variable(f"first_{v}", 0, span) for v in camps}
    last = {v: lp.add_variable(f"last_{v}", 0, span) for v in camps}
    for v in camps:
        mine = [(d, var) for (u, d), var in z.items() if u == v]
        lp += pulp.lpSum(var for _, var in mine) == days[v], f"days_{v}"
        for d, var in mine:
            lp += last[v] >= index[d] * var, f"last_{v}_{index[d]}"
            lp += first[v] <= index[d] + span * (1 - var), f"first_{v}_{index[d]}"
    for d in window:
        today = [var for (_, dd), var in z.items() if dd == d]
        if today:
            lp += pulp.lpSum(today) <= campaign.teams, f"teams_{index[d]}"
    lp += pulp.lpSum(last[v] - first[v] for v in camps)
    res = backend.solve(lp, time_limit=time_limit, gap=0.0)
    floor = float(sum(days[v] - 1 for v in camps))
    if res.status == Status.INFEASIBLE:
        why = (
            "the venues' closed days leave too few team slots on the days they are open; "
            "free some venues on more days, add a team, or lengthen the window"
        )
        return Schedule(Status.INFEASIBLE, None, None, None, res.seconds, why)
    if res.status == Status.NO_SOLUTION:
        return Schedule(
            Status.NO_SOLUTION, None, None, None, res.seconds, "no calendar found in time"
        )
    dates = [
        tuple(
            sorted(d for (u, d), var in z.items() if u == v and res.values.get(var.name, 0) > 0.5)
        )
        if v in first
        else ()
        for v in range(problem.n_venues)
    ]
    spread = float(sum(index[ds[-1]] - index[ds[0]] for ds in dates if ds))
    bound = max(floor, res.bound if res.bound is not None else floor)
    status = (
        Status.OPTIMAL
        if spread <= bound + 1e-6 or res.status == Status.OPTIMAL
        else Status.FEASIBLE
    )
    return Schedule(status, tuple(dates), spread, min(bound, spread), res.seconds)
