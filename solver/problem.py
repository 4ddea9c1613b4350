"""Plain-data inputs and outputs of the allocation model.

Everything here is frozen and free of geometry: a *unit* is a ward (or a piece of one), identified by
its position in ``Problem.unit_ids``; an *organiser* is a Community Organiser with a fixed home.
Distances are kilometres in a metric CRS, computed by the caller (``gis``), never degrees.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    """What a solve proved. Only ``OPTIMAL`` claims optimality."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a verified plan, with a proven gap
    INFEASIBLE = "infeasible"  # proved: no plan satisfies the constraints
    NO_SOLUTION = "no_solution"  # time ran out before any plan was found


@dataclass(frozen=True)
class Problem:
    """A city to divide.

    ``weights[i]`` is the load of unit ``i`` (estimated poor households); ``edges`` are undirected
    pairs of unit positions that are neighbours; ``distance_km[i][j]`` is the distance from unit
    ``i`` to the home of organiser ``j``; ``zones[i]`` is the zone of unit ``i`` (or ``None``).
    """

    unit_ids: tuple[str, ...]
    weights: tuple[float, ...]
    edges: tuple[tuple[int, int], ...]
    organiser_ids: tuple[str, ...]
    distance_km: tuple[tuple[float, ...], ...]
    zones: tuple[str | None, ...] | None = None

    def __post_init__(self) -> None:
        n, k = len(self.unit_ids), len(self.organiser_ids)
        if n == 0:
            raise ValueError("a problem needs at least one unit")
        if k == 0:
            raise ValueError("a problem needs at least one organiser")
        if len(set(self.unit_ids)) != n:
            raise ValueError("unit ids must be unique")
        if len(set(self.organiser_ids)) != k:
            raise ValueError("organiser ids must be unique")
        if len(self.weights) != n:
            raise ValueError(f"{len(self.weights)} weights for {n} units")
        for i, w in enumerate(self.weights):
            if not math.isfinite(w) or w < 0:
                raise ValueError(
                    f"unit {self.unit_ids[i]!r}: weight {w!r} is not a finite number ≥ 0"
                )
        if len(self.distance_km) != n or any(len(row) != k for row in self.distance_km):
            raise ValueError(f"distance_km must be {n} rows of {k} distances")
        for i, row in enumerate(self.distance_km):
            for d in row:
                if not math.isfinite(d) or d < 0:
                    raise ValueError(f"unit {self.unit_ids[i]!r}: distance {d!r} is not finite ≥ 0")
        for a, b in self.edges:
            if not (0 <= a < n and 0 <= b < n) or a == b:
                raise ValueError(f"edge ({a}, {b}) does not join two different units")
        if self.zones is not None and len(self.zones) != n:
            raise ValueError(f"{len(self.zones)} zones for {n} units")

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_organisers(self) -> int:
        return len(self.organiser_ids)

    @property
    def total_weight(self) -> float:
        return math.fsum(self.weights)

    @property
    def mean_load(self) -> float:
        return self.total_weight / self.n_organisers

    def neighbours(self) -> list[list[int]]:
        """Adjacency lists, deduplicated and sorted."""
        nb: list[set[int]] = [set() for _ in range(self.n_units)]
        for a, b in self.edges:
            nb[a].add(b)
            nb[b].add(a)
        return [sorted(s) for s in nb]

    def load_bounds(self, tolerance: float) -> tuple[float, float]:
        """Smallest and largest load allowed for one organiser at ``±tolerance`` of the mean."""
        m = self.mean_load
        return m * (1.0 - tolerance), m * (1.0 + tolerance)

    @classmethod
    def from_lists(
        cls,
        unit_ids: Sequence[str],
        weights: Sequence[float],
        edges: Sequence[tuple[int, int]],
        organiser_ids: Sequence[str],
        distance_km: Sequence[Sequence[float]],
        zones: Sequence[str | None] | None = None,
    ) -> Problem:
        return cls(
            unit_ids=tuple(str(u) for u in unit_ids),
            weights=tuple(float(w) for w in weights),
            edges=tuple((int(a), int(b)) for a, b in edges),
            organiser_ids=tuple(str(o) for o in organiser_ids),
            distance_km=tuple(tuple(float(d) for d in row) for row in distance_km),
            zones=None if zones is None else tuple(None if z is None else str(z) for z in zones),
        )


@dataclass(frozen=True)
class Progress:
    """One report from a running solve: the best plan so far and the best proven bound."""

    elapsed_s: float
    incumbent: float | None
    bound: float | None
    phase: str
    message: str = ""

    @property
    def gap(self) -> float | None:
        return relative_gap(self.incumbent, self.bound)


@dataclass(frozen=True)
class Solution:
    """The outcome of a solve. ``assignment[i]`` is the organiser position of unit ``i``."""

    status: Status
    assignment: tuple[int, ...] | None
    objective: float | None
    bound: float | None
    tolerance: float | None
    solver: str
    solver_version: str
    seconds: float
    explanation: str = ""
    iterations: int = 0
    cuts: int = 0
    tightest_tolerance: float | None = None
    #: *auto*: no contiguous plan exists below this balance (proved; ``None``: nothing proved, so
    #: ``tightest_tolerance`` is the tightest *found*, not the tightest possible).
    balance_floor: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: The distance stage's method that made this answer (``set_partitioning``, ``cut_loop``,
    #: ``branch_and_cut``, ``relaxed_search``; "" when the prechecks answered before it ran).
    method: str = ""

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    @property
    def has_plan(self) -> bool:
        return self.assignment is not None

    def describe(self) -> str:
        """One line a person can read: what was proved."""
        numbers = f"objective {_num(self.objective)}, bound {_num(self.bound)}"
        if self.status is Status.OPTIMAL:
            proved = self.gap or 0.0
            within = f" within {proved * 100:.2f} %" if proved >= 5e-5 else ""
            return f"optimal{within} ({numbers})"
        if self.status is Status.FEASIBLE:
            gap = self.gap
            gap_txt = "unknown" if gap is None else f"{gap * 100:.2f} %"
            return f"feasible, gap {gap_txt} ({numbers})"
        if self.status is Status.INFEASIBLE:
            return f"infeasible — {self.explanation}"
        return f"no plan found in time — {self.explanation}"


def _num(x: float | None) -> str:
    return "unknown" if x is None else f"{x:,.1f}"


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """(objective − bound) / objective, 0 when both are 0; ``None`` when either is unknown."""
    if objective is None or bound is None:
        return None
    if objective <= 0:
        return 0.0 if bound >= objective - 1e-9 else None
    return max(0.0, (objective - bound) / abs(objective))
