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
    """The layer in its metric CRS (see ``metric_crs``): reprojected, or ``gdf`` itself (not a
    copy) when it is in that CRS already, so metric work on a frame made metric once reprojects
    nothing again."""
    crs = metric_crs(gdf)
    return gdf if gdf.crs == crs else gdf.to_crs(crs)
