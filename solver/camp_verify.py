"""Independent check of a camp plan and its calendar: coverage, one connected cluster per camp with
its venue's ward inside, capacity, and the calendar (camp days, venue closures, teams per day).

It shares no code with the model or the search (:mod:`solver.camps`), only the problem's data."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence
from datetime import date

from solver.camps import Campaign, CampProblem
from solver.verify import Violation

#: Relative slack on capacities, so that a camp exactly at capacity is not refused for rounding.
CAP_EPS = 1e-7


def _connected(units: set[int], nb: list[set[int]]) -> bool:
    start = next(iter(units))
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for w in nb[u] & units:
            if w not in seen:
                seen.add(w)
                queue.append(w)
    return len(seen) == len(units)


def check_camp_plan(
    problem: CampProblem,
    campaign: Campaign,
    assignment: Sequence[int],
    dates: Sequence[Sequence[date]] | None,
) -> list[Violation]:
    """Every rule the plan (and, when given, its ``dates[v]`` per venue) breaks; empty when valid."""
    n, m = problem.n_units, problem.n_venues
    if len(assignment) != n:
        return [Violation("coverage", f"{len(assignment)} assignments for {n} wards")]
    bad = [problem.unit_ids[i] for i, v in enumerate(assignment) if not 0 <= v < m]
    if bad:
        return [Violation("coverage", f"ward(s) {', '.join(bad)} have no valid venue")]
    nb: list[set[int]] = [set() for _ in range(n)]
    for a, b in problem.edges:
        nb[a].add(b)
        nb[b].add(a)
    members: dict[int, set[int]] = {}
    for i, v in enumerate(assignment):
        members.setdefault(v, set()).add(i)
    out: list[Violation] = []
    for v, units in sorted(members.items()):
        vid = problem.venue_ids[v]
        if problem.venue_unit[v] not in units:
            out.append(Violation("venue", f"venue {vid} stands outside the wards it serves", vid))
        if not _connected(units, nb):
            out.append(Violation("contiguity", f"the cluster of venue {vid} is in pieces", vid))
        if dates is not None:
            load = math.fsum(problem.registrants[i] for i in units)
            cap = problem.venue_capacity[v] or campaign.per_camp_per_day
            room = cap * len(dates[v])
            if load > room * (1 + CAP_EPS):
                out.append(
                    Violation(
                        "capacity",
                        f"venue {vid}'s camp expects {load:,.0f} registrants but {len(dates[v])} "
                        f"day(s) × {cap:,.0f} per day hold {room:,.0f}",
                        vid,
                    )
                )
    if dates is not None:
        out += _check_calendar(problem, campaign, set(members), dates)
    return out


def _check_calendar(
    problem: CampProblem, campaign: Campaign, open_venues: set[int], dates: Sequence[Sequence[date]]
) -> list[Violation]:
    out: list[Violation] = []
    if len(dates) != problem.n_venues:
        return [Violation("calendar", f"{len(dates)} date lists for {problem.n_venues} venues")]
    per_day: Counter[date] = Counter()
    for v, ds in enumerate(dates):
        vid = problem.venue_ids[v]
        if v not in open_venues and ds:
            out.append(Violation("calendar", f"venue {vid} has dates but serves no ward", vid))
        if v in open_venues and not ds:
            out.append(Violation("calendar", f"venue {vid}'s camp has no date", vid))
        if len(set(ds)) != len(ds):
            out.append(Violation("calendar", f"venue {vid}'s camp repeats a date", vid))
        if len(ds) > campaign.max_camp_days:
            out.append(
                Violation(
                    "calendar",
                    f"venue {vid}'s camp runs {len(ds)} days, more than {campaign.max_camp_days}",
                    vid,
                )
            )
        for d in ds:
            per_day[d] += 1
            if not campaign.start <= d <= campaign.end:
                out.append(Violation("calendar", f"venue {vid}: {d} is outside the window", vid))
            elif d.weekday() in campaign.no_camp_weekdays or d in campaign.holidays:
                out.append(Violation("calendar", f"venue {vid}: no camps on {d:%a %d %b %Y}", vid))
            if d in problem.venue_unavailable[v]:
                out.append(Violation("calendar", f"venue {vid} is closed on {d}", vid))
    for d, count in sorted(per_day.items()):
        if count > campaign.teams:
            out.append(
                Violation("teams", f"{count} camps on {d} but only {campaign.teams} team(s)")
            )
    return out
