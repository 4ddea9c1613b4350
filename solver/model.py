"""The integer programme, in PuLP.

Variables ``x[i][j] = 1`` when unit ``i`` goes to organiser ``j``. Rows: each unit to exactly one
organiser; each organiser's load within ``[lo, hi]``; optionally each organiser inside one zone (binary
``y[j][z]``; the solver chooses how many organisers each zone gets). Contiguity is exact but lazy: the
model starts without it, and :meth:`AssignmentModel.add_separator_cuts` adds, for every area found in
several pieces, the a–b separator inequalities

    x[a][j] + x[b][j] − Σ_{s ∈ S} x[s][j] ≤ 1      (S a minimal vertex separator of a and b)

which every connected area satisfies. Re-solving until the optimum is connected therefore gives the
exact contiguous optimum; the bound of every round is a valid lower bound on it.

Two objectives: ``distance`` (Σ load × km to the organiser's home) and ``balance`` (the smallest
relative deviation ``t`` from the mean load, with a tie-break on distance too small to change ``t``
by more than ``BALANCE_TIE_WEIGHT``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulp

from solver.graph import components, minimal_separator
from solver.problem import Problem

BALANCE_TIE_WEIGHT = 1e-5


class AssignmentModel:
    def __init__(
        self,
        problem: Problem,
        *,
        lo: float,
        hi: float,
        respect_zones: bool = False,
        objective: str = "distance",
    ):
        if objective not in ("distance", "balance"):
            raise ValueError(f"unknown objective {objective!r}")
        self.problem = problem
        self.objective = objective
        self.nb = problem.neighbours()
        n, k = problem.n_units, problem.n_organisers
        self.lp = pulp.LpProblem("wardplan", pulp.LpMinimize)
        self.x = [
            [self.lp.add_variable(f"x_{i}_{j}", 0, 1, cat="Binary") for j in range(k)]
            for i in range(n)
        ]
        self._cut_keys: set[tuple[int, int, int, tuple[int, ...]]] = set()
        self.cuts = 0
        w, d = problem.weights, problem.distance_km
        distance = pulp.lpSum(w[i] * d[i][j] * self.x[i][j] for i in range(n) for j in range(k))
        for i in range(n):
            self.lp += pulp.lpSum(self.x[i]) == 1, f"one_{i}"
        m = problem.mean_load
        loads = [pulp.lpSum(w[i] * self.x[i][j] for i in range(n)) for j in range(k)]
        if objective == "distance":
            self.t = None
            self.lp += distance
            for j in range(k):
                self.lp += loads[j] <= hi, f"hi_{j}"
                if lo > 0:
                    self.lp += loads[j] >= lo, f"lo_{j}"
        else:
            self.t = self.lp.add_variable("t", lowBound=0)
            scale = max(problem.total_weight * max(max(r) for r in d), 1e-9)
            self.lp += self.t + (BALANCE_TIE_WEIGHT / scale) * distance
            for j in range(k):
                self.lp += loads[j] <= m + m * self.t, f"hi_{j}"
                self.lp += loads[j] >= m - m * self.t, f"lo_{j}"
        for j in range(k):
            self.lp += pulp.lpSum(self.x[i][j] for i in range(n)) >= 1, f"nonempty_{j}"
        if respect_zones and problem.zones is not None:
            zones = sorted({z for z in problem.zones if z is not None})
            zi = {z: q for q, z in enumerate(zones)}
            self.y = [
                [self.lp.add_variable(f"y_{j}_{q}", 0, 1, cat="Binary") for q in range(len(zones))]
                for j in range(k)
            ]
            for j in range(k):
                self.lp += pulp.lpSum(self.y[j]) == 1, f"zone_{j}"
                for i in range(n):
                    z = problem.zones[i]
                    if z is not None:
                        self.lp += self.x[i][j] <= self.y[j][zi[z]], f"inzone_{i}_{j}"

    # -- reading and writing assignments ---------------------------------------------------------

    def assignment_from(self, values: dict[str, float]) -> list[int]:
        out = []
        for i, row in enumerate(self.x):
            j = max(range(len(row)), key=lambda j: values.get(row[j].name, 0.0))
            if values.get(row[j].name, 0.0) < 0.5:
                raise ValueError(f"unit {i} is not assigned in the MIP solution")
            out.append(j)
        return out

    def start_values(self, assignment: Sequence[int], t: float | None = None) -> dict[str, float]:
        """A complete MIP start for ``assignment`` (``t`` for the balance objective)."""
        vals = {v.name: 0.0 for row in self.x for v in row}
        for i, j in enumerate(assignment):
            vals[self.x[i][j].name] = 1.0
        if self.t is not None and t is not None:
            vals[self.t.name] = t
        if hasattr(self, "y") and self.problem.zones is not None:
            zones = sorted({z for z in self.problem.zones if z is not None})
            for j, row in enumerate(self.y):
                for q, var in enumerate(row):
                    vals[var.name] = 0.0
                units = [i for i, a in enumerate(assignment) if a == j]
                if units:
                    z = self.problem.zones[units[0]]
                    if z is not None:
                        vals[row[zones.index(z)].name] = 1.0
        return vals

    # -- contiguity ------------------------------------------------------------------------------

    def add_separator_cuts(self, assignment: Sequence[int]) -> int:
        """Cut off every disconnected area of ``assignment``; returns the number of new rows."""
        p = self.problem
        added = 0
        for j in range(p.n_organisers):
            units = [i for i, a in enumerate(assignment) if a == j]
            pieces = components(units, self.nb)
            if len(pieces) < 2:
                continue
            main = min(pieces, key=lambda c: min(p.distance_km[i][j] for i in c))
            b = min(main, key=lambda i: p.distance_km[i][j])
            for piece in pieces:
                if piece is main:
                    continue
                sep = tuple(minimal_separator(piece, b, self.nb))
                a_rep = max(piece, key=lambda i: p.weights[i])
                for jj in range(p.n_organisers):
                    for a in piece if jj == j else (a_rep,):
                        added += self._cut(a, b, jj, sep)
                # and from the main piece's side towards this piece
                a2 = min(piece, key=lambda i: p.distance_km[i][j])
                sep2 = tuple(minimal_separator(main, a2, self.nb))
                for a in main:
                    added += self._cut(a, a2, j, sep2)
        self.cuts += added
        return added

    def _cut(self, a: int, b: int, j: int, sep: tuple[int, ...]) -> int:
        key = (min(a, b), max(a, b), j, sep)
        if key in self._cut_keys:
            return 0
        self._cut_keys.add(key)
        x = self.x
        self.lp += (
            x[a][j] + x[b][j] - pulp.lpSum(x[s][j] for s in sep) <= 1,
            f"sep_{len(self._cut_keys)}",
        )
        return 1
