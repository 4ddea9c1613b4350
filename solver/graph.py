"""Small graph routines on adjacency lists (positions 0..n-1). Pure Python, no dependencies."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Sequence


def components(nodes: Iterable[int], nb: Sequence[Sequence[int]]) -> list[list[int]]:
    """Connected components of the subgraph induced by ``nodes``, each sorted, largest first."""
    todo = set(nodes)
    out: list[list[int]] = []
    while todo:
        start = todo.pop()
        comp = [start]
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in nb[u]:
                if v in todo:
                    todo.remove(v)
                    comp.append(v)
                    queue.append(v)
        out.append(sorted(comp))
    out.sort(key=lambda c: (-len(c), c[0]))
    return out


def is_connected(nodes: Collection[int], nb: Sequence[Sequence[int]]) -> bool:
    if not nodes:
        return False
    return len(components(nodes, nb)) == 1


def stays_connected_without(area: set[int], unit: int, nb: Sequence[Sequence[int]]) -> bool:
    """Whether ``area`` minus ``unit`` is still one non-empty connected piece."""
    rest = [v for v in nb[unit] if v in area and v != unit]
    if len(area) <= 1:
        return False
    if len(rest) <= 1:
        return True  # a leaf (or isolated in the area, which cannot happen in a connected area)
    start = rest[0]
    targets = set(rest[1:])
    seen = {start, unit}
    queue = deque([start])
    while queue and targets:
        u = queue.popleft()
        for v in nb[u]:
            if v in area and v not in seen:
                seen.add(v)
                targets.discard(v)
                queue.append(v)
    return not targets


def minimal_separator(
    component: Collection[int], other: int, nb: Sequence[Sequence[int]]
) -> list[int]:
    """A minimal vertex set separating ``component`` from ``other`` (not adjacent to it).

    ``S = N(C) ∩ N(R)`` where ``N(C)`` is the boundary of the component and ``R`` is the part of
    ``G − N(C)`` that holds ``other``; every path from the component to ``other`` crosses ``S``.
    """
    comp = set(component)
    boundary = {v for u in comp for v in nb[u] if v not in comp}
    if other in comp or other in boundary:
        raise ValueError("other must lie outside the component and its boundary")
    reach = {other}
    queue = deque([other])
    while queue:
        u = queue.popleft()
        for v in nb[u]:
            if v not in reach and v not in boundary and v not in comp:
                reach.add(v)
                queue.append(v)
    return sorted(v for v in boundary if any(w in reach for w in nb[v]))


def articulation_points(nb: Sequence[Sequence[int]]) -> list[int]:
    """The units whose removal splits their connected component (Hopcroft–Tarjan, iterative)."""
    n = len(nb)
    order = [-1] * n
    low = [0] * n
    cut: set[int] = set()
    counter = 0
    for root in range(n):
        if order[root] != -1:
            continue
        order[root] = low[root] = counter
        counter += 1
        children = 0
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # (unit, parent, next neighbour)
        while stack:
            u, parent, i = stack[-1]
            if i < len(nb[u]):
                stack[-1] = (u, parent, i + 1)
                v = nb[u][i]
                if order[v] == -1:
                    order[v] = low[v] = counter
                    counter += 1
                    if u == root:
                        children += 1
                    stack.append((v, u, 0))
                elif v != parent:
                    low[u] = min(low[u], order[v])
                continue
            stack.pop()
            if parent != -1:
                low[parent] = min(low[parent], low[u])
                if parent != root and low[u] >= order[parent]:
                    cut.add(parent)
        if children > 1:
            cut.add(root)
    return sorted(cut)


def pockets(nb: Sequence[Sequence[int]], max_size: int) -> list[tuple[int, list[int]]]:
    """``(gate, members)`` for every group of at most ``max_size`` units that the single unit
    ``gate`` cuts off from the rest of its component (a connected component of the graph without
    ``gate`` that is small); members sorted."""
    out: list[tuple[int, list[int]]] = []
    for gate in articulation_points(nb):
        grouped: set[int] = set()  # units already in a small group of this gate
        for start in nb[gate]:
            if start in grouped:
                continue
            seen = {gate, start}
            group = [start]
            queue = deque([start])
            while queue and len(group) <= max_size:
                u = queue.popleft()
                for v in nb[u]:
                    if v not in seen:
                        seen.add(v)
                        group.append(v)
                        queue.append(v)
            if len(group) <= max_size:
                grouped.update(group)
                out.append((gate, sorted(group)))
    return out
