"""The contiguity-relaxed bound, and a plan rounded from it, for cities too large for the full model.

On sub-ward layers the assignment model has one binary per unit and organiser (5,000 units ×
250 organisers = 1.25 million): PuLP needs minutes and gigabytes only to build it, before any
solver starts. This module works with arrays instead:

- **The LP without contiguity**: each unit shared among organisers (Σ_j x_ij = 1), each load in
  ``[lo, hi]``, cost Σ load × km. HiGHS solves it over the ``CANDIDATES`` nearest organisers of
  each unit; then every other pair is priced, and pairs with a negative reduced cost join, until
  none is left (column generation), so the LP is the LP over *all* pairs.
- **A bound that does not trust the solver's tolerances**: for any multipliers ``v`` on the load
  rows, every plan costs at least ``Σ_i min_j (c_ij − w_i v_j) + Σ_j min(v_j lo, v_j hi)``
  (Lagrangian relaxation of the load rows). With the LP's duals this equals the LP value; it is
  computed here in floating point over all pairs.
- **A plan from the LP**: each unit to its largest share; the pieces of areas that came out in
  several pieces go to neighbouring areas; a tabu search restores the balance; boundary moves
  polish it (:mod:`solver.heuristic`).

The bound ignores contiguity, so the gap it gives is an upper limit on the true gap. Everything here
is pure computation (numpy, highspy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver import heuristic
from solver.backends import HighsFactory, highspy_module
from solver.problem import Problem

#: Organisers per unit in the first restricted LP (the nearest ones); pricing adds the rest as needed.
CANDIDATES = 8
#: Pairs with a reduced cost below -PRICE_EPS × (mean |cost|) join the LP in one pricing round, at
#: most PRICE_BATCH per unit.
PRICE_EPS = 1e-9
PRICE_BATCH = 4


@dataclass(frozen=True)
class RelaxedLP:
    bound: float  # Lagrangian bound from the LP duals: no plan costs less
    value: float  # the LP's own value (equal to the bound up to tolerances)
    shares: np.ndarray  # (n, k) the LP solution
    columns: int  # pairs in the final restricted LP
    rounds: int  # LP solves


def cost_matrix(problem: Problem) -> np.ndarray:
    """c[i, j]: load of unit i × km from unit i to organiser j's home."""
    cost: np.ndarray = np.asarray(problem.weights)[:, None] * np.asarray(problem.distance_km)
    return cost


def lagrangian_bound(
    problem: Problem, cost: np.ndarray, v: np.ndarray, lo: float, hi: float
) -> float:
    """A lower bound on every plan's cost (contiguous or not) for multipliers ``v`` on the loads."""
    w = np.asarray(problem.weights)
    per_unit = (cost - w[:, None] * v[None, :]).min(axis=1)
    return float(per_unit.sum() + np.minimum(v * lo, v * hi).sum())


def solve_lp(
    problem: Problem, lo: float, hi: float, *, deadline: float, highs: HighsFactory
) -> RelaxedLP | None:
    """The LP over all pairs, by column generation; ``None`` if time runs out first. ``highs``
    makes the HiGHS model (the backend's options: seed, threads).

    (The LP is feasible whenever the mean load lies in ``[lo, hi]``, since units may be shared.)"""
    hs = highspy_module()
    n, k = problem.n_units, problem.n_organisers
    cost = cost_matrix(problem)
    w = np.asarray(problem.weights)
    h = highs()
    # rows: one per unit (= 1), then one per organiser (lo ≤ load ≤ hi)
    _empty_rows(h, np.ones(n), np.ones(n))
    _empty_rows(h, np.full(k, lo), np.full(k, hi))
    in_lp = np.zeros((n, k), dtype=bool)
    pairs_i: list[np.ndarray] = []
    pairs_j: list[np.ndarray] = []

    def add(ii: np.ndarray, jj: np.ndarray) -> None:
        m = len(ii)
        starts = np.arange(0, 2 * m, 2, dtype=np.int32)
        index = np.empty(2 * m, dtype=np.int32)
        index[0::2], index[1::2] = ii, n + jj
        value = np.empty(2 * m)
        value[0::2], value[1::2] = 1.0, w[ii]
        h.addCols(m, cost[ii, jj], np.zeros(m), np.ones(m), 2 * m, starts, index, value)
        in_lp[ii, jj] = True
        pairs_i.append(ii)
        pairs_j.append(jj)

    near = np.argsort(np.asarray(problem.distance_km), axis=1)[:, : min(k, CANDIDATES)]
    add(np.repeat(np.arange(n), near.shape[1]), near.ravel())
    scale = max(1e-12, float(np.abs(cost).mean()))
    rounds = 0
    while True:
        if time.monotonic() > deadline:
            return None
        h.setOptionValue("time_limit", max(0.05, deadline - time.monotonic()))
        h.run()
        rounds += 1
        status = h.getModelStatus()
        if status == hs.HighsModelStatus.kInfeasible:
            # with the nearest organisers only; every organiser might still fix it
            if in_lp.all():
                return None
            rest_i, rest_j = np.nonzero(~in_lp)
            add(rest_i.astype(np.int32), rest_j.astype(np.int32))
            continue
        if status != hs.HighsModelStatus.kOptimal:
            return None
        sol = h.getSolution()
        dual = np.asarray(sol.row_dual)
        u, v = dual[:n], dual[n:]
        reduced = cost - u[:, None] - w[:, None] * v[None, :]
        reduced[in_lp] = 0.0
        negative = reduced < -PRICE_EPS * scale
        if not negative.any():
            break
        # per unit, its PRICE_BATCH most negative pairs
        order = np.argsort(reduced, axis=1)[:, :PRICE_BATCH]
        rows = np.repeat(np.arange(n), order.shape[1])
        cols = order.ravel()
        keep = negative[rows, cols]
        add(rows[keep].astype(np.int32), cols[keep].astype(np.int32))
    value = float(h.getInfo().objective_function_value)
    x = np.asarray(sol.col_value)
    shares = np.zeros((n, k))
    shares[np.concatenate(pairs_i), np.concatenate(pairs_j)] = x[: int(in_lp.sum())]
    # the sign convention of the duals does not matter: both are valid multipliers
    bound = max(lagrangian_bound(problem, cost, s * v, lo, hi) for s in (1.0, -1.0))
    return RelaxedLP(min(bound, value), value, shares, int(in_lp.sum()), rounds)


def _empty_rows(h: Any, lower: np.ndarray, upper: np.ndarray) -> None:
    """Add rows ``lower ≤ · ≤ upper`` to the HiGHS model ``h`` (their columns come afterwards)."""
    h.addRows(
        len(lower), lower, upper, 0, np.zeros(1, np.int32), np.zeros(0, np.int32), np.zeros(0)
    )


def round_plan(
    problem: Problem,
    shares: np.ndarray,
    lo: float,
    hi: float,
    *,
    respect_zones: bool = False,
    seed: int = 0,
    deadline: float,
) -> list[int] | None:
    """A contiguous plan within ``[lo, hi]`` made from the LP's shares; ``None`` if that fails."""
    nb = problem.neighbours()
    rough = [int(j) for j in shares.argmax(axis=1)]
    connected = heuristic.repair(problem, nb, rough)
    if connected is None:
        return None
    balanced = heuristic.balance(
        problem, nb, connected, lo, hi, respect_zones=respect_zones, seed=seed, deadline=deadline
    )
    if balanced is None:
        return None
    return heuristic.improve(
        problem, nb, balanced, lo, hi, respect_zones=respect_zones, seed=seed, deadline=deadline
    )
