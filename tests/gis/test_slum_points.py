"""Slum layers given as points (issue 15, item 4): each point to the ward containing it, the
nearest within a tolerance for points just outside, the rest reported by id.

The points are built from Mumbai's real slum clusters (one point inside each cluster, with the
cluster's area ÷ 12 m² as its households — a stated figure, not a census count), plus two points
west of the westernmost ward: one 40 m off the coast, one 5 km out at sea."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point

from gis.errors import InputError
from gis.layer import WardLayer
from gis.slums import SlumRequest, join_slum_layer, overlay, read_slums
from gis.split import slum_measure
from tests.gis.conftest import LoadLayer

M2_PER_HOUSEHOLD = 12.0


def _clusters(shared_data: Path) -> gpd.GeoDataFrame:
    clusters = gpd.read_file(shared_data / "mumbai_slum_clusters/slum_clusters.geojson")
    metric = clusters.estimate_utm_crs()
    clusters["households"] = (clusters.to_crs(metric).area / M2_PER_HOUSEHOLD).round()
    return clusters


def _offshore(wards: gpd.GeoDataFrame, metres: float) -> Point:
    """A point ``metres`` west of the westernmost vertex of the wards (out in the sea)."""
    metric = wards.estimate_utm_crs()
    coords = shapely.get_coordinates(wards.to_crs(metric).geometry.to_numpy())
    x, y = coords[coords[:, 0].argmin()]
    return gpd.GeoSeries([Point(x - metres, y)], crs=metric).to_crs("EPSG:4326").iloc[0]


def write_slum_points(shared_data: Path, path: Path) -> Path:
    """Mumbai's slum clusters as points (households = area ÷ 12 m²), plus a point 40 m off the
    coast (250 households) and one 5 km out at sea (400), written to ``path`` (GeoJSON)."""
    clusters = _clusters(shared_data)
    wards = gpd.read_file(shared_data / "mumbai_admin_wards/wards.geojson")
    points = gpd.GeoDataFrame(
        {
            "cluster_id": [str(c) for c in clusters["cluster_id"]] + ["near-coast", "far-sea"],
            "households": [int(h) for h in clusters["households"]] + [250, 400],
        },
        geometry=[
            *clusters.geometry.representative_point(),
            _offshore(wards, 40.0),
            _offshore(wards, 5000.0),
        ],
        crs="EPSG:4326",
    )
    points.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture(scope="module")
def point_file(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    folder = tmp_path_factory.mktemp("slum-points")
    return write_slum_points(shared_data, folder / "slum_points.geojson")


@pytest.mark.slow  # Mumbai's 2,541 slum clusters overlaid as points and as polygons
def test_points_go_to_their_ward_and_match_the_polygon_overlay(
    point_file: Path, shared_data: Path, load_clean_layer: LoadLayer
) -> None:
    layer = load_clean_layer("mumbai_admin_wards")
    joined = join_slum_layer(layer, SlumRequest(point_file), 4.66)

    clusters = _clusters(shared_data).rename(columns={"cluster_id": "slum_id"})
    by_polygon = np.array(overlay(layer.wards, clusters).per_ward)
    by_point = joined.wards["poor_households"].to_numpy() - _near_coast(layer)
    # The two methods differ only for clusters crossing a ward boundary.
    assert np.abs(by_point - by_polygon).sum() < 0.01 * by_polygon.sum()
    assert np.abs(by_point - by_polygon).max() < 0.06 * by_polygon.max()
    assert joined.wards["poor_households"].sum() == pytest.approx(
        clusters["households"].sum() + 250, abs=1e-6
    )

    text = "\n".join(joined.warnings)
    nearest = _nearest_ward(layer)
    assert f"near-coast → ward {nearest} (40 m)" in text
    assert "far-sea (400 households)" in text
    assert "farther than 100 m from every ward and were left out" in text
    # cluster 917's polygon is a sliver with no interior: its point has no location
    assert "left out 1 point(s) with no location (holding 0 households or persons): 917" in text
    assert len(joined.poverty_sources) == len(layer.wards)
    for source in joined.poverty_sources.values():
        assert source.startswith("slum points slum_points.geojson (households of each slum point")
        assert source.endswith("by the ward containing each)")
    assert "slum_points.geojson" in [s.path for s in joined.sources]


def _nearest_ward(layer: WardLayer) -> str:
    wards = layer.wards.to_crs(layer.wards.estimate_utm_crs())
    point = gpd.GeoSeries([_offshore(layer.wards, 40.0)], crs="EPSG:4326").to_crs(wards.crs)
    return str(wards["ward_id"].iloc[int(wards.distance(point.iloc[0]).argmin())])


def _near_coast(layer: WardLayer) -> np.ndarray:
    extra = np.zeros(len(layer.wards))
    extra[list(layer.wards["ward_id"]).index(_nearest_ward(layer))] = 250.0
    return extra


def test_a_wider_tolerance_places_the_point_at_sea(
    tmp_path: Path, load_clean_layer: LoadLayer
) -> None:
    layer = load_clean_layer("mumbai_admin_wards")
    offshore = gpd.GeoDataFrame(
        {"slum_id": ["near-coast", "far-sea"], "households": [250, 400]},
        geometry=[_offshore(layer.wards, 40.0), _offshore(layer.wards, 5000.0)],
        crs="EPSG:4326",
    )
    path = tmp_path / "offshore.geojson"
    offshore.to_file(path, driver="GeoJSON")
    narrow = join_slum_layer(layer, SlumRequest(path), 4.66)
    assert narrow.wards["poor_households"].sum() == 250
    wide = join_slum_layer(layer, SlumRequest(path, point_tolerance_m=6000.0), 4.66)
    assert wide.wards["poor_households"].sum() == 650
    assert "far-sea → ward" in "\n".join(wide.warnings)
    assert "left out" not in "\n".join(wide.warnings)


def test_points_without_figures_share_the_stated_total(
    tmp_path: Path, load_clean_layer: LoadLayer, shared_data: Path
) -> None:
    clusters = _clusters(shared_data).iloc[:200]
    points = gpd.GeoDataFrame(
        {"slum_no": range(200)}, geometry=clusters.geometry.representative_point().values
    ).set_crs("EPSG:4326")
    path = tmp_path / "register.geojson"
    points.to_file(path, driver="GeoJSON")
    layer = load_clean_layer("mumbai_admin_wards")
    with pytest.raises(InputError) as error:
        join_slum_layer(layer, SlumRequest(path), 4.66)
    assert "--slum-households-total" in str(error.value.issues[-1])
    joined = join_slum_layer(layer, SlumRequest(path, total_households=10_000.0), 4.66)
    assert joined.wards["poor_households"].sum() == pytest.approx(10_000.0)
    assert "10,000 slum households spread equally over points" in joined.warnings[-2]


def test_bad_points_are_refused_naming_feature_field_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad_points.geojson"
    features = [
        {"type": "Feature", "properties": {"slum_id": "S1", "households": 120},
         "geometry": {"type": "Point", "coordinates": [72.85, 19.07]}},
        {"type": "Feature", "properties": {"slum_id": "S2", "households": "many"},
         "geometry": {"type": "Point", "coordinates": [72.86, 19.08]}},
        {"type": "Feature", "properties": {"slum_id": "S3", "households": -4},
         "geometry": {"type": "Point", "coordinates": [72.87, 19.09]}},
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(InputError) as error:
        read_slums(SlumRequest(path), 4.66)
    issues = error.value.issues
    assert [(i.feature, i.ward_id, i.field, i.value) for i in issues] == [
        (1, "S2", "households", "'many'"),
        (2, "S3", "households", "'-4'"),
    ]
    assert all(i.file == "bad_points.geojson" for i in issues)


def test_split_by_slum_points_counts_the_households_inside_each_piece() -> None:
    points = gpd.GeoSeries([Point(10, 10), Point(20, 10), Point(90, 10)])
    measure = slum_measure(points, [5.0, 7.0, 11.0])
    assert measure(shapely.box(0, 0, 50, 20)) == 12.0
    assert measure(shapely.box(50, 0, 100, 20)) == 11.0
