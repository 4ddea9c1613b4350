"""Fixtures for the gis tests: real city layers loaded without the production reader."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

from gis.layer import STORAGE_CRS, WARD_COLUMNS, WardLayer

LoadLayer = Callable[[str], WardLayer]


@cache
def _read_clean_wards(path: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(STORAGE_CRS)
    gdf["ward_id"] = gdf["ward_id"].astype(str)
    gdf["population"] = gdf["population"].astype(float)
    for column in ("ward_name", "zone"):
        gdf[column] = gdf[column].astype(object).where(gdf[column].notna(), None)
    for column in ("households", "poor_households"):
        gdf[column] = np.nan
    return gdf[list(WARD_COLUMNS)]


@pytest.fixture
def load_clean_layer(shared_data: Path) -> LoadLayer:
    """``load_clean_layer(city) -> WardLayer`` from ``<data>/<city>/wards.geojson``.

    ``households`` and ``poor_households`` (not in the files) are NaN.

    Each call returns a fresh copy, so a test may modify its layer freely.
    """

    def load(city: str) -> WardLayer:
        path = shared_data / city / "wards.geojson"
        if not path.is_file():
            pytest.fail(f"{path} not found")
        return WardLayer(wards=_read_clean_wards(path).copy())

    return load
