"""A layer is reprojected to its metric CRS once on its way to the solver (issue 16): the adjacency
and the distances share one metric copy of the wards. A stored layer reaches ``solve_layer`` in
EPSG:4326 (``app.services.frames.stored_layer``), as a layer read from a file does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

from app.core.options import PlanOptions
from app.pipeline import planning
from benchmarks import instances
from gis.adjacency import build_adjacency
from gis.io import read_ward_layer
from gis.layer import STORAGE_CRS, WardLayer
from gis.organisers import illustrative_organisers
from solver.params import SolveParams
from solver.poverty import EstimateParams

#: Fewer organisers than wards, so their homes (one point each) are not counted as the wards.
ORGANISERS = 3


@pytest.fixture(scope="module")
def chandigarh(shared_data: Path) -> WardLayer:
    layer = read_ward_layer(shared_data / "chandigarh" / "wards.geojson")
    assert layer.wards.crs == STORAGE_CRS  # as a stored layer comes back from the database
    return layer


@pytest.fixture
def reprojected(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every series ``GeoSeries.to_crs`` reprojects (``GeoDataFrame.to_crs`` goes
    through it too), in order."""
    calls: list[int] = []
    real = gpd.GeoSeries.to_crs

    def spy(self: gpd.GeoSeries, *args: Any, **kwargs: Any) -> gpd.GeoSeries:
        calls.append(len(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoSeries, "to_crs", spy)
    return calls


def test_solve_layer_reprojects_the_wards_once(
    chandigarh: WardLayer, reprojected: list[int]
) -> None:
    organisers = illustrative_organisers(chandigarh.wards, ORGANISERS, seed=2017)
    config = PlanOptions(solve=SolveParams(tolerance=0.3, time_limit=5.0))
    reprojected.clear()  # the made-up homes above are not the solve's
    result = planning.solve_layer(chandigarh, organisers, config)
    assert result.solution.assignment is not None
    assert reprojected.count(len(chandigarh)) == 1, reprojected
    assert result.layer.wards.crs == STORAGE_CRS  # the outputs still get the stored CRS


def test_the_metric_layer_gives_the_same_adjacency_and_distances(chandigarh: WardLayer) -> None:
    """Made metric once, the layer gives exactly what each step got by reprojecting on its own."""
    organisers = illustrative_organisers(chandigarh.wards, ORGANISERS, seed=2017)
    metric = planning.metric_layer(chandigarh)
    assert metric.wards.crs != STORAGE_CRS
    assert metric.wards.crs.is_projected
    assert chandigarh.wards.crs == STORAGE_CRS  # the layer itself is left as it was
    once = build_adjacency(metric.wards, snap_metres=5.0)
    each = build_adjacency(chandigarh.wards, snap_metres=5.0)
    assert once.edges == each.edges
    assert once.links == each.links
    estimate = EstimateParams()
    from_metric = planning.build_problem(metric, once, organisers, estimate)
    from_stored = planning.build_problem(chandigarh, each, organisers, estimate)
    for row, expected in zip(from_metric.distance_km, from_stored.distance_km, strict=True):
        assert row == pytest.approx(expected, abs=1e-9)
    assert from_metric.weights == from_stored.weights


def test_a_benchmark_instance_reprojects_the_wards_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``benchmarks.instances.build`` makes its Problem as the app does (one metric copy of the
    wards; the made-up homes are drawn in EPSG:4326), and it is the Problem the adjacency and
    the distances made each on its own reprojection gave."""
    spec = next(s for s in instances.quick_specs() if s.name == "chandigarh-k3-t10")
    layer = instances.city_layer(spec.city)
    metric: list[int] = []  # the length of every series reprojected to a metric CRS
    real = gpd.GeoSeries.to_crs

    def spy(self: gpd.GeoSeries, *args: Any, **kwargs: Any) -> gpd.GeoSeries:
        out = real(self, *args, **kwargs)
        if out.crs is not None and out.crs.is_projected:
            metric.append(len(self))
        return out

    monkeypatch.setattr(gpd.GeoSeries, "to_crs", spy)
    built = instances.build(spec).problem
    assert metric.count(len(layer)) == 1, metric
    organisers = illustrative_organisers(
        layer.wards, spec.organisers, seed=instances.ORGANISER_SEED
    )
    each = planning.build_problem(layer, build_adjacency(layer.wards), organisers, EstimateParams())
    assert metric.count(len(layer)) == 3, metric  # the spy sees each step's own reprojection
    assert (built.unit_ids, built.edges, built.weights) == (each.unit_ids, each.edges, each.weights)
    for row, expected in zip(built.distance_km, each.distance_km, strict=True):
        assert row == pytest.approx(expected, abs=1e-9)
