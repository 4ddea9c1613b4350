"""Large-neighbourhood search: re-optimise a few neighbouring areas at a time, exactly.

Take the current plan, free the units of a handful of organisers whose areas touch, and solve that
small districting problem to optimality (same load limits, same contiguity cuts) with everybody else
fixed. Any improvement is kept. Each sub-problem has a few dozen units, so the MIP solves in a
fraction of a second where the whole city would take minutes. Like the other heuristics it only
improves the incumbent; the bound comes from the full model.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from solver import verify
from solver.backends import Backend
from solver.graph import components
from solver.model import AssignmentModel
from solver.problem import Problem

#: Organisers re-optimised together, and the time one sub-problem may take.
NEIGHBOURHOOD = 4
SUB_SECONDS = 3.0
#: After this many neighbourhoods in a row (at least; twice the organisers) bring nothing, the
#: neighbourhood grows by one organiser, up to MAX_NEIGHBOURHOOD; then the search stops.
STALL_MIN = 10
MAX_NEIGHBOURHOOD = 6


def _area_neighbours(assign: Sequence[int], problem: Problem) -> list[set[int]]:
    out: list[set[int]] = [set() for _ in range(problem.n_organisers)]
    for a, b in problem.edges:
        ja, jb = assign[a], assign[b]
        if ja != jb:
            out[ja].add(jb)
            out[jb].add(ja)
    return out


def _pick(neighbours: list[set[int]], size: int, rng: random.Random) -> list[int]:
    first = rng.randrange(len(neighbours))
    chosen = [first]
    frontier = set(neighbours[first])
    while len(chosen) < size and frontier:
        nxt = rng.choice(sorted(frontier))
        chosen.append(nxt)
        frontier |= neighbours[nxt]
        frontier -= set(chosen)
    return chosen


def _sub_problem(problem: Problem, units: list[int], orgs: list[int]) -> Problem:
    pos = {u: q for q, u in enumerate(units)}
    edges = [(pos[a], pos[b]) for a, b in problem.edges if a in pos and b in pos]
    return Problem(
        unit_ids=tuple(problem.unit_ids[u] for u in units),
        weights=tuple(problem.weights[u] for u in units),
        edges=tuple(edges),
        organiser_ids=tuple(problem.organiser_ids[j] for j in orgs),
        distance_km=tuple(tuple(problem.distance_km[u][j] for j in orgs) for u in units),
        zones=None if problem.zones is None else tuple(problem.zones[u] for u in units),
    )


def _solve_exactly(
    sub: Problem,
    start: list[int],
    lo: float,
    hi: float,
    respect_zones: bool,
    backend: Backend,
    deadline: float,
) -> list[int]:
    """The best connected plan of ``sub`` found before ``deadline``, never worse than ``start``."""
    model = AssignmentModel(sub, lo=lo, hi=hi, respect_zones=respect_zones)
    nb = sub.neighbours()
    best, best_val = start, verify.objective(sub, start)
    while (left := deadline - time.monotonic()) > 0.05:
        res = backend.solve(
            model.lp, time_limit=left, gap=1e-6, warm_start=model.start_values(best)
        )
        if not res.values:
            break
        a = model.assignment_from(res.values)
        if all(
            len(components([i for i, x in enumerate(a) if x == j], nb)) == 1
            for j in range(sub.n_organisers)
        ):
            if verify.objective(sub, a) < best_val - 1e-9:
                best = a
            break
        if model.add_separator_cuts(a) == 0:
            break
    return best


def improve(
    problem: Problem,
    assign: list[int],
    lo: float,
    hi: float,
    backend: Backend,
    *,
    deadline: float,
    respect_zones: bool = False,
    seed: int = 0,
    neighbourhood: int = NEIGHBOURHOOD,
    on_improve: Callable[[list[int]], None] | None = None,
) -> list[int]:
    """Re-optimise neighbourhoods of areas until ``deadline``; returns the improved plan.
    ``on_improve`` is called with the plan after every improvement."""
    rng = random.Random(seed)
    plan = list(assign)
    size = min(neighbourhood, problem.n_organisers)
    if size < 2 or size == problem.n_organisers:
        return plan  # the whole city: that is the full model's job
    stall, patience = 0, max(STALL_MIN, 2 * problem.n_organisers)
    while time.monotonic() < deadline - 0.1:
        if stall >= patience:
            if size >= min(MAX_NEIGHBOURHOOD, problem.n_organisers - 1):
                break
            size, stall = size + 1, 0  # a local optimum for this size: look wider
        stall += 1
        orgs = _pick(_area_neighbours(plan, problem), size, rng)
        if len(orgs) < 2:
            continue
        units = [i for i, j in enumerate(plan) if j in orgs]
        local = {j: q for q, j in enumerate(orgs)}
        sub = _sub_problem(problem, units, orgs)
        start = [local[plan[i]] for i in units]
        sub_deadline = min(deadline, time.monotonic() + SUB_SECONDS)
        better = _solve_exactly(sub, start, lo, hi, respect_zones, backend, sub_deadline)
        if better != start:
            stall = 0
            for q, i in enumerate(units):
                plan[i] = orgs[better[q]]
            if on_improve is not None:
                on_improve(plan)
    return plan
