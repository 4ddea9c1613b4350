"""The options of a solve (:class:`SolveParams`), validated once when they are made."""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The distance-stage methods one may ask for (``SolveParams.method``): ``auto`` chooses per
#: problem; the others name a module of :mod:`solver.methods`.
METHODS = (
    "auto",
    "set_partitioning",
    "cut_loop",
    "branch_and_cut",
    "relaxed_search",
    "column_generation",
)


@dataclass(frozen=True)
class SolveParams:
    """``tolerance``: allowed relative deviation of each load from the mean (0.1 = ±10 %), or
    ``None`` for *auto*: the tightest balance any contiguous plan reaches, then the nearest-home plan
    at that balance. ``time_limit`` is always set; ``gap`` is the relative gap accepted as optimal.
    ``seed`` and ``threads`` go to every solver model (through the backend)."""

    tolerance: float | None = 0.10
    respect_zones: bool = False
    time_limit: float = 60.0
    gap: float = 1e-3
    seed: int = 0
    threads: int | None = None
    auto_share: float = 0.5  # share of the time limit the auto stage may use
    restart_on_pieces: bool = True  # stop a round at its first solution with an area in pieces
    #: Share of the time for the star-shaped primal model (0: skip it) and share of the time left
    #: for re-optimising neighbouring areas (0: skip). ``None`` chooses by units per organiser, see
    #: :func:`solver.methods.cut_loop.primal_shares`.
    star_share: float | None = None
    lns_share: float | None = None
    #: List every connected area that fits and solve the set-partitioning model (HiGHS only) when
    #: the list is short enough; otherwise, or with False, the cut loop (False also keeps *auto*
    #: from column generation, set partitioning over generated areas).
    partition: bool = True
    #: Whether *auto* may choose column generation at a few units per organiser. Off for costs
    #: that are not distances (a re-plan's households moved, the large cost of breaking a pin):
    #: its pricing and dive are measured on distance costs only (BENCHMARKS.md).
    auto_columns: bool = True
    #: The method of the distance stage: "set_partitioning" (every fitting area listed, HiGHS;
    #: the cut loop when they cannot be listed in time), "cut_loop" (PuLP's backend, re-solved
    #: with cuts), "branch_and_cut" (SCIP, cuts in one search tree), "relaxed_search" (the LP
    #: without contiguity and a neighbourhood search), "column_generation" (set partitioning over
    #: generated areas, HiGHS; :mod:`solver.methods.column_generation`), or "auto": chosen per problem, see
    #: :func:`solver.solve.method_for`. The balance search of tolerance *auto* is the same for all.
    method: str = "auto"

    def __post_init__(self) -> None:
        if self.tolerance is not None and not (0 <= self.tolerance < 10):
            raise ValueError(f"tolerance {self.tolerance!r} must be a fraction ≥ 0, e.g. 0.1")
        if not (math.isfinite(self.time_limit) and self.time_limit > 0):
            raise ValueError(f"time limit {self.time_limit!r} must be a positive number of seconds")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} must be one of {', '.join(METHODS)}")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap {self.gap!r} must be in [0, 1)")
