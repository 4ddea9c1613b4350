"""The pricing step of column generation: the cheapest connected area for one organiser.

Given the unit reduced costs ``r[i]`` of one organiser (its cost of unit ``i`` minus the unit's
dual), pricing asks for the connected set ``S`` of units with load in ``[lo, hi]`` (inside one zone
with zones) that minimises ``Σ_{i∈S} r[i]``. Three answers, from cheap to exact:

- :func:`greedy_areas`: grow areas from a few seeds, always adding the cheapest neighbour (a
  heuristic: its areas are real columns, but it proves nothing);
- :func:`cheapest_area`: the exact minimum by enumerating connected sets once each (the ESU scheme
  of :func:`solver.areas.enumerate_areas`) from roots taken in order of ``r``, pruned by a lower
  bound on what any superset can reach; when its budget runs out, ``None`` (no proof);
- :func:`knapsack_bound`: a lower bound on that minimum without contiguity (the LP of the
  two-sided knapsack, solved greedily by ratio), for organisers whose enumeration did not finish.

Pure computation (numpy); no solver.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The enumeration stops after this many partial areas (per organiser and call), or at its deadline.
MAX_VISITS = 400_000
#: Seeds of the greedy heuristic per organiser: the units of most negative reduced cost.
GREEDY_SEEDS = 12


@dataclass(frozen=True)
class Priced:
    """A connected area (sorted unit positions) and its reduced cost ``Σ r`` (without the
    organiser's dual)."""

    members: tuple[int, ...]
    value: float


@dataclass(frozen=True)
class Graph:
    """What pricing needs of the problem: adjacency, loads, zones (``None``: ignore zones), the
    load window (with the check's slack already applied)."""

    nb: Sequence[Sequence[int]]
    w: np.ndarray
    zones: Sequence[str | None] | None
    lo: float
    hi: float

    def same_zone(self, a: int, b: int) -> bool:
        return self.zones is None or self.zones[a] == self.zones[b]


def greedy_areas(g: Graph, r: np.ndarray, seeds: Sequence[int]) -> list[Priced]:
    """From each seed, add the neighbour of least ``r`` while the load allows; the best area that
    fits, per seed (duplicates removed)."""
    out: dict[tuple[int, ...], float] = {}
    for seed in seeds:
        if g.w[seed] > g.hi:
            continue
        members, load, value = {seed}, float(g.w[seed]), float(r[seed])
        frontier = {u for u in g.nb[seed] if g.same_zone(u, seed)}
        best: tuple[float, frozenset[int]] | None = None
        while True:
            if load >= g.lo and (best is None or value < best[0]):
                best = (value, frozenset(members))
            fits = [u for u in frontier if load + g.w[u] <= g.hi]
            if not fits:
                break
            u = min(fits, key=lambda x: r[x])
            if load >= g.lo and r[u] >= 0:
                break
            members.add(u)
            load += float(g.w[u])
            value += float(r[u])
            frontier.discard(u)
            frontier.update(x for x in g.nb[u] if x not in members and g.same_zone(x, seed))
        if best is not None:
            out[tuple(sorted(best[1]))] = best[0]
    return [Priced(m, v) for m, v in out.items()]


def greedy_seeds(r: np.ndarray, home: int) -> list[int]:
    """The organiser's home unit and the units of most negative reduced cost."""
    order = np.argsort(r, kind="stable")[:GREEDY_SEEDS]
    return list(dict.fromkeys([home, *(int(i) for i in order)]))


class _Stop(Exception):
    pass


@dataclass(frozen=True)
class _Ranked:
    """The units relabelled by reduced cost (rank 0: the most negative), and what the pruning
    bounds of :func:`cheapest_area` need."""

    order: np.ndarray  # rank → unit
    rank: np.ndarray  # unit → rank
    rs: np.ndarray  # r by rank
    neg: np.ndarray  # min(0, r) by rank
    neg_after: np.ndarray  # Σ neg over ranks above p
    min_ratio: float  # the most negative r / w (0 at most)
    free_neg: float  # Σ of the negative r of units without load (they need no room)
    nb_rank: list[list[int]]  # neighbours' ranks, by rank
    by_ratio: list[tuple[int, float, float]]  # (rank, w, r) of the negative ones, by r / w
    w: np.ndarray  # loads by rank
    eps: float


def _ranked(g: Graph, r: np.ndarray) -> _Ranked:
    n = len(r)
    order = np.argsort(r, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    rs = r[order]
    neg = np.minimum(rs, 0.0)
    positive = g.w > 0
    ratios = r[positive] / g.w[positive]
    by_ratio = sorted(
        ((q, float(g.w[order[q]]), float(rs[q])) for q in range(n) if rs[q] < 0),
        key=lambda t: -math.inf if t[1] <= 0 else t[2] / t[1],
    )
    finite = np.abs(r[np.abs(r) < 1e15])  # the dive blocks units with a huge r
    return _Ranked(
        order=order,
        rank=rank,
        rs=rs,
        neg=neg,
        neg_after=np.concatenate([np.cumsum(neg[::-1])[::-1][1:], [0.0]]),
        min_ratio=min(0.0, float(ratios.min())) if ratios.size else 0.0,
        free_neg=float(np.minimum(r[~positive], 0.0).sum()),
        nb_rank=[sorted(int(rank[u]) for u in g.nb[int(order[p])]) for p in range(n)],
        by_ratio=by_ratio,
        w=g.w[order],
        eps=1e-9 * max(1.0, float(finite.max()) if finite.size else 1.0),
    )


def cheapest_area(
    g: Graph, r: np.ndarray, *, best: Priced | None, deadline: float, max_visits: int = MAX_VISITS
) -> tuple[Priced | None, bool]:
    """The connected area of least ``Σ r`` with load in the window: (the best area found, ``best``
    when nothing beats it, ``None`` when no area was found; whether the search finished, which
    proves it the least). A finished search that found nothing proves that no area fits.

    Units are relabelled by ``r`` ascending; each area is enumerated once, from its unit of least
    rank, growing only by units of higher rank. A partial area ``S`` grown from rank ``p`` can
    reach at best ``Σ_S r + Σ_{q>p, q∉S} min(0, r_q)`` (also at best its load room times the most
    negative ratio ``r/w``), so it is not grown when that is no better than the best area known.
    With a small ``max_visits`` it is a heuristic too: the roots of most negative ``r`` come first."""
    k = _ranked(g, r)
    n, order, rank, rs, neg, w = len(r), k.order, k.rank, k.rs, k.neg, k.w
    neg_after, min_ratio, free_neg, eps = k.neg_after, k.min_ratio, k.free_neg, k.eps
    nb_rank, by_ratio = k.nb_rank, k.by_ratio
    state = {"best": math.inf if best is None else best.value, "visits": 0}
    found: list[tuple[int, ...]] = (
        [] if best is None else [tuple(int(rank[u]) for u in best.members)]
    )

    def same_zone(a: int, b: int) -> bool:
        return g.zones is None or g.zones[int(order[a])] == g.zones[int(order[b])]

    def grow(
        members: tuple[int, ...],
        excluded: set[int],
        ext: list[int],
        load: float,
        value: float,
        neg_in: float,
    ) -> None:
        state["visits"] += 1
        if state["visits"] > max_visits or (
            state["visits"] % 2048 == 0 and time.monotonic() > deadline
        ):
            raise _Stop
        if load >= g.lo and value < state["best"] - eps:
            state["best"] = value
            found.append(members)
        p = members[0]
        room = max(0.0, g.hi - load)
        reach = max(neg_after[p] - neg_in, min_ratio * room + free_neg)
        if value + reach >= state["best"] - eps:
            return
        if value + _reach(by_ratio, p, members, room) >= state["best"] - eps:
            return
        rest = list(ext)
        while rest:
            u = rest.pop()
            if load + w[u] > g.hi:
                continue
            fresh = [x for x in nb_rank[u] if x > p and x not in excluded and same_zone(x, p)]
            grow(
                (*members, u),
                excluded | set(fresh),
                rest + fresh,
                load + w[u],
                value + rs[u],
                neg_in + neg[u],
            )

    finished = True
    try:
        for p in range(n):
            if rs[p] + max(neg_after[p], min_ratio * g.hi + free_neg) >= state["best"] - eps:
                continue
            if w[p] > g.hi:
                continue
            first = [x for x in nb_rank[p] if x > p and same_zone(x, p)]
            grow((p,), {p, *first}, first, float(w[p]), float(rs[p]), 0.0)
    except _Stop:
        finished = False
    if not found:
        return None, finished
    members = tuple(sorted(int(order[q]) for q in found[-1]))
    return Priced(members, float(r[list(members)].sum())), finished


def _reach(
    by_ratio: Sequence[tuple[int, float, float]], p: int, members: tuple[int, ...], room: float
) -> float:
    """The least ``Σ r`` any units of rank above ``p`` outside ``members`` can add within the load
    ``room`` (the fractional knapsack over the negative ones, by ratio ``r / w``)."""
    total = 0.0
    for q, wq, rq in by_ratio:
        if q <= p or q in members:
            continue
        if wq <= room:
            total += rq
            room -= wq
        else:
            return total + rq * room / wq
    return total


def knapsack_bound(g: Graph, r: np.ndarray) -> float:
    """A lower bound on ``Σ_S r`` over every set of units with load in the window, connected or
    not: the LP of the two-sided knapsack (units by ``r / w``: every negative one up to ``hi``,
    then the cheapest positive ones up to ``lo``)."""
    free = g.w <= 0
    total = float(np.minimum(r[free], 0.0).sum())
    idx = np.nonzero(~free)[0]
    order = idx[np.argsort(r[idx] / g.w[idx], kind="stable")]
    load = 0.0
    for i in order:
        wi, ri = float(g.w[i]), float(r[i])
        if ri < 0:
            take = min(1.0, (g.hi - load) / wi)
        elif load < g.lo:
            take = min(1.0, (g.lo - load) / wi)
        else:
            break
        if take <= 0:
            if ri >= 0:
                break
            continue
        load += take * wi
        total += take * ri
    return total if load >= g.lo - 1e-9 * max(1.0, g.lo) else math.inf
