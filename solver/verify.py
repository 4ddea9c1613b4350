"""Independent verification of a plan: coverage, one connected area per organiser, balance.

This module shares no code with the model or the search: it checks a finished assignment against the
problem's definition, so that a bug in the optimiser cannot certify its own output.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from solver.problem import Problem

#: Relative slack on the load limits, so that a plan exactly at ±tolerance is not refused for rounding.
LOAD_EPS = 1e-7


@dataclass(frozen=True)
class Violation:
    kind: str  # coverage | empty | contiguity | zone | balance
    message: str
    organiser: str | None = None


def _pieces(units: list[int], nb: list[set[int]]) -> int:
    todo = set(units)
    count = 0
    while todo:
        count += 1
        queue = deque([todo.pop()])
        while queue:
            u = queue.popleft()
            for v in nb[u] & todo:
                todo.discard(v)
                queue.append(v)
    return count


def check_plan(
    problem: Problem,
    assignment: Sequence[int],
    tolerance: float | None,
    *,
    respect_zones: bool = False,
) -> list[Violation]:
    """Every way ``assignment`` breaks the rules; an empty list means the plan is valid.

    With ``respect_zones``, every area must also lie inside one zone."""
    n, k = problem.n_units, problem.n_organisers
    out: list[Violation] = []
    if len(assignment) != n:
        return [Violation("coverage", f"{len(assignment)} assignments for {n} wards")]
    for i, j in enumerate(assignment):
        if not 0 <= j < k:
            out.append(Violation("coverage", f"ward {problem.unit_ids[i]} has no valid organiser"))
    if out:
        return out
    nb: list[set[int]] = [set() for _ in range(n)]
    for a, b in problem.edges:
        nb[a].add(b)
        nb[b].add(a)
    members: list[list[int]] = [[] for _ in range(k)]
    for i, j in enumerate(assignment):
        members[j].append(i)
    lo, hi = (None, None) if tolerance is None else problem.load_bounds(tolerance)
    for j, units in enumerate(members):
        oid = problem.organiser_ids[j]
        if not units:
            out.append(Violation("empty", f"organiser {oid} has no ward", oid))
            continue
        pieces = _pieces(units, nb)
        if pieces > 1:
            out.append(
                Violation("contiguity", f"organiser {oid}'s area is in {pieces} pieces", oid)
            )
        if respect_zones and problem.zones is not None:
            zones = sorted({str(problem.zones[i]) for i in units})
            if len(zones) > 1:
                out.append(
                    Violation("zone", f"organiser {oid}'s area spans zones {', '.join(zones)}", oid)
                )
        load = math.fsum(problem.weights[i] for i in units)
        if lo is not None and hi is not None:
            slack = LOAD_EPS * max(1.0, problem.mean_load)
            if load < lo - slack or load > hi + slack:
                out.append(
                    Violation(
                        "balance",
                        f"organiser {oid} has load {load:,.1f}, outside {lo:,.1f}–{hi:,.1f} "
                        f"(±{tolerance * 100:.2f} % of the mean {problem.mean_load:,.1f})",  # type: ignore[operator]
                        oid,
                    )
                )
    return out


def loads(problem: Problem, assignment: Sequence[int]) -> list[float]:
    out = [0.0] * problem.n_organisers
    for i, j in enumerate(assignment):
        out[j] += problem.weights[i]
    return out


def max_deviation(problem: Problem, assignment: Sequence[int]) -> float:
    """The largest relative deviation of any organiser's load from the mean (0.05 = ±5 %)."""
    m = problem.mean_load
    if m <= 0:
        return 0.0
    return max(abs(x - m) / m for x in loads(problem, assignment))


def objective(problem: Problem, assignment: Sequence[int]) -> float:
    """Σ load × km from the ward to its organiser's home."""
    return math.fsum(
        problem.weights[i] * problem.distance_km[i][j] for i, j in enumerate(assignment)
    )
