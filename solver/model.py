"""The integer programme, in PuLP.

Variables ``x[i][j] = 1`` when unit ``i`` goes to organiser ``j``. Rows: each unit to exactly one
organiser; each organiser's load within ``[lo, hi]``; optionally each organiser inside one zone (binary
``y[j][z]``; the solver chooses how many organisers each zone gets). Contiguity is exact but lazy: the
model starts without it, and :meth:`AssignmentModel.add_separator_cuts` adds, for every area found in
several pieces, the a–b separator inequalities

    x[a][j] + x[b][j] − Σ_{s ∈ S} x[s][j] ≤ 1      (S a minimal vertex separator of a and b)

which every connected area satisfies. Re-solving until the optimum is connected therefore gives the
exact contiguous optimum; the bound of every round is a valid lower bound on it.

The objective is Σ load × km from each unit to its organiser's home. With a clock, the build
checks the time between rows and stops with :class:`~solver.deadline.BuildStopped`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulp

from solver.deadline import Remaining, check_build
from solver.graph import components, minimal_separator
from solver.problem import Problem


class AssignmentModel:
    #: Which separator rows a disconnected area produces: always one per unit of each stray piece
    #: for its organiser; optionally the same separator for every other organiser, and mirror rows
    #: from the main piece's side. Both extras are off: they tripled the rows and doubled the final
    #: gap (benchmarks/NOTES.md).
    cut_all_organisers = False
    cut_both_sides = False
    #: Neighbour rows: a unit too light to be an area alone needs a neighbour in its area,
    #: x[i][j] ≤ Σ_{v ∈ N(i)} x[v][j] (valid for every connected area of two or more units).
    neighbour_rows = False

    def __init__(
        self,
        problem: Problem,
        *,
        lo: float,
        hi: float,
        respect_zones: bool = False,
        centres: Sequence[int] | None = None,
        clock: Remaining | None = None,
    ):
        """The model; with a ``clock``, the build checks the time left between rows and raises
        :class:`~solver.deadline.BuildStopped` when there is none."""
        self.problem = problem
        self.nb = problem.neighbours()
        self.clock = clock
        self.what = "the star-shaped model" if centres is not None else "the assignment model"
        n, k = problem.n_units, problem.n_organisers
        self.lp = pulp.LpProblem("wardplan", pulp.LpMinimize)
        self._cut_keys: set[tuple[int, int, int, tuple[int, ...]]] = set()
        self.cuts = 0
        w, d = problem.weights, problem.distance_km
        self.x: list[list[pulp.LpVariable]] = []
        terms: list[tuple[pulp.LpVariable, float]] = []
        for i in range(n):
            self._check(i, n, "units")
            self.x.append(
                [self.lp.add_variable(f"x_{i}_{j}", 0, 1, cat="Binary") for j in range(k)]
            )
            terms.extend((self.x[i][j], w[i] * d[i][j]) for j in range(k) if w[i] * d[i][j])
        for i in range(n):
            self._check(i, n, "unit rows")
            self.lp += pulp.lpSum(self.x[i]) == 1, f"one_{i}"
        self.lp += pulp.LpAffineExpression(terms)
        self._add_load_rows(lo, hi)
        if self.neighbour_rows and centres is None:
            self._add_neighbour_rows(lo)
        if respect_zones and problem.zones is not None:
            self._add_zone_rows()
        if centres is not None:
            self._add_star_rows(centres)

    def _check(self, done: int, total: int, unit: str) -> None:
        check_build(self.clock, self.what, done, total, unit)

    def _add_load_rows(self, lo: float, hi: float) -> None:
        """Each organiser's load within [lo, hi], and at least one unit."""
        n, k, w = self.problem.n_units, self.problem.n_organisers, self.problem.weights
        for j in range(k):
            self._check(j, k, "organisers' rows")
            load = pulp.lpSum(w[i] * self.x[i][j] for i in range(n))
            self.lp += load <= hi, f"hi_{j}"
            if lo > 0:
                self.lp += load >= lo, f"lo_{j}"
        for j in range(k):
            self.lp += pulp.lpSum(self.x[i][j] for i in range(n)) >= 1, f"nonempty_{j}"

    def _add_neighbour_rows(self, lo: float) -> None:
        """A unit whose load is below ``lo`` shares its area with a neighbour."""
        p, k = self.problem, self.problem.n_organisers
        light = [i for i in range(p.n_units) if p.weights[i] < lo and self.nb[i]]
        for j in range(k):
            self._check(j, k, "organisers' neighbour rows")
            for i in light:
                self.lp += (
                    self.x[i][j] <= pulp.lpSum(self.x[v][j] for v in self.nb[i]),
                    f"nb_{i}_{j}",
                )

    def _add_zone_rows(self) -> None:
        """Each organiser inside one zone (binary ``y[j][z]``)."""
        problem, k = self.problem, self.problem.n_organisers
        zones = sorted({z for z in problem.zones or () if z is not None})
        zi = {z: q for q, z in enumerate(zones)}
        self.y = [
            [self.lp.add_variable(f"y_{j}_{q}", 0, 1, cat="Binary") for q in range(len(zones))]
            for j in range(k)
        ]
        for j in range(k):
            self._check(j, k, "organisers' zone rows")
            self.lp += pulp.lpSum(self.y[j]) == 1, f"zone_{j}"
            for i, z in enumerate(problem.zones or ()):
                if z is not None:
                    self.lp += self.x[i][j] <= self.y[j][zi[z]], f"inzone_{i}_{j}"

    def _add_star_rows(self, centres: Sequence[int]) -> None:
        """Restrict each area to a 'star' around its centre: a unit may join organiser ``j`` only
        with a neighbour on ``j``'s side that is nearer the centre (by hops, then by km to the
        home). Every such area is connected, so no cuts are needed — but the restriction can exclude
        the true optimum: this model gives good plans fast, never bounds."""
        p = self.problem
        d = p.distance_km
        for j, c in enumerate(centres):
            self._check(j, len(centres), "organisers' star rows")
            hops = _hops_from(c, self.nb)
            self.lp += self.x[c][j] == 1, f"centre_{j}"
            for i in range(p.n_units):
                if i == c:
                    continue
                key = (hops[i], d[i][j])
                closer = [v for v in self.nb[i] if (hops[v], d[v][j]) < key]
                self.lp += (
                    self.x[i][j] <= pulp.lpSum(self.x[v][j] for v in closer),
                    f"star_{i}_{j}",
                )

    # -- reading and writing assignments ---------------------------------------------------------

    def assignment_from(self, values: Mapping[str, float]) -> list[int]:
        out = []
        for i, row in enumerate(self.x):
            j = max(range(len(row)), key=lambda j: values.get(row[j].name, 0.0))
            if values.get(row[j].name, 0.0) < 0.5:
                raise ValueError(f"unit {i} is not assigned in the MIP solution")
            out.append(j)
        return out

    def start_values(self, assignment: Sequence[int]) -> dict[str, float]:
        """A complete MIP start for ``assignment``."""
        vals = {v.name: 0.0 for row in self.x for v in row}
        for i, j in enumerate(assignment):
            vals[self.x[i][j].name] = 1.0
        if hasattr(self, "y") and self.problem.zones is not None:
            zones = sorted({z for z in self.problem.zones if z is not None})
            for j, row in enumerate(self.y):
                for _q, var in enumerate(row):
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
            if self.clock is not None and self.clock.remaining() <= 0:
                break  # the loop that called stops for the time too
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
                others = range(p.n_organisers) if self.cut_all_organisers else (j,)
                for jj in others:
                    for a in piece if jj == j else (a_rep,):
                        added += self._cut(a, b, jj, sep)
                if self.cut_both_sides:  # and from the main piece's side towards this piece
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


def _hops_from(source: int, nb: Sequence[Sequence[int]]) -> list[float]:
    """Breadth-first hop counts from ``source`` (infinity where unreachable)."""
    hops = [float("inf")] * len(nb)
    hops[source] = 0
    frontier = [source]
    while frontier:
        nxt = []
        for u in frontier:
            for v in nb[u]:
                if hops[v] == float("inf"):
                    hops[v] = hops[u] + 1
                    nxt.append(v)
        frontier = nxt
    return hops
