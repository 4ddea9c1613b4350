"""Zones from a separate layer: each ward in the zone it overlaps most (issue 15, item 5)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from gis.errors import InputError
from gis.io import read_ward_layer
from gis.zones import assign_zones


def test_lucknow_zones_from_the_zone_layer_match_the_ward_attribute(shared_data: Path) -> None:
    layer = read_ward_layer(shared_data / "lucknow/wards.geojson")
    expected = list(layer.wards["zone"])
    layer.wards["zone"] = None

    zoned = assign_zones(layer, shared_data / "lucknow/zones.geojson")

    assert list(zoned.wards["zone"]) == expected
    assert "1 ward(s) lie in several zones: 96 (2 96 %, 1 4 %)" in zoned.warnings
    assert [s.path for s in zoned.sources][-1] == "zones.geojson"
    assert layer.wards["zone"].isna().all()  # the input layer is not modified


def test_changed_zones_are_reported(shared_data: Path) -> None:
    layer = read_ward_layer(shared_data / "lucknow/wards.geojson")
    layer.wards.loc[layer.wards["ward_id"] == "1", "zone"] = "3"
    zoned = assign_zones(layer, shared_data / "lucknow/zones.geojson")
    assert "zones.geojson changed the zone of 1 ward(s): 1 '3' → '5'" in zoned.warnings


def test_a_zone_layer_without_a_zone_column_is_refused(shared_data: Path, tmp_path: Path) -> None:
    zones = gpd.read_file(shared_data / "lucknow/zones.geojson").rename(columns={"zone": "circle"})
    path = tmp_path / "circles.geojson"
    path.write_text(zones.to_json(drop_id=True), encoding="utf-8")
    layer = read_ward_layer(shared_data / "lucknow/wards.geojson")
    with pytest.raises(InputError) as error:
        assign_zones(layer, path)
    assert "zone column names recognised: zone, zone_name" in str(error.value)
    assert "'circle'" in str(error.value)
    assert assign_zones(layer, path, "circle").wards["zone"].notna().all()
