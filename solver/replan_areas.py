"""The re-plan's cap over listed areas: when every connected area that fits the balance can be
listed (:func:`solver.areas.enumerate_areas`), the capped re-plan is a set-partitioning model —
one area per organiser, every ward in exactly one area — with the cap as one more row:

    Σ_(area, organiser) moves(area, organiser) · y[area, organiser] ≤ N

where ``moves`` counts the area's wards that have another current organiser. A pair moving more
than N wards on its own cannot be in any plan within the cap and is left out. Each area is
connected, so the model is exact: its optimum is the capped optimum, its infeasibility proves
that no plan keeps the cap. Without a cap the same model minimises the wards moved (the smallest
cap that works). Layers with too many areas to list fall back to the cut loop
(:mod:`solver.replan_cap`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver.areas import Areas, enumerate_areas
from solver.backends import Backend, highspy_module
from solver.partition import PRESOLVE
from solver.problem import Problem, Status

#: The listing may take this share of the time left, and at most this many seconds.
LISTING_SHARE = 0.2
LISTING_SECONDS = 3.0


@dataclass(frozen=True)
class AreaAnswer:
    """What the area model proved: a plan (organiser position per ward) and its value, and the
    model's bound."""

    status: Status
    plan: list[int] | None
    value: float | None
    bound: float | None


def list_areas(
    costed: Problem, tolerance: float, respect_zones: bool, deadline: float
) -> Areas | None:
    """Every connected area that fits, with ``costed``'s costs; ``None`` when too many or too
    slow to list."""
    lo, hi = costed.load_bounds(tolerance)
    left = deadline - time.monotonic()
    stop = time.monotonic() + min(LISTING_SECONDS, max(0.1, left * LISTING_SHARE))
    return enumerate_areas(costed, lo, hi, respect_zones=respect_zones, deadline=stop)


def moves_matrix(areas: Areas, base: Sequence[int | None], k: int) -> np.ndarray:
    """areas × organisers: the wards of the area that would leave another current organiser."""
    away = np.zeros((len(base), k))
    for i, b in enumerate(base):
        if b is not None:
            away[i, :] = 1.0
            away[i, b] = 0.0
    return np.asarray(areas.incidence @ away)


def solve_areas(
    areas: Areas,
    base: Sequence[int | None],
    cap: int | None,
    backend: Backend,
    *,
    time_limit: float,
    gap: float,
) -> AreaAnswer:
    """The least-cost plan moving at most ``cap`` wards; with ``cap=None`` the plan moving the
    fewest wards (its value: that number). A HiGHS model (presolve off: on set-partitioning
    models with many columns it ignores the time limit, :data:`solver.partition.PRESOLVE`)."""
    n, k = areas.incidence.shape[1], areas.cost.shape[1]
    moves = moves_matrix(areas, base, k)
    keep = np.argwhere(moves <= (cap if cap is not None else n) + 1e-9)
    value = areas.cost if cap is not None else moves
    if len(keep) == 0:
        return AreaAnswer(Status.INFEASIBLE, None, None, None)
    h = _model(areas, keep, moves, cap, value, backend)
    h.setOptionValue("time_limit", max(0.05, time_limit))
    h.setOptionValue("mip_rel_gap", gap)
    h.run()
    hs = highspy_module()
    if h.getModelStatus() == hs.HighsModelStatus.kInfeasible:
        return AreaAnswer(Status.INFEASIBLE, None, None, None)
    info = h.getInfo()
    bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    if info.primal_solution_status != 2:
        return AreaAnswer(Status.NO_SOLUTION, None, None, bound)
    x = np.asarray(h.getSolution().col_value)
    plan = [-1] * n
    total = 0.0
    for col in np.flatnonzero(x > 0.5):
        s, j = int(keep[col, 0]), int(keep[col, 1])
        total += float(value[s, j])
        for i in areas.members[s]:
            plan[i] = j
    optimal = h.getModelStatus() == hs.HighsModelStatus.kOptimal
    return AreaAnswer(Status.OPTIMAL if optimal else Status.FEASIBLE, plan, total, bound)


def _model(
    areas: Areas,
    keep: np.ndarray,
    moves: np.ndarray,
    cap: int | None,
    value: np.ndarray,
    backend: Backend,
) -> Any:
    """Rows: each unit once, each organiser once (equalities), the cap (≤); one binary column
    per kept (area, organiser)."""
    n, k = areas.incidence.shape[1], areas.cost.shape[1]
    hs = highspy_module()
    h = backend.highs_model()
    h.setOptionValue("presolve", PRESOLVE)
    ones = np.ones(n + k)
    h.addRows(n + k, ones, ones, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    if cap is not None:
        h.addRows(1, np.array([-np.inf]), np.array([float(cap)]), 0, *_empty())
    starts: list[int] = []
    idx: list[int] = []
    coef: list[float] = []
    for s, j in keep:
        starts.append(len(idx))
        members = areas.members[int(s)]
        idx.extend([*members, n + int(j)])
        coef.extend([1.0] * (len(members) + 1))
        if cap is not None and moves[s, j] > 0:
            idx.append(n + k)
            coef.append(float(moves[s, j]))
    nc = len(starts)
    h.addCols(
        nc,
        value[keep[:, 0], keep[:, 1]].astype(float),
        np.zeros(nc),
        np.ones(nc),
        len(idx),
        np.array(starts, np.int32),
        np.array(idx, np.int32),
        np.array(coef),
    )
    h.changeColsIntegrality(
        nc, np.arange(nc, dtype=np.int32), np.full(nc, hs.HighsVarType.kInteger)
    )
    return h


def _empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
