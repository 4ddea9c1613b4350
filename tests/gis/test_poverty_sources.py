"""Poverty data instead of the flat rate: a ward-level poverty table and a slum layer overlay."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis.errors import InputError
from gis.io import read_ward_layer
from gis.layer import WardLayer
from gis.slums import SlumRequest, join_slum_layer, overlay
from gis.tables import join_poverty_table

#: Two 1 km squares side by side near Lucknow, in UTM 44N metres.
UTM = "EPSG:32644"
X0, Y0 = 300_000.0, 2_970_000.0


def squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ward_id": ["1", "2"]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs=UTM,
    ).to_crs("EPSG:4326")


def slums(households: list[float | None]) -> gpd.GeoDataFrame:
    """Three slums: across the shared edge (3/4 in ward 1), inside ward 2, outside both."""
    geoms = [
        box(X0 + 700, Y0 + 100, X0 + 1100, Y0 + 200),
        box(X0 + 1500, Y0 + 500, X0 + 1600, Y0 + 600),
        box(X0 + 3000, Y0, X0 + 3100, Y0 + 100),
    ]
    return gpd.GeoDataFrame(
        {"slum_id": ["a", "b", "c"], "households": households}, geometry=geoms, crs=UTM
    ).to_crs("EPSG:4326")


def test_overlay_weights_by_area_and_reports_what_fell_outside() -> None:
    result = overlay(squares(), slums([400.0, 50.0, 10.0]))
    assert result.per_ward == pytest.approx([300.0, 100.0 + 50.0], rel=1e-3)
    assert result.outside_households == pytest.approx(10.0, rel=1e-3)
    assert result.outside_features == ["c"]
    assert result.crossing == 1


def test_overlapping_wards_never_give_away_more_than_a_slum_holds() -> None:
    wards = squares()
    utm = wards.to_crs(UTM)
    utm.loc[1, "geometry"] = box(X0 + 800, Y0, X0 + 2000, Y0 + 1000)  # overlaps ward 1 by 200 m
    result = overlay(utm.to_crs("EPSG:4326"), slums([400.0, 50.0, 10.0]))
    assert sum(result.per_ward) == pytest.approx(450.0, rel=1e-3)


def write_slums(tmp_path: Path, frame: gpd.GeoDataFrame) -> Path:
    path = tmp_path / "slums.geojson"
    path.write_text(frame.to_json(drop_id=True), encoding="utf-8")
    return path


def layer_of(frame: gpd.GeoDataFrame, tmp_path: Path) -> WardLayer:
    frame = frame.assign(population=[10_000, 20_000])
    path = tmp_path / "wards.geojson"
    path.write_text(frame.to_json(drop_id=True), encoding="utf-8")
    return read_ward_layer(path)


def test_area_only_slums_need_a_stated_total(tmp_path: Path) -> None:
    layer = layer_of(squares(), tmp_path)
    frame = slums([None, None, None]).drop(columns="households")
    frame = frame.rename(columns={"slum_id": "cluster_id"})
    path = write_slums(tmp_path, frame)
    with pytest.raises(InputError, match="no households or population") as error:
        join_slum_layer(layer, SlumRequest(path), 4.66)
    assert "--slum-households-total" in error.value.issues[0].message

    joined = join_slum_layer(layer, SlumRequest(path, total_households=600.0), 4.66)
    # areas 40,000 + 10,000 + 10,000 m²: 400 / 100 / 100 households, 300 + (100 + 100)
    assert list(joined.wards["poor_households"]) == pytest.approx([300.0, 200.0], rel=1e-3)
    assert joined.poverty_sources == {
        "1": "slum layer slums.geojson (600 slum households spread by area, area-weighted)",
        "2": "slum layer slums.geojson (600 slum households spread by area, area-weighted)",
    }
    assert any("100 households (17 %) fell outside every ward" in w for w in joined.warnings)
    assert any("1 polygon(s) entirely: c" in w for w in joined.warnings)


def test_slum_persons_become_households(tmp_path: Path) -> None:
    layer = layer_of(squares(), tmp_path)
    frame = slums([None, None, None]).drop(columns="households")
    frame["persons"] = [466.0, 0.0, 0.0]
    path = write_slums(tmp_path, frame.rename(columns={"slum_id": "slum_no"}))
    joined = join_slum_layer(layer, SlumRequest(path, population_field="persons"), 4.66)
    assert list(joined.wards["poor_households"]) == pytest.approx([75.0, 25.0], rel=1e-3)


def test_poverty_table_by_padded_ward_number_with_sources(
    shared_data: Path, tmp_path: Path
) -> None:
    layer = read_ward_layer(shared_data / "chandigarh/wards.geojson")
    table = tmp_path / "slums.csv"
    table.write_text("ward_no,slum_households\n01,1200\n02,\n05,800\n", encoding="utf-8")
    joined = join_poverty_table(layer, table, household_size=4.66)

    figures = dict(zip(joined.wards["ward_id"], joined.wards["poor_households"], strict=True))
    assert (figures["1"], figures["5"]) == (1200, 800)
    assert joined.wards["poor_households"].notna().sum() == 2
    assert joined.poverty_sources == {
        "1": "poverty table slums.csv (slum_households)",
        "5": "poverty table slums.csv (slum_households)",
    }
    assert any(
        "ward '1' = table '01' (same number, written with leading zeros in the table)" in w
        for w in joined.warnings
    )


def test_poverty_table_of_slum_persons_and_a_missing_column(
    shared_data: Path, tmp_path: Path
) -> None:
    layer = read_ward_layer(shared_data / "chandigarh/wards.geojson")
    table = tmp_path / "persons.csv"
    table.write_text("ward,slum_population\n3,4660\n", encoding="utf-8")
    joined = join_poverty_table(layer, table, household_size=4.66)
    assert joined.wards.loc[joined.wards["ward_id"] == "3", "poor_households"].item() == 1000
    assert joined.poverty_sources["3"] == (
        "poverty table persons.csv (slum_population ÷ household size 4.66)"
    )

    table.write_text("ward,hh\n3,10\n", encoding="utf-8")
    with pytest.raises(InputError, match="no poverty column found") as error:
        join_poverty_table(layer, table, household_size=4.66)
    assert "slum_households" in str(error.value)
    assert json.dumps(layer.poverty_sources) == "{}"  # the input layer is not modified
