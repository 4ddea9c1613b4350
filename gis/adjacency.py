"""Which wards are neighbours, computed geometrically so that real, imperfect layers work.

Real ward layers are digitised ward by ward: neighbours rarely share vertices and are separated
by slivers or overlap a little. Contiguity is therefore "within ``snap_metres`` of each other",
measured in the layer's metric CRS (queen-like: touching at a corner counts). Parts of the city
still detached after snapping (islands, a detached colony) are linked to the nearest ward of the
rest, and every such link is reported — a plan must never become impossible silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray
from shapely import STRtree

from gis.crs import to_metric


@dataclass(frozen=True)
class IslandLink:
    """An added edge: ``ward_id`` (in a detached part) joined to ``linked_to``, metres apart."""

    ward_id: str
    linked_to: str
    distance_m: float


@dataclass(frozen=True)
class Adjacency:
    """Neighbour pairs of a ward layer, by position in the GeoDataFrame's row order.

    ``edges`` are ``(i, j)`` with ``i < j``, sorted, and include the island links; ``links`` lists
    those links; ``rule`` says how contiguity was decided; ``warnings`` are sentences for a person.
    """

    edges: tuple[tuple[int, int], ...]
    links: tuple[IslandLink, ...]
    rule: str
    warnings: tuple[str, ...] = ()

    @cached_property
    def _neighbour_lists(self) -> dict[int, tuple[int, ...]]:
        lists: dict[int, list[int]] = {}
        for a, b in self.edges:
            lists.setdefault(a, []).append(b)
            lists.setdefault(b, []).append(a)
        return {i: tuple(sorted(nb)) for i, nb in lists.items()}

    def neighbours_of(self, i: int) -> tuple[int, ...]:
        """Positions of the neighbours of ward ``i``, sorted (island links included)."""
        return self._neighbour_lists.get(i, ())


def build_adjacency(wards: gpd.GeoDataFrame, *, snap_metres: float = 5.0) -> Adjacency:
    """Contiguity of ``wards``: neighbours lie within ``snap_metres`` (metric CRS), islands linked.

    ``wards`` needs a CRS, a ``ward_id`` column and a non-empty geometry in every row.
    Raises ``ValueError`` for a negative or non-finite ``snap_metres`` or unusable geometries.
    """
    if not math.isfinite(snap_metres) or snap_metres < 0:
        raise ValueError(f"snap_metres must be a finite distance ≥ 0, not {snap_metres!r}")
    ids = _ward_ids(wards)
    geoms = _metric_geometries(wards)
    edges = _snapped_edges(geoms, snap_metres)
    linked = _link_components(geoms, ids, edges)
    links = tuple(link for link, _ in linked)
    position = {ward_id: i for i, ward_id in enumerate(ids)}
    link_edges = {_edge(position[link.ward_id], position[link.linked_to]) for link in links}
    return Adjacency(
        edges=tuple(sorted(edges | link_edges)),
        links=links,
        rule=_rule(snap_metres),
        warnings=tuple(_link_warning(link, size) for link, size in linked),
    )


def _rule(snap_metres: float) -> str:
    if snap_metres == 0:
        return "queen (touching or overlapping)"
    return f"queen within {snap_metres:g} m"


def _ward_ids(wards: gpd.GeoDataFrame) -> list[str]:
    if "ward_id" not in wards.columns:
        raise ValueError("the ward layer has no 'ward_id' column")
    ids = [str(v) for v in wards["ward_id"]]
    if len(set(ids)) != len(ids):
        raise ValueError("ward ids must be unique to build an adjacency")
    return ids


def _metric_geometries(wards: gpd.GeoDataFrame) -> NDArray[np.object_]:
    geoms: NDArray[np.object_] = to_metric(wards).geometry.to_numpy()
    bad = [str(wards["ward_id"].iloc[i]) for i, g in enumerate(geoms) if g is None or g.is_empty]
    if bad:
        raise ValueError(f"ward(s) without geometry cannot be placed: {', '.join(bad[:20])}")
    return geoms


def _edge(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _snapped_edges(geoms: NDArray[np.object_], snap_metres: float) -> set[tuple[int, int]]:
    tree = STRtree(geoms)
    if snap_metres == 0:
        pairs = tree.query(geoms, predicate="intersects")
    else:
        pairs = tree.query(geoms, predicate="dwithin", distance=snap_metres)
    return {(int(a), int(b)) for a, b in zip(pairs[0], pairs[1], strict=True) if a < b}


def _components(n: int, edges: set[tuple[int, int]]) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda members: (len(members), members[0]))


def _link_components(
    geoms: NDArray[np.object_], ids: list[str], edges: set[tuple[int, int]]
) -> list[tuple[IslandLink, int]]:
    """Join the smallest component to its nearest ward elsewhere until one component is left.

    Returns each link with the number of wards in the part it attached.
    """
    links: list[tuple[IslandLink, int]] = []
    joined = set(edges)
    components = _components(len(geoms), joined)
    while len(components) > 1:
        small = components[0]
        i, j, distance = _nearest_outside(geoms, small)
        link = IslandLink(ward_id=ids[i], linked_to=ids[j], distance_m=distance)
        links.append((link, len(small)))
        joined.add(_edge(i, j))
        components = _components(len(geoms), joined)
    return links


def _nearest_outside(geoms: NDArray[np.object_], members: list[int]) -> tuple[int, int, float]:
    """The closest pair (member, non-member) and its distance in metres; ties by position."""
    inside = np.zeros(len(geoms), dtype=bool)
    inside[members] = True
    outside = np.flatnonzero(~inside)
    tree = STRtree(geoms[outside])
    (src, dst), dist = tree.query_nearest(geoms[members], return_distance=True)
    d, s, o = min(
        zip(dist.tolist(), src.tolist(), dst.tolist(), strict=True),
        key=lambda t: (round(t[0], 6), members[t[1]], int(outside[t[2]])),
    )
    return members[s], int(outside[o]), float(d)


def _link_warning(link: IslandLink, size: int) -> str:
    part = f"ward {link.ward_id}" if size == 1 else f"a group of {size} wards ({link.ward_id}, …)"
    return (
        f"{part} touches no other ward within the snapping distance; linked to ward "
        f"{link.linked_to}, {link.distance_m:,.0f} m from ward {link.ward_id}, so that a plan "
        "remains possible"
    )
