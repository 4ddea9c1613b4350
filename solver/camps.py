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
proved. Pure: no geometry, no files; distances are computed by the caller.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pulp

from solver import camp_heuristic
from solver.backends import Backend, make_backend
from solver.graph import components, minimal_separator
from solver.problem import Status, relative_gap

#: Share of the time limit for finding the fewest camps (when the count is not given).
COUNT_SHARE = 0.3
#: A round of the cut loop gets at most this share of its stage's time before cuts are added.
ROUND_SHARE = 0.25
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
    if camps is not None and camps > usable:
        return f"{camps} camps asked for but only {usable} venues can hold one"
    if camps is not None and camps > n:
        return f"{camps} camps asked for but there are only {n} wards"
    return None


# -- the model -------------------------------------------------------------------------------------


class CampModel:
    """The integer programme above, in PuLP, with its rooted separator cuts."""

    def __init__(self, problem: CampProblem, campaign: Campaign):
        p = problem
        self.problem = p
        self.nb = p.neighbours()
        n, m = p.n_units, p.n_venues
        self.lp = pulp.LpProblem("camps", pulp.LpMinimize)
        T = [p.longest_camp(v, campaign) for v in range(m)]
        self.usable = [v for v in range(m) if T[v] > 0]
        self.x: dict[tuple[int, int], pulp.LpVariable] = {
            (i, v): self.lp.add_variable(f"x_{i}_{v}", 0, 1, cat="Binary")
            for i in range(n)
            for v in self.usable
        }
        self.y = {v: self.lp.add_variable(f"y_{v}", 0, 1, cat="Binary") for v in self.usable}
        self.t = {v: self.lp.add_variable(f"t_{v}", 0, T[v], cat="Integer") for v in self.usable}
        self.cuts = 0
        self._keys: set[tuple[int, int, tuple[int, ...]]] = set()
        for i in range(n):
            self.lp += pulp.lpSum(self.x[i, v] for v in self.usable) == 1, f"one_{i}"
        for v in self.usable:
            for i in range(n):
                self.lp += self.x[i, v] <= self.y[v], f"open_{i}_{v}"
            self.lp += self.x[p.venue_unit[v], v] == self.y[v], f"root_{v}"
            load = pulp.lpSum(p.registrants[i] * self.x[i, v] for i in range(n))
            self.lp += load <= p.capacity(v, campaign) * self.t[v], f"cap_{v}"
            self.lp += self.t[v] <= T[v] * self.y[v], f"days_{v}"
            self.lp += self.t[v] >= self.y[v], f"oneday_{v}"
            for i in range(n):  # a ward other than the root needs a neighbour in its cluster
                if i != p.venue_unit[v] and self.nb[i]:
                    self.lp += (
                        self.x[i, v] <= pulp.lpSum(self.x[u, v] for u in self.nb[i]),
                        f"nb_{i}_{v}",
                    )
        slots = campaign.teams * len(campaign.camp_days())
        self.lp += pulp.lpSum(self.t.values()) <= slots, "window"
        self.count = pulp.lpSum(self.y.values())
        self.distance = pulp.lpSum(
            p.registrants[i] * p.distance_km[i][v] * self.x[i, v]
            for i in range(n)
            for v in self.usable
        )

    def assignment_from(self, values: Mapping[str, float]) -> list[int]:
        out = []
        for i in range(self.problem.n_units):
            v = max(self.usable, key=lambda v: values.get(self.x[i, v].name, 0.0))
            if values.get(self.x[i, v].name, 0.0) < 0.5:
                raise ValueError(f"ward {i} is not assigned in the MIP solution")
            out.append(v)
        return out

    def start_values(self, assignment: Sequence[int], days: Sequence[int]) -> dict[str, float]:
        vals = {var.name: 0.0 for var in self.x.values()}
        for i, v in enumerate(assignment):
            vals[self.x[i, v].name] = 1.0
        for v in self.usable:
            vals[self.y[v].name] = 1.0 if days[v] > 0 else 0.0
            vals[self.t[v].name] = float(days[v])
        return vals

    def add_cuts(self, assignment: Sequence[int]) -> int:
        """Rooted separator rows for every piece of a cluster that misses its venue's ward."""
        p = self.problem
        added = 0
        for v in sorted(set(assignment)):
            root = p.venue_unit[v]
            units = [i for i, a in enumerate(assignment) if a == v]
            for piece in components(units, self.nb):
                if root in piece:
                    continue
                sep = tuple(minimal_separator(piece, root, self.nb))
                for a in piece:
                    key = (a, v, sep)
                    if key not in self._keys:
                        self._keys.add(key)
                        self.lp += (
                            self.x[a, v] <= pulp.lpSum(self.x[s, v] for s in sep),
                            f"sep_{len(self._keys)}",
                        )
                        added += 1
        self.cuts += added
        return added


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


# -- the search ------------------------------------------------------------------------------------


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

    def offer(self, a: Sequence[int] | None) -> None:
        if a is None or (self.fixed is not None and len(set(a)) != self.fixed):
            return
        days = cluster_days(self.problem, self.campaign, a)
        if any(d > self.longest[v] for v, d in enumerate(days)) or sum(days) > self.slots:
            return
        if not all_rooted(self.problem, a, self.nb):
            return
        val = self.value_of(a)
        if val < self.value - 1e-9:
            self.plan, self.value = list(a), val


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


def _cut_loop(
    model: CampModel,
    best: _Incumbent,
    backend: Backend,
    deadline: float,
    gap: float,
) -> _Stage:
    """Solve, cut off clusters in pieces (or cut off from their venue), solve again."""
    bound = -math.inf
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
        connected: list[list[int]] = []
        in_pieces: list[list[int]] = []

        def on_solution(
            values: Mapping[str, float],
            connected: list[list[int]] = connected,
            in_pieces: list[list[int]] = in_pieces,
        ) -> bool:
            a = model.assignment_from(values)
            (connected if all_rooted(model.problem, a, model.nb) else in_pieces).append(a)
            return bool(in_pieces)

        res = backend.solve(
            model.lp,
            time_limit=limit,
            gap=gap,
            warm_start=warm,
            on_solution=None if final else on_solution,
        )
        for a in connected:
            best.offer(a)
        if res.bound is not None and res.status != "infeasible":
            bound = max(bound, res.bound)
        if in_pieces:
            model.add_cuts(in_pieces[-1])
            best.offer(camp_heuristic.grow(best.problem, best.campaign, in_pieces[-1]))
            continue
        if res.status == "infeasible":
            infeasible = best.plan is None
            break
        if res.status == "no_solution":
            if final:
                break
            final = True
            continue
        a = model.assignment_from(res.values)
        if all_rooted(model.problem, a, model.nb):
            best.offer(a)
            if final or res.status == "optimal":
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
        stage = _cut_loop(model, best, backend, t0 + params.time_limit * COUNT_SHARE, 0.0)
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
    stage = _cut_loop(model, best, backend, deadline, params.gap)
    why = ""
    if stage.status is Status.INFEASIBLE:
        why = f"no contiguous plan with {count} camps fits the window, the venues and their capacities"
    elif stage.status is Status.NO_SOLUTION:
        why = "time ran out before any camp plan was found; allow more time"
    return answer(stage, count_bound, count_proved, why)
