"""The balance that wards reachable through a single ward force on every plan.

A *pocket* is a group of wards ``C`` that one ward, the *gate* ``g``, cuts off from the rest of the
city (a peninsula, an island linked by one ward, a cantonment reached through one ward). An area is
connected, so an area holding a ward of ``C`` and a ward outside ``C ∪ {g}`` holds ``g``; at most
one area holds ``g``. Hence in every plan the wards of ``C`` are covered by whole areas inside
``C`` plus the part ``R ⊆ C`` (possibly empty) of the one area through ``g``, whose load is then at
least ``load(R) + load(g)``. Trying every such split of ``C`` gives the smallest deviation from the
mean that the pocket allows: no plan, contiguous and covering, can be tighter.

Measured on Lucknow's 110 wards with 22 COs: wards 0 and 9 (0.35 and 0.29 of a CO's mean load)
reach the city only through ward 20 (0.58). Alone they are an area at −36 %; with ward 20 one at
+22.4 %. So no plan is tighter than ±22.4 %, which is what the search had found, while the
set-partitioning test could prove only ±10 % (wider windows hold too many areas to list).

Only pockets of at most ``MAX_POCKET`` wards are tried (the split search is exponential in the
pocket's size); a floor from a subset of the pockets is still a floor.
"""

from __future__ import annotations

from dataclasses import dataclass

from solver.graph import pockets
from solver.problem import Problem

#: Pockets of up to this many units are searched (about 3^size steps each), smallest first, for at
#: most MAX_STEPS steps in all (well under a second): a floor from some of the pockets is a floor.
MAX_POCKET = 10
MAX_STEPS = 500_000


@dataclass(frozen=True)
class Pocket:
    gate: int
    members: tuple[int, ...]
    floor: float  # no plan keeps every load within ±floor of the mean (as a fraction)

    def describe(self, problem: Problem) -> str:
        ids = problem.unit_ids
        return (
            f"wards {', '.join(ids[i] for i in self.members)} reach the other wards only "
            f"through ward {ids[self.gate]}"
        )


def balance_floor(problem: Problem, max_size: int = MAX_POCKET) -> Pocket | None:
    """The pocket that forces the widest balance, ``None`` if the city has no pocket (or a floor
    of 0)."""
    m = problem.mean_load
    if m <= 0 or problem.n_organisers < 2:
        return None
    nb = problem.neighbours()
    best: Pocket | None = None
    steps = 0
    for gate, members in sorted(pockets(nb, max_size), key=lambda p: len(p[1])):
        steps += 3 ** len(members)
        if steps > MAX_STEPS:
            break
        floor = _pocket_floor(problem, nb, m, gate, members)
        if floor > 0 and (best is None or floor > best.floor):
            best = Pocket(gate, tuple(members), floor)
    return best


def _pocket_floor(
    problem: Problem, nb: list[list[int]], m: float, gate: int, members: list[int]
) -> float:
    """The smallest deviation any plan reaches on the pocket ``members`` behind ``gate``."""
    size = len(members)
    units = [*members, gate]  # bit b ↔ units[b]; the gate is the top bit
    bit = {u: b for b, u in enumerate(units)}
    nbits = [0] * len(units)
    for b, u in enumerate(units):
        for v in nb[u]:
            if v in bit:
                nbits[b] |= 1 << bit[v]
    full = 1 << len(units)
    load = [0.0] * full
    connected = [False] * full
    for mask in range(1, full):
        low = mask & -mask
        load[mask] = load[mask ^ low] + problem.weights[units[low.bit_length() - 1]]
        reach, frontier = low, low
        while frontier:
            grown = 0
            rest = frontier
            while rest:
                b = rest & -rest
                grown |= nbits[b.bit_length() - 1]
                rest ^= b
            frontier = grown & mask & ~reach
            reach |= frontier
        connected[mask] = reach == mask

    inside = (1 << size) - 1
    # split[S]: the least possible largest deviation of a split of S into connected areas
    split = [0.0] * (inside + 1)
    for mask in range(1, inside + 1):
        low = mask & -mask
        best = float("inf")
        rest = mask ^ low
        sub = rest
        while True:
            part = sub | low
            if connected[part]:
                best = min(best, max(abs(load[part] / m - 1), split[mask ^ part]))
            if sub == 0:
                break
            sub = (sub - 1) & rest
        split[mask] = best
    gate_bit = 1 << size
    floor = split[inside]  # R empty: the pocket is whole areas
    r = inside
    while r:  # R non-empty: R and the gate lie in one area of load ≥ load(R) + load(gate)
        if connected[r | gate_bit]:
            over = max(0.0, load[r | gate_bit] / m - 1)
            floor = min(floor, max(over, split[inside ^ r]))
        r = (r - 1) & inside
    return floor
