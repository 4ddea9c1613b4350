"""A quick contiguous camp plan, to start the exact search and to repair its solutions.

Clusters grow ward by ward from their venue's ward: the unassigned ward nearest (km) to a venue
whose cluster it borders and whose camp still has room joins it; a new venue is opened only when no
cluster can grow (preferring a venue in a ward that borders the planned part, so no hole is left
behind). Every cluster is connected and rooted at its venue's ward by construction; capacity and
the window are the caller's check (:class:`solver.camps._Incumbent`). ``None`` when stuck.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from solver.graph import components, stays_connected_without

if TYPE_CHECKING:  # solver.camps imports this module
    from solver.camps import Campaign, CampProblem

EPS = 1e-6


def grow(
    problem: CampProblem,
    campaign: Campaign,
    seed: Sequence[int] | None = None,
    *,
    rng: random.Random | None = None,
) -> list[int] | None:
    """A plan grown from scratch, or from the rooted, fitting parts of ``seed``. With ``rng``: the
    newest cluster grows first until full (fewer, fuller camps), distances jittered by up to 30 %."""
    p = problem
    n, nb = p.n_units, p.neighbours()
    room = [p.capacity(v, campaign) * p.longest_camp(v, campaign) for v in range(p.n_venues)]
    out = [-1] * n
    load = [0.0] * p.n_venues
    if seed is not None:
        _keep_rooted(p, nb, seed, out, load, room)
    hosts: dict[int, list[int]] = {}
    for v in range(p.n_venues):
        if room[v] > 0:
            hosts.setdefault(p.venue_unit[v], []).append(v)
    newest = -1
    jitter = [1.0 + (0.3 * rng.random() if rng else 0.0) for _ in range(n)]
    while True:
        best = None
        for i in range(n):
            if out[i] >= 0:
                continue
            for v in {out[u] for u in nb[i] if out[u] >= 0}:
                if load[v] + p.registrants[i] <= room[v] * (1 + EPS):
                    first = 0 if rng is None or v == newest else 1
                    key = (first, p.distance_km[i][v] * jitter[i], i, v)
                    best = key if best is None or key < best else best
        if best is not None:
            _, _, i, v = best
            out[i], load[v] = v, load[v] + p.registrants[i]
            continue
        if all(a >= 0 for a in out):
            return out
        new = _new_venue(p, nb, out, hosts, room)
        if new is None:
            return None
        root = p.venue_unit[new]
        out[root], load[new], newest = new, p.registrants[root], new


def fewest(
    problem: CampProblem, campaign: Campaign, *, tries: int, deadline: float, seed: int = 0
) -> list[list[int]]:
    """Plans from randomised sequential growth (``tries`` of them, until ``deadline``), fewest
    camps first; the caller checks them."""
    rng = random.Random(seed)
    plans = []
    for _ in range(tries):
        if time.monotonic() > deadline:
            break
        plan = grow(problem, campaign, rng=rng)
        if plan is not None:
            plans.append(plan)
    return sorted(plans, key=lambda a: len(set(a)))


def _keep_rooted(
    p: CampProblem,
    nb: Sequence[Sequence[int]],
    seed: Sequence[int],
    out: list[int],
    load: list[float],
    room: Sequence[float],
) -> None:
    for v in sorted(set(seed)):
        root = p.venue_unit[v]
        if seed[root] != v or room[v] <= 0:
            continue
        piece = next(
            c for c in components([i for i, a in enumerate(seed) if a == v], nb) if root in c
        )
        total = sum(p.registrants[i] for i in piece)
        if total > room[v] * (1 + EPS):
            piece, total = [root], p.registrants[root]
            if total > room[v] * (1 + EPS):
                continue
        for i in piece:
            out[i] = v
        load[v] = total


def _new_venue(
    p: CampProblem,
    nb: Sequence[Sequence[int]],
    out: Sequence[int],
    hosts: dict[int, list[int]],
    room: Sequence[float],
) -> int | None:
    """An unopened venue in an unassigned ward: bordering the plan if possible, then the roomiest."""
    choices = []
    for w, vs in hosts.items():
        if out[w] >= 0:
            continue
        borders = any(out[u] >= 0 for u in nb[w])
        for v in vs:
            if p.registrants[w] <= room[v] * (1 + EPS):
                choices.append((not borders, len(nb[w]), -room[v], v))
    return min(choices)[-1] if choices else None


def improve(problem: CampProblem, campaign: Campaign, plan: Sequence[int]) -> list[int]:
    """Local search on a valid plan, never making it worse or invalid, keeping the number of camps:
    move the venue of a cluster to a better venue standing inside it, and move a boundary ward to
    a neighbouring cluster when that is nearer, the clusters stay connected and rooted, and the
    camps' days still fit their venues and the window. Until no move improves."""
    p = problem
    nb = p.neighbours()
    out = list(plan)
    slots = campaign.teams * len(campaign.camp_days())
    cap = [p.capacity(v, campaign) for v in range(p.n_venues)]
    longest = [p.longest_camp(v, campaign) for v in range(p.n_venues)]
    hosts: dict[int, list[int]] = {}
    for v in range(p.n_venues):
        if longest[v] > 0:
            hosts.setdefault(p.venue_unit[v], []).append(v)

    def days(load: float, v: int) -> int:
        return max(1, math.ceil(load / cap[v] - EPS))

    for _ in range(200):  # rounds; each one improves or ends the search
        members: dict[int, set[int]] = {}
        for i, v in enumerate(out):
            members.setdefault(v, set()).add(i)
        load = {v: sum(p.registrants[i] for i in m) for v, m in members.items()}
        used = sum(days(load[v], v) for v in members)
        if not (
            _better_venues(p, out, members, load, hosts, longest, days, used, slots)
            or _better_borders(p, nb, out, members, load, longest, days, used, slots)
        ):
            break
    return out


def _cost(p: CampProblem, units: Iterable[int], v: int) -> float:
    return sum(p.registrants[i] * p.distance_km[i][v] for i in units)


def _better_venues(
    p: CampProblem,
    out: list[int],
    members: dict[int, set[int]],
    load: dict[int, float],
    hosts: dict[int, list[int]],
    longest: Sequence[int],
    days: Callable[[float, int], int],
    used: int,
    slots: int,
) -> bool:
    changed = False
    for v, units in list(members.items()):
        now = _cost(p, units, v)
        for w in sorted(units):
            for u in hosts.get(w, []):
                if u == v or u in members:
                    continue
                d = days(load[v], u)
                if d > longest[u] or used - days(load[v], v) + d > slots:
                    continue
                cost = _cost(p, units, u)
                if cost < now - 1e-9:
                    for i in units:
                        out[i] = u
                    used += d - days(load[v], v)
                    members[u] = members.pop(v)
                    load[u] = load.pop(v)
                    v, now, changed = u, cost, True
    return changed


def _better_borders(
    p: CampProblem,
    nb: Sequence[Sequence[int]],
    out: list[int],
    members: dict[int, set[int]],
    load: dict[int, float],
    longest: Sequence[int],
    days: Callable[[float, int], int],
    used: int,
    slots: int,
) -> bool:
    changed = False
    for i in range(p.n_units):
        a = out[i]
        if p.venue_unit[a] == i or len(members[a]) == 1:
            continue
        for b in sorted({out[u] for u in nb[i]} - {a}):
            gain = p.registrants[i] * (p.distance_km[i][a] - p.distance_km[i][b])
            if gain <= 1e-9:
                continue
            r = p.registrants[i]
            da, db = days(load[a] - r, a), days(load[b] + r, b)
            if db > longest[b]:
                continue
            delta = da + db - days(load[a], a) - days(load[b], b)
            if used + delta > slots or not stays_connected_without(members[a], i, nb):
                continue
            out[i] = b
            members[a].discard(i)
            members[b].add(i)
            load[a] -= r
            load[b] += r
            used += delta
            changed = True
            break
    return changed
