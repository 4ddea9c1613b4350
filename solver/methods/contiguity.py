"""Contiguity as lazy constraints inside one SCIP search tree (:mod:`~solver.methods.branch_and_cut`).

The constraint handler holds no constraints of its own (``needscons=False``): SCIP asks it about
every candidate plan. An integer solution whose area of organiser ``j`` is in pieces is cut off by
the same a–b separator rows as the cut loop (:mod:`solver.model`),

    x[a][j] + x[b][j] − Σ_{s ∈ S} x[s][j] ≤ 1      (S a minimal vertex separator of a and b),

added as global constraints, so the search goes on in the same tree instead of starting again.
Fractional LP solutions are separated cheaply too: the units an organiser holds at least half of
are treated as its area and, when they are in pieces, the rows it gives are added as cuts if the
LP violates them; at the root, where the bound is made, a minimum-weight vertex separator (max-flow)
is also sought between each fractional unit and the organiser's strongest unit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import networkx as nx
from pyscipopt import Conshdlr, quicksum
from pyscipopt.scip import PY_SCIP_RESULT as SCIP_RESULT

from solver.graph import components, minimal_separator
from solver.problem import Problem

#: A cut is added only when the LP violates it by more than this.
VIOLATION = 0.05

#: The max-flow separation runs at the root only, for at most this share of the time limit and
#: this many seconds in all.
ROOT_FLOW_SHARE = 0.1
ROOT_FLOW_SECONDS = 5.0

#: Separator row key: (a, b, organiser, separator units).
Key = tuple[int, int, int, tuple[int, ...]]


def separators(
    problem: Problem, nb: Sequence[Sequence[int]], assignment: Sequence[int]
) -> Iterator[Key]:
    """The separator rows that cut off every area of ``assignment`` in pieces: for each stray piece,
    one row per unit, separating it from the main piece's unit nearest the home (as the cut loop)."""
    d = problem.distance_km
    for j in range(problem.n_organisers):
        units = [i for i, a in enumerate(assignment) if a == j]
        pieces = components(units, nb)
        if len(pieces) < 2:
            continue
        main = min(pieces, key=lambda c: min(d[i][j] for i in c))
        b = min(main, key=lambda i: d[i][j])
        for piece in pieces:
            if piece is not main:
                sep = tuple(minimal_separator(piece, b, nb))
                for a in piece:
                    yield (a, b, j, sep)


class ContiguityHandler(Conshdlr):
    """Checks every candidate plan for areas in pieces and cuts them off (see the module doc)."""

    def __init__(
        self,
        problem: Problem,
        x: Sequence[Sequence[Any]],
        time_limit: float,
        on_pieces: Callable[[list[int]], list[int] | None] = lambda _plan: None,
    ) -> None:
        """``on_pieces``: given an integer solution with an area in pieces, a better contiguous
        plan to offer SCIP as a solution (the cut loop's repair), or ``None``."""
        super().__init__()
        self.on_pieces = on_pieces
        self.repaired = 0  # plans from on_pieces that SCIP accepted
        self.flow_budget = min(ROOT_FLOW_SECONDS, ROOT_FLOW_SHARE * time_limit)
        self.problem = problem
        self.nb = problem.neighbours()
        self.x = x
        self.cuts = 0  # separator rows added (integer and fractional)
        self.flow_seconds = 0.0
        self._seen: set[Key] = set()
        self._rounded_node = -1

    # -- reading solutions -----------------------------------------------------------------------

    def _values(self, sol: Any) -> list[list[float]]:
        get = self.model.getSolVal
        return [[get(sol, v) for v in row] for row in self.x]

    def _assignment(self, vals: Sequence[Sequence[float]]) -> list[int] | None:
        """The plan of an integral solution; ``None`` if a unit is not (yet) fully assigned."""
        out = []
        for row in vals:
            j = max(range(len(row)), key=row.__getitem__)
            if row[j] < 0.5:
                return None
            out.append(j)
        return out

    def _in_pieces(self, sol: Any, *, repair: bool = False) -> list[Key]:
        plan = self._assignment(self._values(sol))
        if plan is None:
            return []
        keys = list(separators(self.problem, self.nb, plan))
        if keys and repair:
            self._offer(self.on_pieces(plan))
        return keys

    def _offer(self, plan: list[int] | None) -> None:
        """Hand a contiguous plan to SCIP as a solution (checked by SCIP, this handler included)."""
        if plan is None:
            return
        m = self.model
        sol = m.createSol()
        for i, row in enumerate(self.x):
            for j, var in enumerate(row):
                m.setSolVal(sol, var, 1.0 if plan[i] == j else 0.0)
        if m.trySol(sol, printreason=False):
            self.repaired += 1

    # -- SCIP callbacks --------------------------------------------------------------------------

    def conscheck(
        self, constraints: Any, solution: Any, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        bad = self._in_pieces(solution)
        return {"result": SCIP_RESULT.INFEASIBLE if bad else SCIP_RESULT.FEASIBLE}

    def consenfolp(
        self, constraints: Any, nusefulconss: int, solinfeasible: bool
    ) -> dict[str, Any]:
        return self._enforce()

    def consenfops(
        self, constraints: Any, nusefulconss: int, solinfeasible: bool, objinfeasible: bool
    ) -> dict[str, Any]:
        return self._enforce()

    def conslock(self, constraint: Any, locktype: int, nlockspos: int, nlocksneg: int) -> None:
        pass  # no constraints of its own; dual reductions are switched off in the model instead

    def conssepalp(self, constraints: Any, nusefulconss: int) -> dict[str, Any]:
        vals = self._values(None)
        node = self.model.getCurrentNode().getNumber()
        if node != self._rounded_node:  # once per node: the LP rounded to a plan, repaired
            self._rounded_node = node
            k = self.problem.n_organisers
            self._offer(self.on_pieces([max(range(k), key=row.__getitem__) for row in vals]))
        added = self._separate_rounded(vals)
        if self.model.getDepth() == 0 and self.flow_seconds < self.flow_budget:
            t0 = time.monotonic()
            added += self._separate_flow(vals)
            self.flow_seconds += time.monotonic() - t0
        return {"result": SCIP_RESULT.SEPARATED if added else SCIP_RESULT.DIDNOTFIND}

    # -- cuts ------------------------------------------------------------------------------------

    def _enforce(self) -> dict[str, Any]:
        bad = self._in_pieces(None, repair=True)
        if not bad:
            return {"result": SCIP_RESULT.FEASIBLE}
        for a, b, j, sep in bad:
            self._seen.add((a, b, j, sep))
            x = self.x
            self.model.addCons(
                x[a][j] + x[b][j] - quicksum(x[s][j] for s in sep) <= 1,
                name=f"sep_{self.cuts}",
                initial=True,
                separate=True,
                enforce=True,
                check=True,
                local=False,
                removable=False,
            )
            self.cuts += 1
        return {"result": SCIP_RESULT.CONSADDED}

    def _violation(self, key: Key, vals: Sequence[Sequence[float]]) -> float:
        a, b, j, sep = key
        return vals[a][j] + vals[b][j] - sum(vals[s][j] for s in sep) - 1

    def _add_row(self, key: Key) -> bool:
        a, b, j, sep = key
        m = self.model
        row = m.createEmptyRowUnspec(
            f"fsep_{self.cuts}", lhs=None, rhs=1.0, local=False, removable=True
        )
        m.cacheRowExtensions(row)
        m.addVarToRow(row, self.x[a][j], 1.0)
        m.addVarToRow(row, self.x[b][j], 1.0)
        for s in sep:
            m.addVarToRow(row, self.x[s][j], -1.0)
        m.flushRowExtensions(row)
        m.addCut(row)
        self.cuts += 1
        return True

    def _separate_rounded(self, vals: Sequence[Sequence[float]]) -> int:
        """Rows from the areas of units held at least half: added where the LP violates them."""
        k = self.problem.n_organisers
        plan = [max(range(k), key=row.__getitem__) if max(row) >= 0.5 else -1 for row in vals]
        added = 0
        for key in separators(self.problem, self.nb, plan):
            if key not in self._seen and self._violation(key, vals) > VIOLATION:
                self._seen.add(key)
                added += self._add_row(key)
        return added

    def _separate_flow(self, vals: Sequence[Sequence[float]]) -> int:
        """Minimum-weight a–b separators (weights: the LP values) for each organiser's strongest
        unit b and every non-neighbour a with x[a] + x[b] > 1, until the flow budget is spent."""
        added = 0
        n, k = self.problem.n_units, self.problem.n_organisers
        deadline = time.monotonic() + self.flow_budget - self.flow_seconds
        for j in range(k):
            b = max(range(n), key=lambda i: vals[i][j])
            near = set(self.nb[b]) | {b}
            g = _split_graph(self.nb, [r[j] for r in vals])
            for a in range(n):
                if time.monotonic() > deadline:
                    return added
                if a in near or vals[a][j] + vals[b][j] <= 1 + VIOLATION:
                    continue
                cut, sep = _min_separator(g, a, b)
                if vals[a][j] + vals[b][j] - cut > 1 + VIOLATION:
                    key = (a, b, j, tuple(sorted(sep)))
                    if key not in self._seen:
                        self._seen.add(key)
                        added += self._add_row(key)
        return added


def _split_graph(nb: Sequence[Sequence[int]], w: Sequence[float]) -> nx.DiGraph:
    """Unit ``i`` as the arc (i, 0) → (i, 1) of capacity ``w[i]``; adjacencies uncapacitated."""
    g = nx.DiGraph()
    for i, row in enumerate(nb):
        g.add_edge((i, 0), (i, 1), capacity=max(0.0, w[i]))
        for v in row:
            g.add_edge((i, 1), (v, 0))  # no capacity: never cut
    return g


def _min_separator(g: nx.DiGraph, a: int, b: int) -> tuple[float, list[int]]:
    """The minimum-weight set of units separating ``a`` from ``b`` (not adjacent) in the split
    graph :func:`_split_graph`, by max-flow: the units whose arc the minimum cut crosses."""
    value, (side, _) = nx.minimum_cut(g, (a, 1), (b, 0))
    sep = [i for i, _ in g.nodes if (i, 0) in side and (i, 1) not in side]
    return float(value), sorted(set(sep))
