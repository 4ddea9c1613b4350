"""The web map's text on the map itself: ward numbers and CO ids, with their candidate spots.

Each label is a Leaflet marker at its polygon's widest spot (``gis.labels``); the label's element
carries every candidate spot (``data-at``: ``[[lat, lng], …]``, best first), from which the page's
script (``static/wardplan/map.js``) picks, at each zoom, the first whose box is clear of the home
markers and of the labels already placed. CO labels are placed first: where two areas share a
colour (more COs than colours), the id on each says whose area it is.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

import folium
import geopandas as gpd
from shapely.geometry import Point

from gis.crs import metric_crs
from gis.labels import candidates_of
from gis.layer import STORAGE_CRS


def escape(text: object) -> str:
    """``text`` safe inside HTML and inside a JavaScript template literal (folium tooltips)."""
    escaped = html.escape(str(text), quote=True)
    return escaped.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def label_spots(frame: gpd.GeoDataFrame) -> list[list[Point]]:
    """Candidate label spots of each polygon of ``frame``, in EPSG:4326, best first."""
    crs = metric_crs(frame)
    metric = frame.to_crs(crs)
    spots = candidates_of(list(metric.geometry))
    flat = [p for points in spots for p in points]
    if not flat:
        return [[] for _ in spots]
    back = list(gpd.GeoSeries(flat, crs=crs).to_crs(STORAGE_CRS))
    out, k = [], 0
    for points in spots:
        out.append(back[k : k + len(points)])
        k += len(points)
    return out


def _spots_attribute(points: Sequence[Point]) -> str:
    return escape(json.dumps([[round(p.y, 6), round(p.x, 6)] for p in points]))


def _label_marker(
    text: str, points: Sequence[Point], css: str, icon_class: str, size: tuple[int, int]
) -> folium.Marker | None:
    if not points:
        return None
    icon = folium.DivIcon(
        html=f'<div class="{css}" data-at="{_spots_attribute(points)}">{escape(text)}</div>',
        icon_size=size,
        icon_anchor=(size[0] // 2, size[1] // 2),
        class_name=icon_class,
    )
    return folium.Marker([points[0].y, points[0].x], icon=icon, interactive=False)


def ward_number_layer(wards: gpd.GeoDataFrame, name: str) -> folium.FeatureGroup:
    """Ward numbers, each at its ward's widest spot (or the next free candidate)."""
    layer = folium.FeatureGroup(name=name)
    for ward_id, points in zip(wards["ward_id"], label_spots(wards), strict=True):
        marker = _label_marker(str(ward_id), points, "wp-ward-label", "wp-ward-icon", (28, 14))
        if marker is not None:
            marker.add_to(layer)
    return layer


def co_label_layer(areas: gpd.GeoDataFrame, name: str) -> folium.FeatureGroup:
    """Each CO's id on its area, so that an area reads without the legend's colours."""
    layer = folium.FeatureGroup(name=name)
    for oid, points in zip(areas["organiser_id"], label_spots(areas), strict=True):
        marker = _label_marker(str(oid), points, "wp-co-label", "wp-co-icon", (90, 18))
        if marker is not None:
            marker.add_to(layer)
    return layer
