"""Balanced contiguous partitions by recursive spanning-tree splitting, matched to organisers.

The idea is GerryChain's ``recursive_tree_part`` (DeFord, Duchin, Solomon): draw a random spanning
tree of the units still to share out, cut one tree edge so that one side is a single organiser's
share, repeat. Each piece is a subtree, so it is connected. The pieces are then matched to
organisers by the cheapest assignment of Σ load × km. It is a fast way to a *balanced* plan — the
part the nearest-home region growing is bad at — and only ever used as a starting plan: the MIP
decides what is optimal.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from scipy.optimize import linear_sum_assignment

from solver.problem import Problem
from solver.verify import LOAD_EPS


def _random_spanning_tree(
    nodes: Sequence[int], nb: Sequence[Sequence[int]], inside: set[int], rng: random.Random
) -> dict[int, list[int]]:
    """Kruskal on random edge weights over the subgraph induced by ``inside``."""
    edges = [(u, v) for u in nodes for v in nb[u] if u < v and v in inside]
    rng.shuffle(edges)
    parent = {u: u for u in nodes}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    tree: dict[int, list[int]] = {u: [] for u in nodes}
    for u, v in edges:
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[ru] = rv
            tree[u].append(v)
            tree[v].append(u)
    return tree


def _split(
    nodes: list[int],
    tree: dict[int, list[int]],
    weights: Sequence[float],
    lo: float,
    hi: float,
    rest_lo: float,
    rest_hi: float,
    rng: random.Random,
) -> set[int] | None:
    """One tree edge whose removal leaves a piece in [lo, hi] and the rest in [rest_lo, rest_hi]."""
    root = nodes[0]
    order, parent = [root], {root: -1}
    for u in order:  # breadth-first; the list grows while iterating
        for v in tree[u]:
            if v not in parent:
                parent[v] = u
                order.append(v)
    if len(order) != len(nodes):
        return None  # the units left are not connected
    sub = {u: weights[u] for u in order}
    for u in reversed(order[1:]):
        sub[parent[u]] += sub[u]
    total = sub[root]
    cuts: list[tuple[int, bool]] = []  # (node, take its subtree (True) or the rest (False))
    for u in order[1:]:
        s = sub[u]
        if lo <= s <= hi and rest_lo <= total - s <= rest_hi:
            cuts.append((u, True))
        if lo <= total - s <= hi and rest_lo <= s <= rest_hi:
            cuts.append((u, False))
    if not cuts:
        return None
    u, take_subtree = rng.choice(cuts)
    piece = {u}
    stack = [u]
    while stack:
        x = stack.pop()
        for y in tree[x]:
            if y != parent[x] and y not in piece:
                piece.add(y)
                stack.append(y)
    return piece if take_subtree else set(nodes) - piece


def tree_partition(
    problem: Problem,
    tolerance: float,
    *,
    seed: int = 0,
    deadline: float | None = None,
    attempts_per_split: int = 50,
) -> list[list[int]] | None:
    """``n_organisers`` connected pieces, each within ±``tolerance`` of the mean load, or ``None``."""
    nb = problem.neighbours()
    w = problem.weights
    lo, hi = problem.load_bounds(tolerance)
    # the check's slack (solver.verify): a piece exactly at a bound is in, though the bound, a
    # product of floats, may lie a rounding error inside it (0.9 × 66.67 is 60.00000000000001)
    slack = LOAD_EPS * max(1.0, problem.mean_load)
    lo, hi = lo - slack, hi + slack
    rng = random.Random(seed)
    k = problem.n_organisers
    while deadline is None or time.monotonic() < deadline:
        remaining = set(range(problem.n_units))
        pieces: list[list[int]] = []
        for left in range(k, 1, -1):
            nodes = sorted(remaining)
            piece = None
            for _ in range(attempts_per_split):
                tree = _random_spanning_tree(nodes, nb, remaining, rng)
                piece = _split(nodes, tree, w, lo, hi, (left - 1) * lo, (left - 1) * hi, rng)
                if piece is not None or (deadline is not None and time.monotonic() > deadline):
                    break
            if piece is None:
                break
            pieces.append(sorted(piece))
            remaining -= piece
        else:
            last = sorted(remaining)
            if lo <= sum(w[i] for i in last) <= hi:
                return [*pieces, last]
        if deadline is None:
            return None
    return None


def match_to_organisers(problem: Problem, pieces: Sequence[Sequence[int]]) -> list[int]:
    """The assignment of pieces to organisers with the least Σ load × km."""
    k = problem.n_organisers
    w, d = problem.weights, problem.distance_km
    cost = [[sum(w[i] * d[i][j] for i in piece) for j in range(k)] for piece in pieces]
    rows, cols = linear_sum_assignment(cost)
    out = [-1] * problem.n_units
    for r, c in zip(rows, cols, strict=True):
        for i in pieces[r]:
            out[i] = int(c)
    return out
