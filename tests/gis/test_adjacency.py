"""Adjacency: hand-drawn squares (drawn in metres, stored in WGS 84), then real city layers."""

from __future__ import annotations

import math
from collections.abc import Callable

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis.adjacency import IslandLink, build_adjacency
from gis.layer import WardLayer

UTM_44N = "EPSG:32644"  # the UTM zone of Lucknow, where the hand-drawn squares are placed
X0, Y0 = 500_000.0, 2_970_000.0


def _layer(*boxes: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Squares given in metres relative to (X0, Y0), returned in EPSG:4326 like a stored layer."""
    geoms = [box(X0 + a, Y0 + b, X0 + c, Y0 + d) for a, b, c, d in boxes]
    ids = [f"W{i + 1}" for i in range(len(boxes))]
    return gpd.GeoDataFrame({"ward_id": ids}, geometry=geoms, crs=UTM_44N).to_crs("EPSG:4326")


def _n_components(n: int, edges: tuple[tuple[int, int], ...]) -> int:
    seen: set[int] = set()
    nb: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in edges:
        nb[a].add(b)
        nb[b].add(a)
    count = 0
    for start in range(n):
        if start in seen:
            continue
        count += 1
        stack = [start]
        while stack:
            x = stack.pop()
            if x not in seen:
                seen.add(x)
                stack.extend(nb[x] - seen)
    return count


def _vertex_queen_components(wards: gpd.GeoDataFrame) -> int:
    """Contiguity by exactly shared vertices (what naive queen weights do)."""
    owners: dict[tuple[float, float], set[int]] = {}
    for i, geom in enumerate(wards.geometry):
        for part in getattr(geom, "geoms", [geom]):
            for xy in part.exterior.coords:
                owners.setdefault((xy[0], xy[1]), set()).add(i)
    edges = {(a, b) for s in owners.values() for a in s for b in s if a < b}
    return _n_components(len(wards), tuple(edges))


def test_two_by_two_grid_is_queen_contiguous() -> None:
    grid = _layer((0, 0, 100, 100), (100, 0, 200, 100), (0, 100, 100, 200), (100, 100, 200, 200))
    adjacency = build_adjacency(grid, snap_metres=0)
    assert adjacency.edges == ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
    assert adjacency.links == ()
    assert adjacency.neighbours_of(0) == (1, 2, 3)


def test_squares_touching_only_at_a_corner_are_neighbours() -> None:
    diagonal = _layer((0, 0, 100, 100), (100, 100, 200, 200))
    adjacency = build_adjacency(diagonal)
    assert adjacency.edges == ((0, 1),)
    assert adjacency.rule == "queen within 5 m"


def test_gap_within_snap_distance_makes_neighbours() -> None:
    apart = _layer((0, 0, 100, 100), (103, 0, 203, 100))
    adjacency = build_adjacency(apart, snap_metres=5)
    assert adjacency.edges == ((0, 1),)
    assert adjacency.links == ()
    assert adjacency.warnings == ()


def test_gap_beyond_snap_distance_is_linked_and_reported() -> None:
    apart = _layer((0, 0, 100, 100), (103, 0, 203, 100))
    adjacency = build_adjacency(apart, snap_metres=1)
    assert adjacency.edges == ((0, 1),)
    assert len(adjacency.links) == 1
    link = adjacency.links[0]
    assert isinstance(link, IslandLink)
    assert {link.ward_id, link.linked_to} == {"W1", "W2"}
    assert link.distance_m == pytest.approx(3.0, abs=0.01)
    assert len(adjacency.warnings) == 1
    assert "3 m" in adjacency.warnings[0]
    assert adjacency.rule == "queen within 1 m"


def test_smaller_part_is_linked_to_its_nearest_ward() -> None:
    # A block of three, a pair 500 m east of W3, and a lone ward 2 km north of W1.
    layer = _layer(
        (0, 0, 100, 100),  # W1
        (100, 0, 200, 100),  # W2
        (200, 0, 300, 100),  # W3
        (800, 0, 900, 100),  # W4
        (900, 0, 1000, 100),  # W5
        (0, 2100, 100, 2200),  # W6
    )
    adjacency = build_adjacency(layer)
    links = {(link.ward_id, link.linked_to): link.distance_m for link in adjacency.links}
    assert set(links) == {("W6", "W1"), ("W4", "W3")}
    assert links["W6", "W1"] == pytest.approx(2000, abs=0.5)
    assert links["W4", "W3"] == pytest.approx(500, abs=0.5)
    assert _n_components(len(layer), adjacency.edges) == 1
    assert (0, 5) in adjacency.edges
    assert (2, 3) in adjacency.edges
    assert any("group of 2 wards" in w for w in adjacency.warnings)


def test_overlapping_wards_are_neighbours() -> None:
    overlap = _layer((0, 0, 100, 100), (90, 0, 200, 100))
    assert build_adjacency(overlap, snap_metres=0).edges == ((0, 1),)


def test_single_ward_has_no_edges() -> None:
    adjacency = build_adjacency(_layer((0, 0, 100, 100)))
    assert adjacency.edges == ()
    assert adjacency.neighbours_of(0) == ()


@pytest.mark.parametrize("snap", [-1.0, math.nan, math.inf])
def test_bad_snap_distance_is_refused(snap: float) -> None:
    with pytest.raises(ValueError, match="snap_metres"):
        build_adjacency(_layer((0, 0, 100, 100)), snap_metres=snap)


def test_missing_geometry_is_named() -> None:
    layer = _layer((0, 0, 100, 100), (100, 0, 200, 100))
    layer.loc[1, "geometry"] = None
    with pytest.raises(ValueError, match="W2"):
        build_adjacency(layer)


def test_layer_without_crs_is_refused() -> None:
    layer = _layer((0, 0, 100, 100)).set_crs(None, allow_override=True)
    with pytest.raises(ValueError, match="CRS"):
        build_adjacency(layer)


@pytest.mark.slow
def test_lucknow_is_one_block_with_five_metre_snapping(
    load_clean_layer: Callable[[str], WardLayer],
) -> None:
    wards = load_clean_layer("lucknow").wards
    assert _vertex_queen_components(wards) == 96  # why geometric contiguity is needed
    adjacency = build_adjacency(wards, snap_metres=5)
    assert adjacency.links == ()
    assert adjacency.warnings == ()
    assert _n_components(len(wards), adjacency.edges) == 1
    assert all(0 <= a < b < len(wards) for a, b in adjacency.edges)
    assert list(adjacency.edges) == sorted(set(adjacency.edges))
    assert all(adjacency.neighbours_of(i) for i in range(len(wards)))


@pytest.mark.slow
def test_bangalore_is_one_block(load_clean_layer: Callable[[str], WardLayer]) -> None:
    wards = load_clean_layer("bangalore").wards
    assert len(wards) == 198
    adjacency = build_adjacency(wards)
    assert adjacency.links == ()
    assert _n_components(len(wards), adjacency.edges) == 1
