"""The plan on a map: coloured CO areas, ward boundaries and numbers, homes, a legend.

``plan_map`` returns a ``folium.Map`` and writes nothing; the caller saves it. Every string from a
user file (ward names, organiser names, ids) is escaped before it reaches HTML or a JavaScript
template literal — folium inserts tooltip text unescaped. No base tiles by default: city and
government networks are often offline. Reprojection to EPSG:4326 happens here, for rendering only.

Frames: ``plan_wards`` needs ``ward_id``, ``organiser_id`` and geometry (``ward_name`` optional);
``areas`` needs ``organiser_id`` and geometry, and may carry ``name``, ``n_wards``, ``load`` and
``deviation_pct`` (computed from ``load`` and the mean load when absent) for the legend.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Figure
from shapely import STRtree

from gis.crs import metric_crs
from gis.layer import STORAGE_CRS
from gis.organisers import Organiser

#: Qualitative palette (ColorBrewer Set3 + Paired, colour-blind-aware order); greedy colouring
#: of the area adjacency rarely needs more than five.
PALETTE = (
    "#8dd3c7",
    "#fdb462",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#b3de69",
    "#fccde5",
    "#ffed6f",
    "#bc80bd",
    "#ccebc5",
    "#a6cee3",
    "#d9d9d9",
)

#: Credits for the bundled data; show them wherever the data is shown.
DATA_CREDITS = (
    "Ward boundaries: DataMeet Municipal_Spatial_Data (CC BY-SA 2.5 India); "
    "population: Census of India 2011"
)

#: Areas closer than this (metres) count as neighbours when choosing colours.
NEIGHBOUR_M = 10.0


def escape(text: object) -> str:
    """``text`` safe inside HTML and inside a JavaScript template literal (folium tooltips)."""
    escaped = html.escape(str(text), quote=True)
    return escaped.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def area_colours(areas: gpd.GeoDataFrame, palette: Sequence[str] = PALETTE) -> dict[str, str]:
    """A colour per organiser such that no two neighbouring areas share one (greedy colouring).

    Areas are coloured in order of decreasing number of neighbours (Welsh–Powell); if the palette
    runs out, colours are reused — only possible with more neighbours than colours.
    """
    ids = [str(v) for v in areas["organiser_id"]]
    neighbours = _area_neighbours(areas)
    order = sorted(range(len(ids)), key=lambda i: (-len(neighbours[i]), ids[i]))
    colour_of: dict[int, int] = {}
    for i in order:
        taken = {colour_of[j] for j in neighbours[i] if j in colour_of}
        free = [c for c in range(len(palette)) if c not in taken]
        colour_of[i] = free[0] if free else i % len(palette)
    return {ids[i]: palette[colour_of[i]] for i in range(len(ids))}


def _area_neighbours(areas: gpd.GeoDataFrame) -> list[set[int]]:
    neighbours: list[set[int]] = [set() for _ in range(len(areas))]
    if len(areas) < 2:
        return neighbours
    geoms = areas.to_crs(metric_crs(areas)).geometry.to_numpy()
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=NEIGHBOUR_M)
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    return neighbours


def plan_map(
    plan_wards: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    homes: Sequence[Organiser],
    *,
    title: str,
    credits: str,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    load_column: str = "load",
    deviation_column: str = "deviation_pct",
) -> folium.Map:
    """An interactive map of a plan; ``tiles``: a folium tile name or URL template, or none.

    The legend shows ``areas[load_column]`` and ``areas[deviation_column]`` (per cent; derived from
    the loads and their mean when that column is absent); "—" where a figure is missing.
    """
    wards = plan_wards.to_crs(STORAGE_CRS)
    area_frame = areas.to_crs(STORAGE_CRS)
    minx, miny, maxx, maxy = wards.total_bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        control_scale=True,
        prefer_canvas=True,
    )
    if tiles is not None:
        folium.TileLayer(tiles, attr=tiles_attribution, name="Base map").add_to(fmap)
    colours = area_colours(area_frame)
    _area_layer(area_frame, colours).add_to(fmap)
    _ward_layer(wards).add_to(fmap)
    _label_layer(wards).add_to(fmap)
    _home_layer(homes).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    root = fmap.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium always roots a map in a Figure
        raise TypeError("folium map is not attached to a Figure")
    root.header.add_child(folium.Element(_STYLE))
    root.html.add_child(folium.Element(_title_html(title)))
    legend = _legend_html(area_frame, colours, credits, load_column, deviation_column)
    root.html.add_child(folium.Element(legend))
    return fmap


def _feature_collection(
    frame: gpd.GeoDataFrame, properties: list[dict[str, Any]]
) -> dict[str, Any]:
    features = [
        {"type": "Feature", "properties": props, "geometry": geom.__geo_interface__}
        for props, geom in zip(properties, frame.geometry, strict=True)
        if geom is not None and not geom.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def _area_layer(areas: gpd.GeoDataFrame, colours: Mapping[str, str]) -> folium.FeatureGroup:
    props = [
        {"organiser": escape(oid), "tip": escape(_area_label(row)), "colour": colours[str(oid)]}
        for oid, (_, row) in zip(areas["organiser_id"], areas.iterrows(), strict=True)
    ]
    layer = folium.FeatureGroup(name="CO areas")
    folium.GeoJson(
        _feature_collection(areas, props),
        name="CO areas",
        style_function=_area_style,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(layer)
    return layer


def _area_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"]["colour"],
        "fillOpacity": 0.75,
        "color": "#333333",
        "weight": 2.5,
    }


def _area_label(row: pd.Series) -> str:
    name = row.get("name")
    oid = str(row["organiser_id"])
    return f"{oid} — {name}" if isinstance(name, str) and name else oid


def _ward_layer(wards: gpd.GeoDataFrame) -> folium.FeatureGroup:
    names = wards["ward_name"] if "ward_name" in wards.columns else [None] * len(wards)
    props = [
        {"tip": escape(_ward_label(ward_id, name, oid))}
        for ward_id, name, oid in zip(wards["ward_id"], names, wards["organiser_id"], strict=True)
    ]
    layer = folium.FeatureGroup(name="Ward boundaries")
    folium.GeoJson(
        _feature_collection(wards, props),
        name="Ward boundaries",
        style_function=_ward_style,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(layer)
    return layer


def _ward_style(_feature: dict[str, Any]) -> dict[str, Any]:
    return {"fillOpacity": 0.0, "color": "#555555", "weight": 0.8}


def _ward_label(ward_id: object, name: object, organiser_id: object) -> str:
    named = f"ward {ward_id}" if not isinstance(name, str) or not name else f"ward {ward_id} {name}"
    return f"{named} → {organiser_id}"


def _label_layer(wards: gpd.GeoDataFrame) -> folium.FeatureGroup:
    points = wards.to_crs(metric_crs(wards)).geometry.representative_point().to_crs(STORAGE_CRS)
    layer = folium.FeatureGroup(name="Ward numbers")
    for ward_id, point in zip(wards["ward_id"], points, strict=True):
        icon = folium.DivIcon(
            html=f'<div class="wp-ward-label">{escape(ward_id)}</div>',
            icon_size=(28, 14),
            icon_anchor=(14, 7),
            class_name="wp-ward-icon",
        )
        folium.Marker([point.y, point.x], icon=icon).add_to(layer)
    return layer


def _home_layer(homes: Sequence[Organiser]) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name="CO homes")
    for home in homes:
        folium.CircleMarker(
            [home.lat, home.lon],
            radius=6,
            color="#000000",
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=1.0,
            tooltip=folium.Tooltip(escape(f"{home.organiser_id} — {home.name} (home)")),
        ).add_to(layer)
    return layer


def _title_html(title: str) -> str:
    return f'<div class="wp-title">{escape(title)}</div>'


def _legend_html(
    areas: gpd.GeoDataFrame,
    colours: Mapping[str, str],
    credits: str,
    load_column: str,
    deviation_column: str,
) -> str:
    loads = _column(areas, load_column)
    deviations = _deviations(areas, deviation_column, loads)
    counts = areas["n_wards"] if "n_wards" in areas.columns else [None] * len(areas)
    rows = []
    for i, (_, row) in enumerate(areas.iterrows()):
        oid = str(row["organiser_id"])
        rows.append(
            f'<tr class="wp-legend-row"><td><span class="wp-swatch" '
            f'style="background:{colours[oid]}"></span>{escape(_area_label(row))}</td>'
            f"<td>{_count(counts[i])}</td><td>{_number(loads[i])}</td>"
            f"<td>{_percent(deviations[i])}</td></tr>"
        )
    return (
        '<div class="wp-legend"><table><thead><tr><th>CO</th><th>wards</th><th>load</th>'
        f"<th>deviation</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<div class="wp-credits">{escape(credits)}</div></div>'
    )


def _column(areas: gpd.GeoDataFrame, column: str) -> list[float | None]:
    if column not in areas.columns:
        return [None] * len(areas)
    return [None if pd.isna(v) else float(v) for v in areas[column]]


def _deviations(
    areas: gpd.GeoDataFrame, column: str, loads: list[float | None]
) -> list[float | None]:
    if column in areas.columns:
        return _column(areas, column)
    known = [v for v in loads if v is not None]
    mean = math.fsum(known) / len(known) if known else 0.0
    if mean <= 0:
        return [None] * len(loads)
    return [None if v is None else (v - mean) / mean * 100.0 for v in loads]


def _count(value: object) -> str:
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return f"{float(value):.0f}"
    return "—"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} %"


_STYLE = """<style>
.wp-title{position:fixed;top:10px;left:60px;z-index:1000;background:#fff;padding:4px 10px;
  font:bold 15px sans-serif;border:1px solid #999;border-radius:4px}
.wp-legend{position:fixed;bottom:24px;right:10px;z-index:1000;background:#fff;padding:6px 8px;
  font:12px sans-serif;border:1px solid #999;border-radius:4px;max-height:60vh;overflow:auto}
.wp-legend td,.wp-legend th{padding:1px 6px;text-align:right}
.wp-legend td:first-child,.wp-legend th:first-child{text-align:left}
.wp-swatch{display:inline-block;width:12px;height:12px;margin-right:5px;border:1px solid #555;
  vertical-align:middle}
.wp-credits{margin-top:4px;font-size:10px;color:#555;max-width:320px}
.wp-ward-icon{background:none;border:none}
.wp-ward-label{font:10px sans-serif;color:#222;text-align:center;text-shadow:0 0 2px #fff}
</style>"""
