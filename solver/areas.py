"""Every connected area whose load fits the balance window, listed once each (for set partitioning).

Everything here is pure computation (numpy, scipy.sparse).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sps

from solver.problem import Problem
from solver.verify import LOAD_EPS

#: Listing stops (and the caller falls back to the cut loop) beyond this many areas, this many
#: area × organiser columns, or this many partial areas visited.
MAX_AREAS = 600_000
MAX_COLUMNS = 12_000_000
MAX_VISITS = 3_000_000


@dataclass(frozen=True)
class Areas:
    """Every connected area with load in ``[lo, hi]``: ``members[s]`` (sorted unit positions),
    ``incidence`` (areas × units, 0/1) and ``cost`` (areas × organisers)."""

    members: list[tuple[int, ...]]
    incidence: sps.csr_matrix
    cost: np.ndarray
    lo: float
    hi: float
    respect_zones: bool = False

    @property
    def count(self) -> int:
        return len(self.members)


def enumerate_areas(
    problem: Problem,
    lo: float,
    hi: float,
    *,
    respect_zones: bool = False,
    deadline: float | None = None,
    max_areas: int = MAX_AREAS,
) -> Areas | None:
    """List every connected set of units with load in ``[lo, hi]`` (each exactly once); ``None``
    when there are too many to list, or the deadline passes first.

    Each set is found from its smallest unit ``v`` by the ESU scheme (Wernicke 2006): a set grows
    only by units above ``v`` that are new neighbours of the unit just added, so no set is produced
    twice. Loads are non-negative, so a set whose load passes ``hi`` is not grown further.
    """
    n, k = problem.n_units, problem.n_organisers
    if k * max_areas > MAX_COLUMNS:
        max_areas = MAX_COLUMNS // max(1, k)
    nb = problem.neighbours()
    w = problem.weights
    zones = problem.zones if respect_zones else None
    # the check's slack (solver.verify): an area exactly at a bound is in, though the bound, a
    # product of the mean and the tolerance, may round a hair past it (6 × 10 < 60.00000000000001)
    slack = LOAD_EPS * max(1.0, problem.mean_load)
    lo, hi = lo - slack, hi + slack
    found: list[tuple[int, ...]] = []
    visits = 0

    class _Stop(Exception):
        pass

    def grow(
        members: tuple[int, ...], excluded: set[int], frontier: list[int], load: float
    ) -> None:
        nonlocal visits
        visits += 1
        if visits > MAX_VISITS or len(found) > max_areas:
            raise _Stop
        if visits % 4096 == 0 and deadline is not None and time.monotonic() > deadline:
            raise _Stop
        if load >= lo:
            found.append(members)
        rest = list(frontier)
        v = members[0]
        while rest:
            u = rest.pop()
            new_load = load + w[u]
            if new_load > hi:
                continue
            fresh = [
                x
                for x in nb[u]
                if x > v and x not in excluded and (zones is None or zones[x] == zones[v])
            ]
            grow((*members, u), excluded | set(fresh), rest + fresh, new_load)

    try:
        for v in range(n):
            if w[v] > hi:
                continue
            first = [x for x in nb[v] if x > v and (zones is None or zones[x] == zones[v])]
            grow((v,), {v, *first}, first, w[v])
    except _Stop:
        return None
    members = [tuple(sorted(s)) for s in found]
    lengths = np.fromiter((len(s) for s in members), dtype=np.int64, count=len(members))
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    indices = np.fromiter((i for s in members for i in s), dtype=np.int64, count=int(indptr[-1]))
    incidence = sps.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(members), n))
    unit_cost = np.asarray(problem.weights)[:, None] * np.asarray(problem.distance_km)
    cost = np.asarray(incidence @ unit_cost) if members else np.zeros((0, k))
    return Areas(members, incidence, cost, lo + slack, hi - slack, respect_zones)
