"""CRS checks in one place: metric work happens in a local UTM zone, never in degrees."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS


def metric_crs(gdf: gpd.GeoDataFrame) -> CRS:
    """The UTM zone that fits the layer (estimated from its bounds), for lengths and distances."""
    if gdf.crs is None:
        raise ValueError("layer has no CRS; cannot choose a metric CRS")
    crs: CRS = gdf.estimate_utm_crs()
    return crs


def to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer reprojected to its metric CRS (see ``metric_crs``)."""
    return gdf.to_crs(metric_crs(gdf))
