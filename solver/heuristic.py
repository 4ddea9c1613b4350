"""A fast contiguous plan: region growing from the organisers' homes, then boundary moves.

This never certifies anything: it only supplies an early incumbent (a warm start for the exact model)
and repairs disconnected intermediate solutions of the cut loop into connected plans. Every move
keeps each area in one piece, so whatever it returns is contiguous by construction (and is checked
again by :mod:`solver.verify` before use).
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Sequence

from solver.graph import components, stays_connected_without
from solver.problem import Problem


class _Plan:
    """Mutable assignment with per-area members and loads."""

    def __init__(self, problem: Problem, assign: list[int]):
        self.p = problem
        self.assign = assign
        self.members: list[set[int]] = [set() for _ in range(problem.n_organisers)]
        self.load = [0.0] * problem.n_organisers
        for i, j in enumerate(assign):
            if j >= 0:
                self.members[j].add(i)
                self.load[j] += problem.weights[i]

    def move(self, i: int, b: int) -> None:
        a = self.assign[i]
        w = self.p.weights[i]
        if a >= 0:
            self.members[a].discard(i)
            self.load[a] -= w
        self.members[b].add(i)
        self.load[b] += w
        self.assign[i] = b


def _excess(load: float, lo: float, hi: float) -> float:
    if load > hi:
        return load - hi
    if load < lo:
        return lo - load
    return 0.0


def _zone_ok(problem: Problem, i: int, j: int, org_zone: Sequence[str | None] | None) -> bool:
    if org_zone is None or problem.zones is None:
        return True
    return problem.zones[i] == org_zone[j]


def home_units(problem: Problem) -> list[int]:
    """A distinct unit for each organiser: the nearest one to its home that no closer organiser
    has taken (organisers living nearest to some unit choose first)."""
    n, k = problem.n_units, problem.n_organisers
    if k > n:
        raise ValueError(f"{k} organisers but only {n} units")
    taken: set[int] = set()
    out = [-1] * k
    order = sorted(range(k), key=lambda j: min(problem.distance_km[i][j] for i in range(n)))
    for j in order:
        seed = min((i for i in range(n) if i not in taken), key=lambda i: problem.distance_km[i][j])
        out[j] = seed
        taken.add(seed)
    return out


def grow(
    problem: Problem,
    nb: Sequence[Sequence[int]],
    lo: float,
    hi: float,
    *,
    respect_zones: bool = False,
) -> list[int] | None:
    """Grow one region per organiser from the unit nearest its home; ``None`` if it gets stuck."""
    n, k = problem.n_units, problem.n_organisers
    if k > n:
        return None
    assign = [-1] * n
    for j, seed in enumerate(home_units(problem)):
        assign[seed] = j
    plan = _Plan(problem, assign)
    org_zone = (
        [problem.zones[next(iter(plan.members[j]))] for j in range(k)]
        if (respect_zones and problem.zones is not None)
        else None
    )
    target = problem.mean_load
    unassigned = n - k
    while unassigned:
        # the least-loaded organiser with a free neighbour claims its nearest free neighbour
        heap = [(plan.load[j] / target if target > 0 else 0.0, j) for j in range(k)]
        heapq.heapify(heap)
        claimed = False
        while heap:
            _, j = heapq.heappop(heap)
            frontier = {
                v
                for u in plan.members[j]
                for v in nb[u]
                if assign[v] < 0 and _zone_ok(problem, v, j, org_zone)
            }
            if frontier:
                i = min(frontier, key=lambda v: (problem.distance_km[v][j], v))
                plan.move(i, j)
                unassigned -= 1
                claimed = True
                break
        if not claimed:
            return None
    return plan.assign


#: Load differences up to this (households) count as no change of balance in :func:`improve`.
BALANCE_EPS = 1e-9


def improve(
    problem: Problem,
    nb: Sequence[Sequence[int]],
    assign: list[int],
    lo: float,
    hi: float,
    *,
    respect_zones: bool = False,
    seed: int = 0,
    deadline: float | None = None,
) -> list[int]:
    """Boundary moves that keep every area connected, first fixing balance, then distance."""
    p = problem
    plan = _Plan(p, list(assign))
    k = p.n_organisers
    org_zone = None
    if respect_zones and p.zones is not None:
        org_zone = [
            p.zones[next(iter(plan.members[j]))] if plan.members[j] else None for j in range(k)
        ]
    rng = random.Random(seed)
    units = list(range(p.n_units))
    improved = True
    while improved:
        if deadline is not None and time.monotonic() > deadline:
            break
        improved = False
        rng.shuffle(units)
        for i in units:
            a = plan.assign[i]
            targets = {plan.assign[v] for v in nb[i]} - {a}
            if not targets:
                continue
            w = p.weights[i]
            best, best_b = (0.0, -1e-9), -1
            ex_a = _excess(plan.load[a], lo, hi)
            ex_a2 = _excess(plan.load[a] - w, lo, hi)
            for b in targets:
                if not _zone_ok(p, i, b, org_zone):
                    continue
                d_bal = (
                    ex_a2 + _excess(plan.load[b] + w, lo, hi) - ex_a - _excess(plan.load[b], lo, hi)
                )
                # balance first, strictly: a move that worsens it is never bought with distance
                delta = (
                    0.0 if abs(d_bal) <= BALANCE_EPS else d_bal,
                    w * (p.distance_km[i][b] - p.distance_km[i][a]),
                )
                if delta < best:
                    best, best_b = delta, b
            if best_b >= 0 and stays_connected_without(plan.members[a], i, nb):
                plan.move(i, best_b)
                improved = True
    return plan.assign


def repair(
    problem: Problem, nb: Sequence[Sequence[int]], assign: Sequence[int]
) -> list[int] | None:
    """Make a possibly disconnected assignment connected.

    Each organiser keeps its piece nearest to home (by load-weighted distance); the other pieces are
    handed, unit by unit, to adjacent areas. ``None`` if some organiser would be left empty.
    """
    p = problem
    out = list(assign)
    for j in range(p.n_organisers):
        units = [i for i, a in enumerate(out) if a == j]
        if not units:
            return None
        pieces = components(units, nb)
        if len(pieces) == 1:
            continue
        keep = min(pieces, key=lambda c: min(p.distance_km[i][j] for i in c))
        for c in pieces:
            if c is not keep:
                for i in c:
                    out[i] = -1
    loads = [0.0] * p.n_organisers
    for i, a in enumerate(out):
        if a >= 0:
            loads[a] += p.weights[i]
    pending = {i for i, a in enumerate(out) if a < 0}
    while pending:
        progress = False
        for i in sorted(pending):
            options = {out[v] for v in nb[i] if out[v] >= 0}
            if options:
                b = min(options, key=lambda j: (loads[j], p.distance_km[i][j]))
                out[i] = b
                loads[b] += p.weights[i]
                pending.discard(i)
                progress = True
        if not progress:
            return None
    return out


#: Tabu search for balance: a move's reverse stays forbidden for TABU_TENURE (+ up to TABU_JITTER)
#: iterations; the search gives up after TABU_PATIENCE iterations without a new best.
TABU_TENURE = 7
TABU_JITTER = 5
TABU_PATIENCE = 2000


def balance(
    problem: Problem,
    nb: Sequence[Sequence[int]],
    assign: Sequence[int],
    lo: float,
    hi: float,
    *,
    respect_zones: bool = False,
    seed: int = 0,
    deadline: float,
) -> list[int] | None:
    """Move boundary units until every load lies in ``[lo, hi]``; ``None`` if that is not reached.

    A tabu search on the total excess Σ max(0, load − hi, lo − load): each step makes the best
    allowed move of a unit to a neighbouring area (worsening moves too, so that a surplus can travel
    through areas that are already in balance), keeping every area connected and non-empty. Plain
    descent (:func:`improve`) stalls where the only way out of an overloaded area leads through
    full ones; this does not. Ties are broken towards the nearer home, so the plan stays compact.
    """
    p = problem
    k = p.n_organisers
    plan = _Plan(p, list(assign))
    if any(not m for m in plan.members):
        return None
    org_zone = _organiser_zones(p, plan) if respect_zones else None
    rng = random.Random(seed)
    scale = max(p.weights) * max(1e-9, max(max(row) for row in p.distance_km))

    def ex(load: float) -> float:
        return _excess(load, lo, hi)

    total = sum(ex(plan.load[j]) for j in range(k))
    best_total, best = total, list(plan.assign)
    tabu: dict[tuple[int, int], int] = {}
    it = since_best = 0
    while best_total > 1e-9 and since_best < TABU_PATIENCE and time.monotonic() < deadline:
        it += 1
        since_best += 1
        active = _near_imbalance(plan, nb, {j for j in range(k) if ex(plan.load[j]) > 1e-9})
        move: tuple[float, int, int] | None = None
        for a in active:
            if len(plan.members[a]) < 2:
                continue
            for i in plan.members[a]:
                targets = {plan.assign[v] for v in nb[i]} - {a}
                if not targets:
                    continue
                w = p.weights[i]
                base = ex(plan.load[a] - w) - ex(plan.load[a])
                for b in targets:
                    if b not in active or not _zone_ok(p, i, b, org_zone):
                        continue
                    delta = base + ex(plan.load[b] + w) - ex(plan.load[b])
                    if tabu.get((i, b), 0) > it and total + delta >= best_total - 1e-9:
                        continue  # tabu, and not a new best (aspiration)
                    key = delta + 1e-6 * w * (p.distance_km[i][b] - p.distance_km[i][a]) / scale
                    if (move is None or key < move[0]) and stays_connected_without(
                        plan.members[a], i, nb
                    ):
                        move = (key, i, b)
        if move is None:
            if not tabu:
                break
            tabu.clear()  # every way out is tabu: forget, and go on from here
            continue
        _, i, b = move
        a = plan.assign[i]
        total += (
            ex(plan.load[a] - p.weights[i])
            + ex(plan.load[b] + p.weights[i])
            - ex(plan.load[a])
            - ex(plan.load[b])
        )
        plan.move(i, b)
        tabu[(i, a)] = it + TABU_TENURE + rng.randrange(TABU_JITTER + 1)
        if total < best_total - 1e-9:
            best_total, best, since_best = total, list(plan.assign), 0
    return best if best_total <= 1e-9 else None


def _organiser_zones(problem: Problem, plan: _Plan) -> list[str | None] | None:
    """Each organiser's zone (that of a unit in its area), ``None`` when the units have none."""
    if problem.zones is None:
        return None
    zones = problem.zones
    return [zones[next(iter(plan.members[j]))] for j in range(problem.n_organisers)]


def _near_imbalance(plan: _Plan, nb: Sequence[Sequence[int]], bad: set[int]) -> set[int]:
    """The areas out of balance and the areas next to them: where the next move starts and ends."""
    active = set(bad)
    for j in bad:
        for u in plan.members[j]:
            active.update(plan.assign[v] for v in nb[u])
    return active
