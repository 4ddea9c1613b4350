"""Split wards drawn over their units (issue 15, item 6): the parent ward's outline on the map."""

from __future__ import annotations

import geopandas as gpd
import pytest

from gis.export import dissolve_areas, plan_wards
from gis.maps import plan_map
from gis.organisers import Organiser
from gis.parent_outlines import parent_frame
from gis.split import split_wards
from tests.gis.conftest import LoadLayer


def _split_plan(load_clean_layer: LoadLayer) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Mumbai with P/N in 3 units and K/E in 2; the plan's wards carry ``parent`` (as the CLI's)."""
    layer = split_wards(load_clean_layer("mumbai_admin_wards"), {"P/N": 3, "K/E": 2})
    wards = layer.wards.copy()
    wards["parent"] = [layer.parents.get(w, (w,))[0] for w in wards["ward_id"]]
    wards["poor_households_est"] = wards["population"] * 0.275 / 4.66
    assignment = {w: ("CO-1" if i % 2 else "CO-2") for i, w in enumerate(wards["ward_id"])}
    homes = [Organiser("CO-1", "Asha", 72.85, 19.1), Organiser("CO-2", "Bina", 72.9, 19.05)]
    areas = dissolve_areas(wards, assignment, organisers=homes, sum_columns=["poor_households_est"])
    return plan_wards(wards, assignment), areas


def test_parent_outline_is_the_union_of_its_units(load_clean_layer: LoadLayer) -> None:
    wards, _ = _split_plan(load_clean_layer)
    frame = parent_frame(wards)
    assert frame is not None
    assert list(frame["parent"]) == ["K/E", "P/N"]
    assert list(frame["parts"]) == [2, 3]
    original = load_clean_layer("mumbai_admin_wards").wards.set_index("ward_id").geometry
    metric = frame.estimate_utm_crs()
    for parent, outline in zip(frame["parent"], frame.to_crs(metric).geometry, strict=True):
        whole = gpd.GeoSeries([original[parent]], crs="EPSG:4326").to_crs(metric).iloc[0]
        assert outline.symmetric_difference(whole).area < 1e-4 * whole.area
        assert outline.geom_type == "Polygon" or len(outline.geoms) <= len(
            getattr(whole, "geoms", [whole])
        )


def test_the_map_draws_split_wards_over_their_units(load_clean_layer: LoadLayer) -> None:
    wards, areas = _split_plan(load_clean_layer)
    homes = [Organiser("CO-1", "Asha", 72.85, 19.1), Organiser("CO-2", "Bina", 72.9, 19.05)]
    html = (
        plan_map(
            wards,
            areas,
            homes,
            title="Mumbai",
            credits="DataMeet",
            load_column="poor_households_est",
        )
        .get_root()
        .render()
    )
    assert html.count('"wp_parent"') >= 2
    assert "ward P/N (3 parts)" in html
    assert "ward K/E (2 parts)" in html
    assert "wp-parent" in html


@pytest.mark.parametrize("with_column", [True, False])
def test_no_outline_without_a_split(load_clean_layer: LoadLayer, with_column: bool) -> None:
    wards = load_clean_layer("chandigarh").wards.copy()
    if with_column:
        wards["parent"] = wards["ward_id"]
    assert parent_frame(wards) is None
