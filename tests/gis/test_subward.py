"""A city's own sub-ward layer as the split units of large wards (issue 15, item 6, first way):
Mumbai's wards split into units of whole slum clusters, and blocks with their own population."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from gis.errors import InputError
from gis.io import read_ward_layer
from gis.layer import WardLayer
from gis.split import split_wards
from gis.subward import SubwardRequest, Subwards, read_subwards


@pytest.fixture(scope="module")
def mumbai(shared_data: Path) -> tuple[WardLayer, Subwards]:
    layer = read_ward_layer(shared_data / "mumbai_admin_wards/wards.geojson")
    clusters = shared_data / "mumbai_slum_clusters/slum_clusters.geojson"
    return layer, read_subwards(SubwardRequest(clusters))


@pytest.mark.slow  # Mumbai's whole slum-cluster layer (2,541 polygons) read and split
def test_units_are_whole_slum_clusters_and_tile_the_ward(
    mumbai: tuple[WardLayer, Subwards],
) -> None:
    layer, subwards = mumbai
    assert subwards.basis == "area"  # the clusters carry no figure
    assert len(subwards.frame) == 2541  # one empty geometry left out, as the reader says
    split = split_wards(layer, {"P/N": 3, "K/E": 5}, subwards=subwards)

    metric = layer.wards.estimate_utm_crs()
    units = split.wards[split.wards["ward_id"].str.startswith("P/N/")].to_crs(metric)
    assert list(units["ward_name"]) == [f"P/North (part {i} of 3)" for i in (1, 2, 3)]
    assert split.parents["P/N/2"] == ("P/N", 2, 3)
    ward = layer.wards.loc[layer.wards["ward_id"] == "P/N"].to_crs(metric).geometry.iloc[0]
    # the units tile the ward: no gap, no overlap (to the metre's rounding of the repairs)
    assert units.area.sum() == pytest.approx(ward.area, rel=1e-3)
    assert units.union_all().symmetric_difference(ward).area < 1e-3 * ward.area
    assert units.geometry.is_valid.all()
    # every cluster of the ward lies (all but a rounding) in one unit: none is cut
    clusters = subwards.frame.to_crs(metric)
    inside = clusters[clusters.intersects(ward)].geometry.intersection(ward)
    inside = inside[inside.area > 1.0]
    shares = np.array([[c.intersection(u).area for u in units.geometry] for c in inside])
    assert (shares.max(axis=1) >= 0.999 * shares.sum(axis=1)).all()
    # the groups hold close to equal slum area (whole clusters: not exactly equal)
    slum_area = shares.sum(axis=0)
    assert slum_area.min() >= 0.9 * slum_area.mean()
    # no cluster: population spread by unit area, and the ward's population kept
    assert units["population"].sum() == pytest.approx(959_595)
    by_area = units.area / units.area.sum() * 959_595
    assert units["population"].to_numpy() == pytest.approx(by_area.to_numpy(), rel=1e-6)
    note = next(w for w in split.warnings if "whole features of slum_clusters.geojson" in w)
    assert "K/E into 5, P/N into 3" in note
    assert "population and households spread by area" in note
    assert "slum_clusters.geojson" in [s.path for s in split.sources]


@pytest.mark.slow  # Mumbai's whole slum-cluster layer (2,541 polygons) read and split
def test_a_ward_with_fewer_features_than_units_is_bisected_and_said(
    mumbai: tuple[WardLayer, Subwards],
) -> None:
    layer, subwards = mumbai
    split = split_wards(layer, {"C": 2, "A": 2}, subwards=subwards)  # C holds no slum cluster
    assert {"C/1", "C/2", "A/1", "A/2"} <= set(split.wards["ward_id"])
    assert (
        "1 ward(s) hold fewer features of slum_clusters.geojson than the units asked, and were "
        "bisected instead: C" in split.warnings
    )


def _blocks(folder: Path, population: list[int]) -> Path:
    """Four 1 km blocks in a row (a mohalla layer) with their own population."""
    frame = gpd.GeoDataFrame(
        {"block_id": ["b1", "b2", "b3", "b4"], "POP": population},
        geometry=[box(77.0 + 0.01 * i, 28.0, 77.01 + 0.01 * i, 28.01) for i in range(4)],
        crs="EPSG:4326",
    )
    path = folder / "blocks.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def test_the_layers_own_figures_group_and_spread(tmp_path: Path) -> None:
    ward = gpd.GeoDataFrame(
        {
            "ward_id": ["7"],
            "ward_name": [None],
            "zone": [None],
            "population": [10_000.0],
            "households": [np.nan],
            "poor_households": [np.nan],
        },
        geometry=[box(77.0, 28.0, 77.04, 28.01)],
        crs="EPSG:4326",
    )
    blocks = read_subwards(
        SubwardRequest(_blocks(tmp_path, [100, 100, 100, 700]), population_field="POP")
    )
    assert blocks.basis == "the layer's population"
    split = split_wards(WardLayer(wards=ward), {"7": 2}, subwards=blocks)
    units = split.wards
    assert list(units["ward_name"]) == ["ward 7 (part 1 of 2)", "ward 7 (part 2 of 2)"]
    # b1–b3 (300 persons) and b4 (700): the layer's own figures, not the area, spread the ward's
    assert units["population"].tolist() == pytest.approx([3_000.0, 7_000.0], rel=1e-3)
    metric = units.estimate_utm_crs()
    areas = units.to_crs(metric).area.to_numpy()
    assert areas[0] / areas[1] == pytest.approx(3.0, rel=1e-3)
    whole = shapely.union_all(units.geometry.to_numpy())
    outline = ward.geometry.iloc[0]  # to the reprojection's rounding
    assert whole.symmetric_difference(outline).area < 1e-3 * outline.area
    assert "spread by the layer's population" in split.warnings[-1]


def test_a_sub_ward_layer_without_an_id_column_is_refused_naming_the_aliases(
    tmp_path: Path,
) -> None:
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(77, 28, 77.01, 28.01)], crs=4326)
    path = tmp_path / "nameless.geojson"
    frame.to_file(path, driver="GeoJSON")
    with pytest.raises(InputError) as caught:
        read_subwards(SubwardRequest(path))
    assert "--subward-id-field" in str(caught.value.issues[-1].message)
