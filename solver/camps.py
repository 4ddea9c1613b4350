"""Registration camps: contiguous ward clusters, one chosen venue each, the fewest camps that fit.

A labour department's campaign order (``seeds/003``) holds "one camp for one or more wards, at a
suitable place, on a date and time fixed in advance". This is the CO problem with chosen sites:

* ``x[i][v] = 1``: ward ``i`` comes to the camp at venue ``v``; ``y[v] = 1``: venue ``v`` holds a
  camp; ``t[v]``: the integer number of days that camp runs.
* Each ward goes to exactly one open venue: ``Σ_v x[i][v] = 1``, ``x[i][v] ≤ y[v]``.
* **The venue rule**: a venue serves a cluster only if the ward it stands in (for a venue just outside
  the wards: the nearest ward) belongs to that cluster: ``x[h(v)][v] = y[v]``. So every venue lies
  inside its own cluster, and its ward is the root from which the cluster must be connected.
* Capacity: ``Σ_i r[i] x[i][v] ≤ cap[v] · t[v]``, ``t[v] ≤ T[v] · y[v]`` where ``T[v]`` is the fewer
  of the longest camp allowed and the venue's available days in the window; and the window holds
  them all: ``Σ_v t[v] ≤ teams × camp days``.
* Contiguity is exact but lazy, as in the CO model (:mod:`solver.model`): whenever a solution has a
  cluster in pieces, every ward ``a`` of a piece without the venue's ward gets the rooted separator row
  ``x[a][v] ≤ Σ_{s ∈ S} x[s][v]`` (``S`` a minimal separator of ``a``'s piece and ``h(v)``), which
  every connected cluster containing ``h(v)`` satisfies. Each round's bound is a valid bound.

The number of camps is given, or the fewest: first ``min Σ y`` (with the contiguity cuts), then, with
that count fixed, ``min Σ r[i] · km(i, v) · x[i][v]`` (lexicographic). Every answer says what was
proved. The model is :mod:`solver.camp_model`, the search :mod:`solver.camp_solve`. Pure: no
geometry, no files; distances are computed by the caller.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from solver.graph import components
from solver.problem import Status, relative_gap

EPS = 1e-6


@dataclass(frozen=True)
class Campaign:
    """The window and the teams. ``no_camp_weekdays``: 0 = Monday … 6 = Sunday."""

    start: date
    end: date
    teams: int
    per_camp_per_day: float
    no_camp_weekdays: frozenset[int] = frozenset({6})
    holidays: frozenset[date] = frozenset()
    max_camp_days: int = 3

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the campaign ends ({self.end}) before it starts ({self.start})")
        if self.teams < 1:
            raise ValueError(f"teams {self.teams!r} must be at least 1")
        if not (math.isfinite(self.per_camp_per_day) and self.per_camp_per_day > 0):
            raise ValueError(
                f"registrations per camp per day {self.per_camp_per_day!r} must be > 0"
            )
        if self.max_camp_days < 1:
            raise ValueError(f"the longest camp {self.max_camp_days!r} must be at least 1 day")
        if any(not 0 <= d <= 6 for d in self.no_camp_weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")

    def camp_days(self) -> list[date]:
        """Every date in the window on which camps may run."""
        out = []
        day = self.start
        while day <= self.end:
            if day.weekday() not in self.no_camp_weekdays and day not in self.holidays:
                out.append(day)
            day += timedelta(days=1)
        return out


@dataclass(frozen=True)
class CampProblem:
    """Wards (``registrants[i]`` expected at the camp), their adjacency, and candidate venues.

    ``venue_unit[v]`` is the position of the ward venue ``v`` stands in; ``distance_km[i][v]`` the
    distance from ward ``i`` to venue ``v``; ``venue_capacity[v]`` the registrations per day the venue
    can take (``None``: the campaign's per-camp figure); ``venue_unavailable[v]`` its closed dates."""

    unit_ids: tuple[str, ...]
    registrants: tuple[float, ...]
    edges: tuple[tuple[int, int], ...]
    venue_ids: tuple[str, ...]
    venue_unit: tuple[int, ...]
    distance_km: tuple[tuple[float, ...], ...]
    venue_capacity: tuple[float | None, ...]
    venue_unavailable: tuple[frozenset[date], ...]

    def __post_init__(self) -> None:
        n, m = len(self.unit_ids), len(self.venue_ids)
        if n == 0:
            raise ValueError("a camp plan needs at least one ward")
        if len(set(self.unit_ids)) != n or len(set(self.venue_ids)) != m:
            raise ValueError("ward ids and venue ids must be unique")
        if len(self.registrants) != n or any(
            not math.isfinite(r) or r < 0 for r in self.registrants
        ):
            raise ValueError(f"registrants must be {n} finite numbers ≥ 0")
        if len(self.venue_unit) != m or any(not 0 <= u < n for u in self.venue_unit):
            raise ValueError(f"venue_unit must be {m} ward positions")
        if len(self.distance_km) != n or any(len(r) != m for r in self.distance_km):
            raise ValueError(f"distance_km must be {n} rows of {m} distances")
        if any(not math.isfinite(d) or d < 0 for r in self.distance_km for d in r):
            raise ValueError("distances must be finite and ≥ 0")
        if len(self.venue_capacity) != m or len(self.venue_unavailable) != m:
            raise ValueError(f"venue_capacity and venue_unavailable need {m} entries each")
        if any(c is not None and not (math.isfinite(c) and c > 0) for c in self.venue_capacity):
            raise ValueError("a venue's capacity per day must be > 0")
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueError(f"edge ({a}, {b}) does not join two different wards")

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_venues(self) -> int:
        return len(self.venue_ids)

    def neighbours(self) -> list[list[int]]:
        nb: list[set[int]] = [set() for _ in range(self.n_units)]
        for a, b in self.edges:
            nb[a].add(b)
            nb[b].add(a)
        return [sorted(s) for s in nb]

    def capacity(self, v: int, campaign: Campaign) -> float:
        cap = self.venue_capacity[v]
        return campaign.per_camp_per_day if cap is None else cap

    def open_days(self, v: int, campaign: Campaign) -> list[date]:
        return [d for d in campaign.camp_days() if d not in self.venue_unavailable[v]]

    def longest_camp(self, v: int, campaign: Campaign) -> int:
        """``T[v]``: the most days a camp at venue ``v`` can run."""
        return min(campaign.max_camp_days, len(self.open_days(v, campaign)))


@dataclass(frozen=True)
class CampParams:
    camps: int | None = None  # None: the fewest that fit
    time_limit: float = 60.0
    gap: float = 1e-3
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise ValueError(f"time limit {self.time_limit!r} must be a positive number of seconds")
        if self.camps is not None and self.camps < 1:
            raise ValueError(f"camps {self.camps!r} must be at least 1")


@dataclass(frozen=True)
class CampSolution:
    """``assignment[i]``: the venue position of ward ``i``'s camp; ``days[v]``: days of venue ``v``'s
    camp (0 when closed). ``count_proved``: the number of camps is proved the fewest (or was given)."""

    status: Status
    assignment: tuple[int, ...] | None
    days: tuple[int, ...] | None
    objective: float | None
    bound: float | None
    camps: int | None
    camps_bound: int | None
    count_proved: bool
    solver: str
    solver_version: str
    seconds: float
    explanation: str = ""
    iterations: int = 0
    cuts: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    @property
    def has_plan(self) -> bool:
        return self.assignment is not None

    def open_venues(self) -> list[int]:
        return sorted(set(self.assignment or ()))

    def describe(self) -> str:
        if self.status is Status.INFEASIBLE:
            return f"infeasible — {self.explanation}"
        if self.status is Status.NO_SOLUTION:
            return f"no plan found in time — {self.explanation}"
        count = f"{self.camps} camps" + (
            " (the fewest, proved)"
            if self.count_proved and self.camps_bound is not None
            else ""
            if self.count_proved
            else " (fewest not proved)"
            if self.camps_bound is None
            else f" (fewest not proved; at least {self.camps_bound})"
        )
        dist = f"objective {_num(self.objective)} registrant-km, bound {_num(self.bound)}"
        if self.status is Status.OPTIMAL:
            gap = self.gap or 0.0
            within = f" within {gap * 100:.2f} %" if gap >= 5e-5 else ""
            return f"{count}; optimal{within} ({dist})"
        gap_txt = "unknown" if self.gap is None else f"{self.gap * 100:.2f} %"
        return f"{count}; feasible, gap {gap_txt} ({dist})"


def _num(x: float | None) -> str:
    return "unknown" if x is None else f"{x:,.1f}"


def camp_days_needed(problem: CampProblem, campaign: Campaign) -> int:
    """A lower bound on the camp-days any plan needs: each ward's registrants at the largest
    capacity any venue offers (a camp-day never handles more)."""
    cap = max(problem.capacity(v, campaign) for v in range(problem.n_venues))
    return math.ceil(math.fsum(problem.registrants) / cap - EPS)


def fewest_camps(problem: CampProblem, campaign: Campaign) -> int:
    """A lower bound on the number of camps: all registrants over the roomiest camp's room."""
    room = max(
        problem.capacity(v, campaign) * problem.longest_camp(v, campaign)
        for v in range(problem.n_venues)
    )
    return max(1, math.ceil(math.fsum(problem.registrants) / room - EPS)) if room > 0 else 1


def precheck(problem: CampProblem, campaign: Campaign, camps: int | None = None) -> str | None:
    """A reason no camp plan can exist, found without solving, with what would be needed."""
    n, m = problem.n_units, problem.n_venues
    if m == 0:
        return "no candidate venue: give at least one venue"
    days = campaign.camp_days()
    if not days:
        return f"the window {campaign.start}–{campaign.end} has no day on which camps may run"
    pieces = components(range(n), problem.neighbours())
    if len(pieces) > 1:
        return (
            f"the wards form {len(pieces)} separate groups with no neighbour between them; "
            "link islands (adjacency) before planning"
        )
    need = camp_days_needed(problem, campaign)
    slots = campaign.teams * len(days)
    if need > slots:
        return (
            f"the expected {math.fsum(problem.registrants):,.0f} registrants need at least {need} "
            f"camp-days, but {campaign.teams} team(s) × {len(days)} camp days = {slots}: "
            f"the window needs at least {math.ceil(need / campaign.teams)} camp days with "
            f"{campaign.teams} team(s), or at least {math.ceil(need / len(days))} teams in these "
            f"{len(days)} days"
        )
    most = [problem.capacity(v, campaign) * problem.longest_camp(v, campaign) for v in range(m)]
    biggest = max(most)
    if biggest <= 0:
        return "no venue is open on any camp day of the window"
    heavy = max(range(n), key=lambda i: problem.registrants[i])
    if problem.registrants[heavy] > biggest * (1 + EPS):
        return (
            f"ward {problem.unit_ids[heavy]} alone expects {problem.registrants[heavy]:,.0f} "
            f"registrants, more than any camp can take ({biggest:,.0f}: capacity per day × at most "
            f"{campaign.max_camp_days} day(s)); allow longer camps or more registrations per day"
        )
    fewest = math.ceil(math.fsum(problem.registrants) / biggest - EPS)
    usable = sum(1 for x in most if x > 0)
    if fewest > usable:
        return (
            f"at least {fewest} camps are needed but only {usable} venues can hold one: "
            f"add at least {fewest - usable} venues, or allow longer camps"
        )
    covered = {i for members in reachable(problem, campaign) for i in members}
    stranded = [problem.unit_ids[i] for i in range(n) if i not in covered]
    if stranded:
        return (
            f"ward(s) {', '.join(stranded[:10])} cannot share a camp with any venue: every path "
            "from a venue's ward to them carries more registrants than one camp can take; "
            "add a venue there or allow longer camps"
        )
    if camps is not None and camps > usable:
        return f"{camps} camps asked for but only {usable} venues can hold one"
    if camps is not None and camps > n:
        return f"{camps} camps asked for but there are only {n} wards"
    return None


def cluster_days(problem: CampProblem, campaign: Campaign, assignment: Sequence[int]) -> list[int]:
    """The days each venue's camp needs for ``assignment`` (0 for venues without a camp)."""
    loads = [0.0] * problem.n_venues
    for i, v in enumerate(assignment):
        loads[v] += problem.registrants[i]
    return [
        max(1, math.ceil(load / problem.capacity(v, campaign) - EPS)) if v in set(assignment) else 0
        for v, load in enumerate(loads)
    ]


def all_rooted(
    problem: CampProblem, assignment: Sequence[int], nb: Sequence[Sequence[int]]
) -> bool:
    for v in set(assignment):
        units = [i for i, a in enumerate(assignment) if a == v]
        pieces = components(units, nb)
        if len(pieces) != 1 or problem.venue_unit[v] not in pieces[0]:
            return False
    return True


def reachable(problem: CampProblem, campaign: Campaign) -> list[list[int]]:
    """``reach[v]``: the wards that can share a camp with venue ``v``'s ward. A cluster is connected
    and holds the venue's ward, so a path of its wards joins the two, and the path's registrants
    are at most the camp's room (capacity × longest camp): wards beyond that, by the lightest
    such path (Dijkstra on registrants), never join ``v``. Dropping them keeps the model exact."""
    nb = problem.neighbours()
    out: list[list[int]] = []
    for v in range(problem.n_venues):
        room = problem.capacity(v, campaign) * problem.longest_camp(v, campaign) * (1 + EPS)
        root = problem.venue_unit[v]
        best = {root: problem.registrants[root]}
        heap = [(best[root], root)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > best.get(u, math.inf) or d > room:
                continue
            for w in nb[u]:
                nd = d + problem.registrants[w]
                if nd <= room and nd < best.get(w, math.inf):
                    best[w] = nd
                    heapq.heappush(heap, (nd, w))
        out.append(sorted(u for u, d in best.items() if d <= room))
    return out
