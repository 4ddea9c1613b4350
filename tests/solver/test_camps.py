"""Camp plans on tiny grids: brute-force agreement, refusals with what is needed, the calendar and
the independent checker."""

from __future__ import annotations

import itertools
import math
import random
from datetime import date, timedelta

import pytest

from solver.camp_calendar import schedule_camps
from solver.camp_heuristic import grow, improve
from solver.camp_solve import solve_camps
from solver.camp_verify import check_camp_plan
from solver.camps import (
    Campaign,
    CampParams,
    CampProblem,
    cluster_days,
    precheck,
)
from solver.problem import Status


def grid_camps(
    rows: int,
    cols: int,
    venues: list[tuple[int, int]],
    registrants: list[float],
    capacity: list[float | None] | None = None,
    closed: list[frozenset[date]] | None = None,
) -> CampProblem:
    ids = [f"r{r}c{c}" for r in range(rows) for c in range(cols)]
    edges = []
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            if c + 1 < cols:
                edges.append((u, u + 1))
            if r + 1 < rows:
                edges.append((u, u + cols))
    dist = tuple(
        tuple(math.hypot(r - vr, c - vc) for vr, vc in venues)
        for r in range(rows)
        for c in range(cols)
    )
    m = len(venues)
    return CampProblem(
        unit_ids=tuple(ids),
        registrants=tuple(registrants),
        edges=tuple(edges),
        venue_ids=tuple(f"V{k}" for k in range(m)),
        venue_unit=tuple(r * cols + c for r, c in venues),
        distance_km=dist,
        venue_capacity=tuple(capacity or [None] * m),
        venue_unavailable=tuple(closed or [frozenset()] * m),
    )


# Monday 5 April 2027 to Saturday 10 April: six camp days
WEEK = Campaign(date(2027, 4, 5), date(2027, 4, 10), teams=1, per_camp_per_day=100)


def brute_force(p: CampProblem, c: Campaign) -> tuple[int, float] | None:
    """(fewest camps, smallest registrant-km at that count) over every assignment."""
    best: tuple[int, float] | None = None
    slots = c.teams * len(c.camp_days())
    for a in itertools.product(range(p.n_venues), repeat=p.n_units):
        if check_camp_plan(p, c, a, None):
            continue
        days = cluster_days(p, c, a)
        if sum(days) > slots or any(d > p.longest_camp(v, c) for v, d in enumerate(days)):
            continue
        key = (
            len(set(a)),
            math.fsum(p.registrants[i] * p.distance_km[i][v] for i, v in enumerate(a)),
        )
        if best is None or key < (best[0], best[1] - 1e-9):
            best = key
    return best


def random_instance(seed: int) -> tuple[CampProblem, Campaign]:
    rng = random.Random(seed)
    rows, cols = (2, 3) if seed % 2 else (3, 3)
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    venues = rng.sample(cells, 3 if rows == 3 else 4)
    registrants = [float(rng.randint(20, 90)) for _ in cells]
    capacity: list[float | None] = [None if rng.random() < 0.6 else 80.0 for _ in venues]
    camp = Campaign(
        date(2027, 4, 5),
        date(2027, 4, 5) + timedelta(days=rng.randint(2, 6)),
        teams=rng.randint(1, 2),
        per_camp_per_day=100,
        max_camp_days=2,
    )
    return grid_camps(rows, cols, venues, registrants, capacity), camp


@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_brute_force(seed: int) -> None:
    p, c = random_instance(seed)
    expected = brute_force(p, c)
    sol = solve_camps(p, c, CampParams(time_limit=20, gap=0.0))
    if expected is None:
        assert sol.status is Status.INFEASIBLE
        assert not sol.has_plan
        return
    assert sol.status is Status.OPTIMAL, sol.describe()
    assert sol.count_proved
    assert sol.camps == expected[0]
    assert sol.objective == pytest.approx(expected[1], abs=1e-6)
    assert sol.assignment is not None
    assert check_camp_plan(p, c, sol.assignment, None) == []


def test_brute_force_instances_include_contiguity_and_refusals() -> None:
    """The instances above are not all trivial: some need several camps, one is refused."""
    results = [brute_force(*random_instance(s)) for s in range(8)]
    assert any(r is None for r in results)
    assert any(r is not None and r[0] >= 2 for r in results)


def test_contiguity_binds_against_nearest_venue() -> None:
    # a 1×5 strip, venues at both ends; the middle ward is nearest the left venue but the left
    # camp is full, so wards 3 and 4 (far right) cannot jump over: clusters stay in one piece
    p = grid_camps(1, 5, [(0, 0), (0, 4)], [50, 50, 10, 50, 50])
    c = Campaign(date(2027, 4, 5), date(2027, 4, 5), teams=2, per_camp_per_day=110)
    sol = solve_camps(p, c, CampParams(time_limit=10, gap=0.0))
    assert sol.status is Status.OPTIMAL
    assert sol.assignment == (0, 0, 0, 1, 1) or sol.assignment == (0, 0, 1, 1, 1)
    assert check_camp_plan(p, c, sol.assignment, None) == []


def test_given_number_of_camps() -> None:
    p = grid_camps(2, 3, [(0, 0), (0, 2), (1, 1)], [30.0] * 6)
    sol = solve_camps(p, WEEK, CampParams(camps=3, time_limit=10, gap=0.0))
    assert sol.status is Status.OPTIMAL
    assert sol.camps == 3
    fewest = solve_camps(p, WEEK, CampParams(time_limit=10, gap=0.0))
    # 180 registrants, 100 per day, camps of up to 3 days: one camp (2 days) is the fewest
    assert fewest.camps == 1
    assert fewest.count_proved
    assert fewest.days == (0, 0, 2)
    assert fewest.objective is not None
    assert sol.objective is not None
    assert sol.objective < fewest.objective  # three camps bring the venues nearer


def test_window_too_short_says_days_and_teams_needed() -> None:
    p = grid_camps(2, 3, [(0, 0), (1, 2)], [100.0] * 6)  # 600 registrants, 100/day: 6 camp-days
    c = Campaign(date(2027, 4, 5), date(2027, 4, 6), teams=2, per_camp_per_day=100)  # 4 slots
    reason = precheck(p, c)
    assert reason is not None
    assert "6 camp-days" in reason
    assert "at least 3 camp days with 2 team(s)" in reason
    assert "at least 3 teams" in reason
    sol = solve_camps(p, c, CampParams(time_limit=5))
    assert sol.status is Status.INFEASIBLE
    assert sol.explanation == reason


def test_too_few_venues_says_how_many() -> None:
    p = grid_camps(2, 3, [(0, 0)], [100.0] * 6)  # one venue, longest camp 3 days of 100
    c = Campaign(date(2027, 4, 5), date(2027, 4, 10), teams=2, per_camp_per_day=100)
    reason = precheck(p, c)
    assert reason is not None
    assert "at least 2 camps" in reason
    assert "add at least 1 venue" in reason


def test_heavy_ward_refused() -> None:
    p = grid_camps(1, 2, [(0, 0), (0, 1)], [500.0, 10.0])
    reason = precheck(p, WEEK)
    assert reason is not None
    assert "ward r0c0 alone expects 500" in reason


def test_camp_days_skip_sundays_and_holidays() -> None:
    c = Campaign(
        date(2027, 4, 1), date(2027, 5, 15), 2, 300, holidays=frozenset({date(2027, 4, 14)})
    )
    days = c.camp_days()
    assert len(days) == 45 - 6 - 1  # six Sundays (4, 11, 18, 25 Apr; 2, 9 May) and 14 April
    assert all(d.weekday() != 6 for d in days)
    assert date(2027, 4, 14) not in days


def test_calendar_fits_teams_closures_and_runs_consecutively() -> None:
    closed = [frozenset({date(2027, 4, 5), date(2027, 4, 6)}), frozenset(), frozenset()]
    p = grid_camps(2, 3, [(0, 0), (0, 2), (1, 1)], [100.0] * 6, closed=closed)
    c = Campaign(date(2027, 4, 5), date(2027, 4, 10), teams=1, per_camp_per_day=100)
    sol = solve_camps(p, c, CampParams(camps=3, time_limit=10, gap=0.0))
    assert sol.has_plan
    assert sol.days is not None
    assert sum(sol.days) == 6
    assert min(sol.days) >= 1  # all three venues hold a camp, venue 0 among them
    assert sol.assignment is not None
    sched = schedule_camps(p, c, sol.days, time_limit=10)
    assert sched.dates is not None, sched.explanation
    # 6 camp-days in 6 days with one team; spread = Σ (days − 1): every camp on consecutive days
    assert sched.status is Status.OPTIMAL
    assert sched.spread == sched.bound == 3  # Σ (days − 1) = 6 − 3
    assert check_camp_plan(p, c, sol.assignment, sched.dates) == []
    assert not set(sched.dates[0]) & closed[0]
    assert sum(len(d) for d in sched.dates) == 6


def test_calendar_refuses_when_closures_collide() -> None:
    # two one-day camps, one team, both venues open only on Monday
    only_monday = frozenset(date(2027, 4, d) for d in range(6, 11))
    p = grid_camps(1, 2, [(0, 0), (0, 1)], [100.0, 100.0], closed=[only_monday, only_monday])
    c = Campaign(date(2027, 4, 5), date(2027, 4, 10), teams=1, per_camp_per_day=100)
    sched = schedule_camps(p, c, [1, 1], time_limit=5)
    assert sched.status is Status.INFEASIBLE
    assert "too few team slots" in sched.explanation
    too_long = schedule_camps(p, c, [2, 0], time_limit=5)
    assert too_long.status is Status.INFEASIBLE
    assert "open on only 1 camp day" in too_long.explanation


def test_checker_finds_each_broken_rule() -> None:
    p = grid_camps(1, 4, [(0, 0), (0, 3)], [60.0, 60.0, 60.0, 60.0])
    c = Campaign(date(2027, 4, 5), date(2027, 4, 11), teams=1, per_camp_per_day=100)
    mon, tue, sun = date(2027, 4, 5), date(2027, 4, 6), date(2027, 4, 11)
    good = check_camp_plan(p, c, [0, 0, 1, 1], [(mon, tue), (date(2027, 4, 7), date(2027, 4, 8))])
    assert good == []
    kinds = {v.kind for v in check_camp_plan(p, c, [0, 1, 0, 1], [(mon, tue), (sun,)])}
    assert {"contiguity", "capacity", "calendar"} <= kinds
    assert {v.kind for v in check_camp_plan(p, c, [1, 1, 0, 0], [(mon,), (mon,)])} >= {
        "venue",
        "teams",
    }


def test_calendar_without_a_consecutive_run_spreads_the_camp() -> None:
    # open only Mon, Wed, Fri: a three-day camp cannot run on consecutive days
    closed = frozenset({date(2027, 4, 6), date(2027, 4, 8), date(2027, 4, 10)})
    p = grid_camps(1, 2, [(0, 0), (0, 1)], [100.0, 100.0], closed=[closed, frozenset()])
    c = Campaign(date(2027, 4, 5), date(2027, 4, 10), teams=1, per_camp_per_day=100)
    sched = schedule_camps(p, c, [3, 0], time_limit=5)
    assert sched.dates is not None
    assert sched.dates[0] == (date(2027, 4, 5), date(2027, 4, 7), date(2027, 4, 9))
    assert sched.spread == 4  # camp-day indices 0, 2, 4
    assert sched.status is Status.OPTIMAL  # proved by the solver: no calendar spreads less
    assert sched.bound == 4
    assert "not all consecutive" in sched.describe()


def test_local_improvement_is_valid_and_never_worse() -> None:
    rng = random.Random(5)
    venues = [(r, c) for r in range(4) for c in range(4) if (r + c) % 2 == 0]
    p = grid_camps(4, 4, venues, [float(rng.randint(20, 90)) for _ in range(16)])
    c = Campaign(date(2027, 4, 5), date(2027, 4, 10), teams=1, per_camp_per_day=100)
    start = grow(p, c)
    assert start is not None
    better = improve(p, c, start)
    assert check_camp_plan(p, c, better, None) == []
    assert len(set(better)) == len(set(start))

    def cost(a: list[int]) -> float:
        return sum(p.registrants[i] * p.distance_km[i][v] for i, v in enumerate(a))

    assert cost(better) <= cost(start) + 1e-9
    # the strip 0–1–2–3 with venues at both ends, ward 2 given to the far venue: moved back
    strip = grid_camps(1, 4, [(0, 0), (0, 3)], [10.0, 10.0, 10.0, 10.0])
    assert improve(strip, c, [0, 0, 1, 1]) == [0, 0, 1, 1]
    assert improve(strip, c, [0, 1, 1, 1]) == [0, 0, 1, 1]
