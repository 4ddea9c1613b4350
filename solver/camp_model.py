"""The camp integer programme (see :mod:`solver.camps` for the rows), in PuLP, with its rooted
separator cuts. Pairs (ward, venue) that no connected cluster can join within the camp's room are
left out (:func:`solver.camps.reachable`), which keeps the model exact and much smaller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulp

from solver.camps import Campaign, CampProblem, reachable
from solver.graph import components, minimal_separator


class CampModel:
    def __init__(self, problem: CampProblem, campaign: Campaign):
        p = problem
        self.problem = p
        self.nb = p.neighbours()
        n = p.n_units
        self.lp = pulp.LpProblem("camps", pulp.LpMinimize)
        longest = [p.longest_camp(v, campaign) for v in range(p.n_venues)]
        reach = reachable(p, campaign)
        self.usable = [v for v in range(p.n_venues) if longest[v] > 0 and reach[v]]
        self.x: dict[tuple[int, int], pulp.LpVariable] = {
            (i, v): self.lp.add_variable(f"x_{i}_{v}", 0, 1, cat="Binary")
            for v in self.usable
            for i in reach[v]
        }
        self.venues_of: list[list[int]] = [[] for _ in range(n)]
        for i, v in self.x:
            self.venues_of[i].append(v)
        self.y = {v: self.lp.add_variable(f"y_{v}", 0, 1, cat="Binary") for v in self.usable}
        self.t = {
            v: self.lp.add_variable(f"t_{v}", 0, longest[v], cat="Integer") for v in self.usable
        }
        self.cuts = 0
        self._keys: set[tuple[int, int, tuple[int, ...]]] = set()
        for i in range(n):
            self.lp += pulp.lpSum(self.x[i, v] for v in self.venues_of[i]) == 1, f"one_{i}"
        for v in self.usable:
            self._venue_rows(v, reach[v], p.capacity(v, campaign), longest[v])
        slots = campaign.teams * len(campaign.camp_days())
        self.lp += pulp.lpSum(self.t.values()) <= slots, "window"
        self.count = pulp.lpSum(self.y.values())
        self.distance = pulp.lpSum(
            p.registrants[i] * p.distance_km[i][v] * var for (i, v), var in self.x.items()
        )

    def _venue_rows(self, v: int, members: list[int], capacity: float, longest: int) -> None:
        p, x, y, t = self.problem, self.x, self.y, self.t
        root = p.venue_unit[v]
        for i in members:
            self.lp += x[i, v] <= y[v], f"open_{i}_{v}"
            if i != root:  # a ward other than the root needs a neighbour in its cluster
                near = [x[u, v] for u in self.nb[i] if (u, v) in x]
                self.lp += x[i, v] <= pulp.lpSum(near), f"nb_{i}_{v}"
        self.lp += x[root, v] == y[v], f"root_{v}"
        load = pulp.lpSum(p.registrants[i] * x[i, v] for i in members)
        self.lp += load <= capacity * t[v], f"cap_{v}"
        self.lp += t[v] <= longest * y[v], f"days_{v}"
        self.lp += t[v] >= y[v], f"oneday_{v}"

    def assignment_from(self, values: Mapping[str, float]) -> list[int]:
        out = []
        for i, options in enumerate(self.venues_of):
            v = max(options, key=lambda v: values.get(self.x[i, v].name, 0.0))
            if values.get(self.x[i, v].name, 0.0) < 0.5:
                raise ValueError(f"ward {i} is not assigned in the MIP solution")
            out.append(v)
        return out

    def start_values(self, assignment: Sequence[int], days: Sequence[int]) -> dict[str, float]:
        vals = {var.name: 0.0 for var in self.x.values()}
        for i, v in enumerate(assignment):
            vals[self.x[i, v].name] = 1.0
        for v in self.usable:
            vals[self.y[v].name] = 1.0 if days[v] > 0 else 0.0
            vals[self.t[v].name] = float(days[v])
        return vals

    def add_cuts(self, assignment: Sequence[int]) -> int:
        """Rooted separator rows ``x[a][v] ≤ Σ_{s ∈ S} x[s][v]`` for every piece of a cluster that
        misses its venue's ward (``S`` a minimal separator of the piece and the venue's ward)."""
        p = self.problem
        added = 0
        for v in sorted(set(assignment)):
            root = p.venue_unit[v]
            units = [i for i, a in enumerate(assignment) if a == v]
            for piece in components(units, self.nb):
                if root in piece:
                    continue
                sep = tuple(minimal_separator(piece, root, self.nb))
                for a in piece:
                    key = (a, v, sep)
                    if key not in self._keys:
                        self._keys.add(key)
                        terms = [self.x[s, v] for s in sep if (s, v) in self.x]
                        self.lp += self.x[a, v] <= pulp.lpSum(terms), f"sep_{len(self._keys)}"
                        added += 1
        self.cuts += added
        return added
