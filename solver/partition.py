"""Exact set partitioning for cities with few wards per organiser.

When each organiser gets only a handful of wards, the number of *connected* areas whose load fits
the balance window is small enough to list them all (Chandigarh with 9 COs: 187 areas; Lucknow with
37: about 4,600; Bangalore with 40: about 74,000). Then the districting problem is exactly

    min Σ_{S,j} cost(S, j) · y[S][j]   s.t.  every unit in exactly one chosen area,
                                            every organiser exactly one area,  y binary,

with ``cost(S, j)`` = Σ_{i∈S} load_i × km from ``i`` to ``j``'s home. Contiguity and balance are
built into the columns, so no cut loop is needed, and the LP relaxation of this model is far tighter
than that of the assignment model (benchmarks/NOTES.md).

The LP is solved by column generation over the listed areas (reduced costs of all of them are one
sparse product); its value ``LB`` is a valid lower bound. Every plan better than ``LB + Δ`` uses only
columns with reduced cost ≤ Δ, so the integer programme over those columns alone is exact below
``LB + Δ``; Δ grows until the plan found lies below it. An infeasible LP proves that no contiguous
plan exists at this balance — the listing is complete.

Everything here is pure computation (numpy, scipy.sparse, highspy); it runs only with HiGHS.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver import relaxed
from solver.areas import MAX_AREAS, Areas, enumerate_areas
from solver.backends import HighsFactory, highspy_module
from solver.problem import Problem, Status

__all__ = [
    "MAX_AREAS",
    "Areas",
    "PartitionResult",
    "enumerate_areas",
    "find_partition",
    "solve_partition",
]

#: Columns priced into the restricted LP per organiser and round, and the first Δ as a share of LB.
PRICE_PER_ORGANISER = 30
FIRST_DELTA = 0.002
#: The integer programme is given at most this many columns; beyond, Δ stops growing.
MAX_MIP_COLUMNS = 400_000

#: Before the integer programme, a dive on the LP looks for a plan: fix the column with the largest
#: fractional value to 1 and re-solve (pricing in columns over every listed area) until the LP is
#: integral or admits no plan, then round the last LP that did; at most DIVE_MAX_LPS steps and
#: DIVE_SHARE of the time left. On large listings the integer programme's root cuts can take the
#: whole time limit without a plan, while the dive finds one in seconds (benchmarks/NOTES.md).
DIVE_SHARE = 0.3
DIVE_MAX_LPS = 400

#: HiGHS's presolve ignores the time limit on set-partitioning models with many columns
#: (benchmarks/NOTES.md), so it is switched off.
PRESOLVE = "off"

ProgressFn = Callable[[float | None, float | None, str], None]
#: improve(plan, deadline) → a plan no worse (see :func:`solve_partition`).
ImproveFn = Callable[[list[int], float], list[int]]


@dataclass(frozen=True)
class PartitionResult:
    status: Status
    assignment: list[int] | None
    objective: float | None
    bound: float | None
    lp_bound: float | None
    columns: int
    detail: str = ""

    @classmethod
    def without_plan(cls, status: Status, columns: int, detail: str) -> PartitionResult:
        """An answer with no plan: infeasible (proved) or no_solution (time ran out)."""
        return cls(status, None, None, None, None, columns, detail)


class _Master:
    """The restricted LP: rows are units then organisers (all = 1); columns are (area, organiser)."""

    def __init__(self, problem: Problem, areas: Areas, highs: HighsFactory):
        self.n, self.k = problem.n_units, problem.n_organisers
        self.areas = areas
        hs = self.hs = highspy_module()
        self.h = highs()
        rows = self.n + self.k
        _equality_rows(self.h, np.ones(rows))
        # one artificial per row (phase 1 minimises their sum; phase 2 fixes them at zero)
        self.h.addCols(
            rows,
            np.ones(rows),
            np.zeros(rows),
            np.full(rows, hs.kHighsInf),
            rows,
            np.arange(rows, dtype=np.int32),
            np.arange(rows, dtype=np.int32),
            np.ones(rows),
        )
        self.artificials = rows
        self.columns: list[tuple[int, int]] = []
        self._known: set[tuple[int, int]] = set()

    def add(self, pairs: Sequence[tuple[int, int]], phase: int) -> int:
        starts: list[int] = []
        index: list[int] = []
        costs: list[float] = []
        for s, j in pairs:
            if (s, j) in self._known:
                continue
            self._known.add((s, j))
            self.columns.append((s, j))
            starts.append(len(index))
            index.extend(self.areas.members[s])
            index.append(self.n + j)
            costs.append(0.0 if phase == 1 else float(self.areas.cost[s, j]))
        if not starts:
            return 0
        self.h.addCols(
            len(starts),
            np.array(costs),
            np.zeros(len(starts)),
            np.full(len(starts), self.hs.kHighsInf),
            len(index),
            np.array(starts, np.int32),
            np.array(index, np.int32),
            np.ones(len(index)),
        )
        return len(starts)

    def to_phase_2(self) -> None:
        a = self.artificials
        idx = np.arange(a, a + len(self.columns), dtype=np.int32)
        costs = np.array([self.areas.cost[s, j] for s, j in self.columns])
        self.h.changeColsCost(len(idx), idx, costs)
        art = np.arange(a, dtype=np.int32)
        self.h.changeColsBounds(a, art, np.zeros(a), np.zeros(a))

    def solve(self) -> tuple[float, np.ndarray, np.ndarray]:
        self.h.run()
        status = self.h.getModelStatus()
        if status != self.hs.HighsModelStatus.kOptimal:
            raise RuntimeError(f"restricted LP: {self.h.modelStatusToString(status)}")
        sol = self.h.getSolution()
        duals = np.asarray(sol.row_dual)
        return self.h.getInfo().objective_function_value, duals[: self.n], duals[self.n :]


def _generate(
    master: _Master, price: np.ndarray, phase: int, deadline: float
) -> tuple[float, np.ndarray] | None:
    """Column generation to LP optimality; (LP value, reduced costs of all columns), or ``None``
    when the deadline passes first."""
    areas = master.areas
    while True:
        value, pi, mu = master.solve()
        rc = price - np.asarray(areas.incidence @ pi)[:, None] - mu[None, :]
        tol = 1e-9 * max(1.0, abs(value))
        pairs: list[tuple[int, int]] = []
        per = min(PRICE_PER_ORGANISER, areas.count)
        for j in range(master.k):
            col = rc[:, j]
            best = (
                np.argpartition(col, per - 1)[:per] if per < areas.count else np.arange(areas.count)
            )
            pairs.extend((int(s), j) for s in best if col[s] < -tol)
        if not pairs or master.add(pairs, phase) == 0:
            return value, rc
        if time.monotonic() > deadline:
            return None


def solve_partition(
    problem: Problem,
    areas: Areas,
    *,
    time_limit: float,
    gap: float,
    highs: HighsFactory,
    start: Sequence[int] | None = None,
    on_progress: ProgressFn | None = None,
    improve: ImproveFn | None = None,
    first_share: float = 1.0,
    improve_share: float = 0.0,
) -> PartitionResult:
    """The best plan made of the listed areas (exact: the listing holds every feasible area).

    After the LP and a dive for a first plan, the integer programme gets ``first_share`` of the
    time left. If that does not prove the optimum, ``improve(plan, deadline)`` (any search that
    returns a plan no worse, made of listed areas) gets ``improve_share`` of what is left, and the
    integer programme the rest, warm-started with the improved plan. ``highs`` makes every HiGHS
    model (the backend's options: seed, threads)."""
    deadline = time.monotonic() + time_limit
    if areas.count == 0:
        return PartitionResult.without_plan(Status.INFEASIBLE, 0, "no connected area fits")
    master = _Master(problem, areas, highs)
    index = {m: s for s, m in enumerate(areas.members)}
    start_cols = _columns_of(start, index, problem.n_organisers) if start is not None else None
    master.add(_first_columns(areas, problem.n_organisers) + (start_cols or []), phase=1)
    phase1 = _generate(master, np.zeros_like(areas.cost), 1, deadline)
    if phase1 is None:
        return PartitionResult.without_plan(Status.NO_SOLUTION, len(master.columns), "time ran out")
    if phase1[0] > 1e-7:
        return PartitionResult.without_plan(
            Status.INFEASIBLE,
            len(master.columns),
            "no set of connected areas covers every ward once at this balance (LP infeasible)",
        )
    master.to_phase_2()
    phase2 = _generate(master, areas.cost, 2, deadline)
    if phase2 is None:
        return PartitionResult.without_plan(Status.NO_SOLUTION, len(master.columns), "time ran out")
    search = _Search(problem, master, index, phase2, gap, highs, on_progress)
    if start_cols and start is not None:
        search.offer((float(sum(areas.cost[s, j] for s, j in start_cols)), list(start)), "")
    search.run(deadline, improve, first_share, improve_share)
    return search.result()


def _first_columns(areas: Areas, k: int) -> list[tuple[int, int]]:
    """The 20 cheapest areas of each organiser: the restricted LP's first columns."""
    per = min(20, areas.count)
    return [(int(s), j) for j in range(k) for s in np.argpartition(areas.cost[:, j], per - 1)[:per]]


class _Search:
    """The integer stage of :func:`solve_partition`: the best plan (``ub``, ``best``), the proven
    ``bound`` and Δ of the reduced-cost fixing, from the LP's value ``lb`` and reduced costs."""

    def __init__(
        self,
        problem: Problem,
        master: _Master,
        index: dict[tuple[int, ...], int],
        lp: tuple[float, np.ndarray],
        gap: float,
        highs: HighsFactory,
        on_progress: ProgressFn | None,
    ) -> None:
        self.problem, self.master, self.index, self.gap = problem, master, index, gap
        self.areas, self.highs, self.on_progress = master.areas, highs, on_progress
        self.lb, self.rc = lp
        self.bound = self.lb
        self.ub = math.inf
        self.best: list[int] | None = None
        self.delta = 0.0
        if on_progress:
            on_progress(None, self.lb, f"LP bound over {self.areas.count:,} areas")

    def proved(self) -> bool:
        return self.best is not None and self.ub - min(self.bound, self.ub) <= self.gap * max(
            1e-9, abs(self.ub)
        )

    def offer(self, found: tuple[float, list[int]] | None, label: str) -> None:
        if found is not None and found[0] < self.ub - 1e-9:
            self.ub, self.best = found
            if self.on_progress and label:
                self.on_progress(self.ub, self.bound, label)

    def run(
        self, deadline: float, improve: ImproveFn | None, first_share: float, improve_share: float
    ) -> None:
        lb, ub = self.lb, self.ub
        self.delta = max(min(ub - lb, FIRST_DELTA * abs(lb)), 1e-6 * max(1.0, abs(lb)))
        if not self.proved():
            dive_until = time.monotonic() + (deadline - time.monotonic()) * DIVE_SHARE
            self.offer(_dive(self.problem, self.master, self.index, dive_until), "dive on the LP")
        self.mip_rounds(time.monotonic() + (deadline - time.monotonic()) * first_share)
        if improve is not None and self.best is not None and not self.proved():
            plan = improve(
                self.best, time.monotonic() + (deadline - time.monotonic()) * improve_share
            )
            cols = _columns_of(plan, self.index, self.problem.n_organisers)
            if cols:
                cost = float(sum(self.areas.cost[s, j] for s, j in cols))
                self.offer((cost, list(plan)), "improved plan")
            self.mip_rounds(deadline)
        elif self.best is None:
            self.mip_rounds(deadline)  # nothing to improve: the integer programme keeps looking

    def mip_rounds(self, until: float) -> None:
        """Reduced-cost fixing: the integer programme over the columns below lb + Δ, Δ growing."""
        k = self.problem.n_organisers
        while True:
            keep, self.delta, capped = _below(self.rc, self.lb, self.delta)
            # the incumbent's columns too, for a warm start; extra columns only widen the
            # restricted model, so its bound stays a bound below lb + Δ
            keep = _with_plan(keep, self.best, self.index, k)
            left = until - time.monotonic()
            if left <= 0.05:
                return
            z, z_bound, plan = _mip(
                self.problem, self.areas, keep, left, self.gap, self.best, self.index, self.highs
            )
            # below lb + Δ only the kept columns can appear: the restricted bound is global there
            self.bound = max(self.bound, min(z_bound, self.lb + self.delta))
            if plan is not None and z is not None and z < self.ub - 1e-9:
                self.ub, self.best = z, plan
            if self.on_progress:
                known = None if self.best is None else self.ub
                self.on_progress(known, self.bound, f"{len(keep):,} columns below Δ")
            if self.proved():
                return
            if self.best is not None and self.ub <= self.lb + self.delta + 1e-9 * max(
                1.0, abs(self.ub)
            ):
                return  # the plan lies below lb + Δ: nothing outside the kept columns can beat it
            if capped or time.monotonic() >= until:
                return
            self.delta *= 4

    def result(self) -> PartitionResult:
        bound = min(self.bound, self.ub)
        columns = len(self.master.columns)
        if self.best is None:
            return PartitionResult(
                Status.NO_SOLUTION, None, None, bound, self.lb, columns, "time ran out"
            )
        status = Status.OPTIMAL if self.proved() else Status.FEASIBLE
        return PartitionResult(status, self.best, self.ub, bound, self.lb, columns)


def _below(rc: np.ndarray, lb: float, delta: float) -> tuple[np.ndarray, float, bool]:
    """The (area, organiser) columns with reduced cost ≤ Δ, at most MAX_MIP_COLUMNS of them (the
    cheapest); (columns, the Δ they are complete up to, whether the cap cut them)."""
    keep = np.argwhere(rc <= delta + 1e-9 * max(1.0, abs(lb)))
    if len(keep) <= MAX_MIP_COLUMNS:
        return keep, delta, False
    # keep the cheapest; the proof then holds only below the largest kept rc
    order = np.argsort(rc[keep[:, 0], keep[:, 1]], kind="stable")[:MAX_MIP_COLUMNS]
    keep = keep[order]
    return keep, float(rc[keep[-1, 0], keep[-1, 1]]), True


def _with_plan(
    keep: np.ndarray, plan: list[int] | None, index: dict[tuple[int, ...], int], k: int
) -> np.ndarray:
    """``keep`` with the columns of ``plan`` added (so that the restricted model holds a plan)."""
    extra = _columns_of(plan, index, k) or [] if plan is not None else []
    kept = {(int(a), int(b)) for a, b in keep}
    missing = [c for c in extra if c not in kept]
    return np.vstack([keep, np.array(missing, dtype=keep.dtype)]) if missing else keep


def _columns_of(
    assignment: Sequence[int], index: dict[tuple[int, ...], int], k: int
) -> list[tuple[int, int]] | None:
    groups: list[list[int]] = [[] for _ in range(k)]
    for i, j in enumerate(assignment):
        groups[j].append(i)
    cols = []
    for j, g in enumerate(groups):
        s = index.get(tuple(g))
        if s is None:
            return None  # not a listed area (out of balance, or disconnected)
        cols.append((s, j))
    return cols


def _mip(
    problem: Problem,
    areas: Areas,
    keep: np.ndarray,
    time_limit: float,
    gap: float,
    start: list[int] | None,
    index: dict[tuple[int, ...], int],
    highs: HighsFactory,
) -> tuple[float | None, float, list[int] | None]:
    """Set partitioning over the columns ``keep`` (rows of (area, organiser)): (objective or
    ``None``, proven bound of this restricted model (inf when infeasible), plan)."""
    k = problem.n_organisers
    hs = highspy_module()
    h = _restricted(problem, areas, keep, highs)
    h.setOptionValue("time_limit", max(0.05, time_limit))
    h.setOptionValue("mip_rel_gap", gap)
    nc = len(keep)
    h.changeColsIntegrality(
        nc, np.arange(nc, dtype=np.int32), np.full(nc, hs.HighsVarType.kInteger)
    )
    if start is not None:
        cols = _columns_of(start, index, k)
        where = {(int(s), int(j)): c for c, (s, j) in enumerate(keep)}
        if cols and all(c in where for c in cols):
            values = np.zeros(nc)
            for c in cols:
                values[where[c]] = 1.0
            sol = hs.HighsSolution()
            sol.col_value = list(values)
            h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    if status == hs.HighsModelStatus.kInfeasible:
        return None, math.inf, None
    info = h.getInfo()
    if info.primal_solution_status != 2:  # no feasible integer solution
        return None, float(info.mip_dual_bound), None
    found = _plan_of(problem, areas, keep, np.asarray(h.getSolution().col_value))
    if found is None:
        return None, -math.inf, None
    return found[0], float(info.mip_dual_bound), found[1]


def _restricted(problem: Problem, areas: Areas, keep: np.ndarray, highs: HighsFactory) -> Any:
    """A HiGHS model of the set-partitioning LP over the columns ``keep``, 0 ≤ x ≤ 1."""
    n, k = problem.n_units, problem.n_organisers
    h = highs()
    h.setOptionValue("presolve", PRESOLVE)
    _equality_rows(h, np.ones(n + k))
    starts: list[int] = []
    idx: list[int] = []
    for area, j in keep:
        starts.append(len(idx))
        idx.extend(areas.members[area])
        idx.append(n + int(j))
    nc = len(starts)
    h.addCols(
        nc,
        areas.cost[keep[:, 0], keep[:, 1]],
        np.zeros(nc),
        np.ones(nc),
        len(idx),
        np.array(starts, np.int32),
        np.array(idx, np.int32),
        np.ones(len(idx)),
    )
    return h


def _plan_of(
    problem: Problem, areas: Areas, keep: np.ndarray, x: np.ndarray
) -> tuple[float, list[int]] | None:
    """(cost, plan) of an integral solution over the columns ``keep``; ``None`` if it leaves a
    unit uncovered."""
    plan = [-1] * problem.n_units
    total = 0.0
    for col in np.flatnonzero(x > 0.5):
        area, j = int(keep[col, 0]), int(keep[col, 1])
        total += float(areas.cost[area, j])
        for i in areas.members[area]:
            plan[i] = j
    return None if -1 in plan else (total, plan)


def _dive(
    problem: Problem, master: _Master, index: dict[tuple[int, ...], int], deadline: float
) -> tuple[float, list[int]] | None:
    """A plan by diving on the LP (see DIVE_SHARE); ``None`` if the dive fails or the deadline
    passes. Columns are priced in over every listed area at each step, so the dive cannot run out
    of them; the artificial columns stay in at a large cost, and any of them in the LP's solution
    means the columns fixed so far admit no plan. Then (or when the steps run out) the last LP
    that admitted one is rounded: each unit to the organiser with its largest share, pieces handed
    to neighbours, balance restored (:func:`solver.relaxed.round_plan`). This changes ``master``:
    call it last."""
    h, areas, n, k = master.h, master.areas, master.n, master.k
    art = master.artificials
    # more than any plan costs (k areas), so the LP uses artificials only where it must
    big = (k + 1) * max(1.0, float(np.abs(areas.cost).max()))
    every = np.arange(art, dtype=np.int32)
    h.changeColsCost(art, every, np.full(art, big))
    h.changeColsBounds(art, every, np.zeros(art), np.full(art, master.hs.kHighsInf))
    last: np.ndarray | None = None  # the last LP solution that admitted a plan
    for _ in range(DIVE_MAX_LPS):
        if time.monotonic() > deadline:
            break
        try:
            if _generate(master, areas.cost, 2, deadline) is None:
                break
        except RuntimeError:  # the LP solver failed: round what there is
            break
        x = np.asarray(h.getSolution().col_value)
        if x[:art].max() > 1e-6:
            break
        last = x[art:].copy()
        frac = np.flatnonzero((last > 1e-6) & (last < 1 - 1e-6))
        if len(frac) == 0:
            break  # integral: the rounding below is exact
        pick = art + int(frac[np.argmax(last[frac])])
        h.changeColsBounds(1, np.array([pick], np.int32), np.ones(1), np.ones(1))
    if last is None:
        return None
    shares = np.zeros((n, k))
    for c in np.flatnonzero(last > 1e-9):
        s, j = master.columns[int(c)]
        shares[list(areas.members[s]), j] += last[c]
    plan = relaxed.round_plan(
        problem,
        shares,
        areas.lo,
        areas.hi,
        respect_zones=areas.respect_zones,
        deadline=max(deadline, time.monotonic() + 0.5),
    )
    cols = None if plan is None else _columns_of(plan, index, k)
    if plan is None or cols is None:  # (a rounded area could leave its zone: not listed)
        return None
    return float(sum(areas.cost[s, j] for s, j in cols)), plan


def find_partition(
    problem: Problem, areas: Areas, *, time_limit: float, highs: HighsFactory
) -> PartitionResult:
    """Any plan made of the listed areas, or a proof that none exists.

    Which organiser gets which area does not matter for feasibility, so this model has one column
    per area (every unit covered once, exactly ``k`` areas chosen) — a small integer programme. The
    areas found are then matched to organisers at least total cost (Hungarian method).
    """
    from scipy.optimize import linear_sum_assignment

    n, k = problem.n_units, problem.n_organisers
    if areas.count < k:
        return PartitionResult.without_plan(
            Status.INFEASIBLE, 0, "fewer fitting areas than organisers"
        )
    hs = highspy_module()
    h = highs()
    h.setOptionValue("time_limit", max(0.05, time_limit))
    h.setOptionValue("presolve", PRESOLVE)
    _equality_rows(h, np.append(np.ones(n), float(k)))  # units once each; k areas
    csc = areas.incidence.T.tocsc()  # units × areas: column s lists the units of area s
    m = areas.count
    starts: list[int] = []
    index: list[int] = []
    for s in range(m):
        starts.append(len(index))
        index.extend(int(i) for i in csc.indices[csc.indptr[s] : csc.indptr[s + 1]])
        index.append(n)
    h.addCols(
        m,
        np.zeros(m),
        np.zeros(m),
        np.ones(m),
        len(index),
        np.array(starts, np.int32),
        np.array(index, np.int32),
        np.ones(len(index)),
    )
    h.changeColsIntegrality(m, np.arange(m, dtype=np.int32), np.full(m, hs.HighsVarType.kInteger))
    h.run()
    status = h.getModelStatus()
    if status == hs.HighsModelStatus.kInfeasible:
        return PartitionResult.without_plan(
            Status.INFEASIBLE,
            m,
            f"no {k} connected areas with loads in the balance window cover every ward once",
        )
    if h.getInfo().primal_solution_status != 2:
        return PartitionResult.without_plan(Status.NO_SOLUTION, m, "time ran out")
    chosen = [int(s) for s in np.flatnonzero(np.asarray(h.getSolution().col_value) > 0.5)]
    rows, cols = linear_sum_assignment(areas.cost[chosen, :])
    plan = [-1] * n
    for r, j in zip(rows, cols, strict=True):
        for i in areas.members[chosen[r]]:
            plan[i] = int(j)
    total = float(areas.cost[chosen, :][rows, cols].sum())
    return PartitionResult(Status.FEASIBLE, plan, total, None, None, m)


def _equality_rows(h: Any, rhs: np.ndarray) -> None:
    """Add empty rows ``= rhs`` to the HiGHS model ``h`` (their columns come afterwards)."""
    h.addRows(len(rhs), rhs, rhs, 0, np.array([0], np.int32), np.array([], np.int32), np.array([]))
