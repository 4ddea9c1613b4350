"""Splitting wards too large for one CO into compact units (issue 15, item 6)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Polygon, box

from gis.io import read_ward_layer
from gis.split import bisect, parts_needed, slum_measure, split_wards


@pytest.mark.parametrize("parts", [2, 3, 5, 7])
def test_bisect_cuts_equal_areas_that_tile_the_polygon(parts: int) -> None:
    l_shape = Polygon([(0, 0), (3000, 0), (3000, 1000), (1000, 1000), (1000, 2500), (0, 2500)])
    pieces = bisect(l_shape, parts)
    assert len(pieces) == parts
    for piece in pieces:
        assert piece.area == pytest.approx(l_shape.area / parts, rel=1e-6)
    assert shapely.union_all(pieces).symmetric_difference(l_shape).area < 1e-3
    assert sum(p.area for p in pieces) == pytest.approx(l_shape.area, rel=1e-9)


def test_compact_pieces_of_a_long_strip_are_cut_across_it() -> None:
    pieces = bisect(box(0, 0, 4000, 1000), 4)
    widths = sorted(round(p.bounds[2] - p.bounds[0]) for p in pieces)
    assert widths == [1000, 1000, 1000, 1000]


def test_parts_needed_keeps_each_unit_within_one_share() -> None:
    assert parts_needed([2500.0, 3000.0, 3001.0, 9500.0], ["a", "b", "c", "d"], 3000.0) == {
        "c": 2,
        "d": 4,
    }


def test_mumbai_ward_split_keeps_its_parent_and_spreads_figures(shared_data: Path) -> None:
    layer = read_ward_layer(shared_data / "mumbai_admin_wards/wards.geojson")
    split = split_wards(layer, {"P/N": 3})

    assert len(split) == len(layer) + 2
    units = split.wards[split.wards["ward_id"].str.startswith("P/N/")]
    assert list(units["ward_id"]) == ["P/N/1", "P/N/2", "P/N/3"]
    assert list(units["ward_name"]) == [f"P/North (part {i} of 3)" for i in (1, 2, 3)]
    assert split.parents == {f"P/N/{i}": ("P/N", i, 3) for i in (1, 2, 3)}
    assert units["population"].sum() == pytest.approx(959_595)
    assert units["population"].tolist() == pytest.approx([959_595 / 3] * 3, rel=1e-6)
    assert units.geometry.is_valid.all()
    original = layer.wards.loc[layer.wards["ward_id"] == "P/N"].geometry.iloc[0]
    assert units.geometry.union_all().symmetric_difference(original).area < 1e-9
    assert (
        "split 1 ward(s) too large for one CO into compact units of equal area"
        in (split.warnings[-1])
    )


def test_with_slums_the_pieces_hold_equal_slum_households() -> None:
    ward = box(0, 0, 4000, 1000)
    slums = gpd.GeoSeries([box(0, 0, 1000, 1000), box(3500, 0, 4000, 1000)])
    measure = slum_measure(slums, [900.0, 300.0])  # 0.9 / m² on the left, 0.6 / m² right
    pieces = bisect(ward, 2, measure)
    assert [measure(p) for p in pieces] == pytest.approx([600.0, 600.0], rel=1e-6)
    assert pieces[0].bounds[2] == pytest.approx(1000 * 600 / 900, rel=1e-6)
