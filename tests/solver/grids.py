"""Tiny hand-drawn problems: rectangular grids of square wards (rook neighbours)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from solver.problem import Problem


def grid(
    rows: int,
    cols: int,
    homes: Sequence[tuple[float, float]],
    weights: Sequence[float] | None = None,
    zones: Sequence[str] | None = None,
) -> Problem:
    ids = [f"r{r}c{c}" for r in range(rows) for c in range(cols)]
    edges = []
    for r in range(rows):
        for c in range(cols):
            u = r * cols + c
            if c + 1 < cols:
                edges.append((u, u + 1))
            if r + 1 < rows:
                edges.append((u, u + cols))
    w = list(weights) if weights is not None else [10.0] * (rows * cols)
    dist = [
        [math.hypot(r - hr, c - hc) for hr, hc in homes] for r in range(rows) for c in range(cols)
    ]
    return Problem.from_lists(ids, w, edges, [f"CO{q}" for q in range(len(homes))], dist, zones)
