"""Every problem of a file in one answer: ids, geometry, CRS and counts together (issue 15, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from gis.errors import InputError
from gis.io import read_ward_layer


def chandigarh(shared_data: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(shared_data / "chandigarh/wards.geojson")
    return frame[["ward_id", "population", "geometry"]]


def test_web_mercator_geojson_without_crs_and_a_duplicate(
    shared_data: Path, tmp_path: Path
) -> None:
    """Metres written as if degrees (no ``crs`` member) and ward 2 twice: both in one refusal."""
    frame = chandigarh(shared_data).to_crs("EPSG:3857")
    frame.loc[1, "ward_id"] = frame.loc[0, "ward_id"]
    frame.loc[2, "population"] = -4
    doc = json.loads(frame.to_json(drop_id=True))
    doc.pop("crs", None)
    path = tmp_path / "mercator.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")

    with pytest.raises(InputError) as error:
        read_ward_layer(path)

    codes = [i.code for i in error.value.issues]
    assert error.value.code == "invalid-layer"
    assert "duplicate-id" in codes
    assert "bad-number" in codes
    assert "outside-india" in codes
    assert any("look like metres" in i.message for i in error.value.issues)


def write_without_crs(frame: gpd.GeoDataFrame, path: Path) -> None:
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.set_crs(None, allow_override=True).to_file(path, driver="GPKG")


def test_geopackage_without_crs_and_a_duplicate(shared_data: Path, tmp_path: Path) -> None:
    """(A shapefile without .prj is refused on opening the archive, before any parsing.)"""
    frame = chandigarh(shared_data)
    frame.loc[1, "ward_id"] = frame.loc[0, "ward_id"]
    path = tmp_path / "nocrs.gpkg"
    write_without_crs(frame, path)

    with pytest.raises(InputError) as error:
        read_ward_layer(path)
    assert {i.code for i in error.value.issues} == {"missing-crs", "duplicate-id"}

    frame.loc[1, "ward_id"] = "2"  # mended: the CRS alone is refused as before
    path.unlink()
    write_without_crs(frame, path)
    with pytest.raises(InputError) as error:
        read_ward_layer(path)
    assert error.value.code == "missing-crs"
    assert "declares no CRS" in str(error.value)
    assert read_ward_layer(path, crs="EPSG:4326").wards["ward_id"].is_unique
