"""The re-plan's cap over listed areas: when every connected area that fits the balance can be
listed (:func:`solver.areas.enumerate_areas`), the capped re-plan is a set-partitioning model —
one area per organiser, every ward in exactly one area — with the cap as one more row:

    Σ_(area, organiser) moves(area, organiser) · y[area, organiser] ≤ N

where ``moves`` counts the area's wards that have another current organiser. A pair moving more
than N wards on its own cannot be in any plan within the cap and is left out. Each area is
connected, so the model is exact: its optimum is the capped optimum, its infeasibility proves
that no plan keeps the cap. Without a cap the same model minimises the wards moved (the smallest
cap that works). Other rows of the same kind (:class:`MoveRow`, e.g. the households moved
at most the first step's value in :mod:`solver.replan_lex`) join the cap. Layers with too many
areas to list fall back to the cut loop (:mod:`solver.replan_cap`).
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


@dataclass(frozen=True)
class MoveRow:
    """A row over the wards that leave another current organiser:
    ``Σ per_ward[i] ≤ limit`` (all ones: the wards moved; the weights: the households moved)."""

    per_ward: tuple[float, ...]
    limit: float
    name: str = "moves"

    def of(self, base: Sequence[int | None], plan: Sequence[int]) -> float:
        """The row's left-hand side for ``plan``."""
        return math.fsum(
            c for c, b, a in zip(self.per_ward, base, plan, strict=True) if b is not None and b != a
        )

    def holds(self, base: Sequence[int | None], plan: Sequence[int]) -> bool:
        return self.of(base, plan) <= self.limit + 1e-9 * max(1.0, abs(self.limit))


def ward_cap(n: int, cap: int) -> MoveRow:
    """At most ``cap`` of ``n`` wards move."""
    return MoveRow((1.0,) * n, float(cap), "max_moves")


def list_areas(
    costed: Problem, tolerance: float, respect_zones: bool, deadline: float
) -> Areas | None:
    """Every connected area that fits, with ``costed``'s costs; ``None`` when too many or too
    slow to list."""
    lo, hi = costed.load_bounds(tolerance)
    left = deadline - time.monotonic()
    stop = time.monotonic() + min(LISTING_SECONDS, max(0.1, left * LISTING_SHARE))
    return enumerate_areas(costed, lo, hi, respect_zones=respect_zones, deadline=stop)


def moves_matrix(
    areas: Areas, base: Sequence[int | None], k: int, per_ward: Sequence[float] | None = None
) -> np.ndarray:
    """areas × organisers: the wards of the area that would leave another current organiser
    (with ``per_ward``: the sum of their ``per_ward``)."""
    away = np.zeros((len(base), k))
    for i, b in enumerate(base):
        if b is not None:
            away[i, :] = 1.0 if per_ward is None else per_ward[i]
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
    rows: Sequence[MoveRow] = (),
) -> AreaAnswer:
    """The least-cost plan moving at most ``cap`` wards and keeping ``rows``; with ``cap=None``
    and no rows the plan moving the fewest wards (its value: that number). A HiGHS model
    (presolve off: on set-partitioning models with many columns it ignores the time limit,
    :data:`solver.partition.PRESOLVE`)."""
    n, k = areas.incidence.shape[1], areas.cost.shape[1]
    limits = [*([] if cap is None else [ward_cap(n, cap)]), *rows]
    mats = [moves_matrix(areas, base, k, r.per_ward) for r in limits]
    fits = np.ones((areas.incidence.shape[0], k), dtype=bool)
    for r, m in zip(limits, mats, strict=True):
        fits &= m <= r.limit + 1e-9 * max(1.0, abs(r.limit))
    keep = np.argwhere(fits)
    value = areas.cost if limits else moves_matrix(areas, base, k)
    if len(keep) == 0:
        return AreaAnswer(Status.INFEASIBLE, None, None, None)
    h = _model(areas, keep, list(zip(limits, mats, strict=True)), value, backend)
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
    limits: Sequence[tuple[MoveRow, np.ndarray]],
    value: np.ndarray,
    backend: Backend,
) -> Any:
    """Rows: each unit once, each organiser once (equalities), each move row (≤); one binary
    column per kept (area, organiser)."""
    n, k = areas.incidence.shape[1], areas.cost.shape[1]
    hs = highspy_module()
    h = backend.highs_model()
    h.setOptionValue("presolve", PRESOLVE)
    ones = np.ones(n + k)
    h.addRows(n + k, ones, ones, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    for row, _ in limits:
        slack = 1e-9 * max(1.0, abs(row.limit))
        h.addRows(1, np.array([-np.inf]), np.array([row.limit + slack]), 0, *_empty())
    starts: list[int] = []
    idx: list[int] = []
    coef: list[float] = []
    for s, j in keep:
        starts.append(len(idx))
        members = areas.members[int(s)]
        idx.extend([*members, n + int(j)])
        coef.extend([1.0] * (len(members) + 1))
        for q, (_, moves) in enumerate(limits):
            if moves[s, j] > 0:
                idx.append(n + k + q)
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
