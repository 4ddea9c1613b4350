"""Parent-ward outlines over split units (issue 15, item 6: "maps draw parent ward boundaries over
unit boundaries").

When wards too large for one CO are split (``gis.split``), the map draws the units like wards; the
ward they came from is drawn over them as a thick dark outline, labelled "ward 57 (3 parts)" on
hover, so a reader sees both the units the COs were given and the ward the city knows. The plan's
wards carry their parent in the ``parent`` column (the CLI's plan files; the served map adds it
from the stored layer); a ward that was not split is its own parent and gets no outline.
"""

from __future__ import annotations

from html import escape
from typing import Any

import folium
import geopandas as gpd
import shapely

from gis import hindi
from gis.crs import metric_crs
from gis.layer import STORAGE_CRS

#: Closing distance (m) that welds the units of one ward into one outline.
WELD_M = 0.5
NAME = f"Split wards / विभाजित {hindi.WARD}"


def parent_frame(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """One outline per split ward (``parent``, ``parts``, geometry in EPSG:4326), or ``None`` when
    no ward of the plan was split."""
    if "parent" not in wards.columns:
        return None
    split = wards[wards["parent"].astype(str) != wards["ward_id"].astype(str)]
    if split.empty:
        return None
    metric = split.to_crs(metric_crs(split))
    rows = []
    for parent, units in metric.groupby(metric["parent"].astype(str), sort=True):
        grown = shapely.buffer(units.geometry.to_numpy(), WELD_M)
        outline = shapely.buffer(shapely.union_all(grown), -WELD_M)
        rows.append({"parent": parent, "parts": len(units), "geometry": outline})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric.crs)
    return frame.to_crs(STORAGE_CRS)


def parent_layer(wards: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """The outlines as a map layer drawn above the wards (``None`` when no ward was split)."""
    frame = parent_frame(wards)
    if frame is None:
        return None
    features = [
        {
            "type": "Feature",
            "properties": {
                "wp_parent": escape(f"ward {row.parent} ({row.parts} parts)"),
            },
            "geometry": row.geometry.__geo_interface__,
        }
        for row in frame.itertuples()
    ]
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=NAME,
        style_function=_style,
        tooltip=folium.GeoJsonTooltip(fields=["wp_parent"], labels=False),
    )


def add_parent_outlines(fmap: folium.Map, wards: gpd.GeoDataFrame) -> None:
    """Add the outlines to ``fmap`` when a ward of the plan was split."""
    layer = parent_layer(wards)
    if layer is not None:
        layer.add_to(fmap)


def _style(_feature: dict[str, Any]) -> dict[str, Any]:
    return {"fill": False, "color": "#212121", "weight": 5, "className": "wp-parent"}
