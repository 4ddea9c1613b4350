"""The plan on a map: coloured CO areas, wards, zones, homes, a legend, details and search.

``plan_map`` returns a ``folium.Map`` and writes nothing; the caller saves it. Every string from a
user file (ward names, organiser names, ids) is escaped before it reaches HTML; the raw strings the
page's script searches are only ever compared or set as text. Labels are in English and Hindi.

Offline by design: government and city networks often have no internet, so the page loads no CDN
asset and no base tiles unless a tile URL is configured. Folium's asset list (Leaflet, jQuery,
Bootstrap, Font Awesome, awesome-markers from CDNs) is replaced by the files in ``gis/static``: linked
under ``asset_base`` (the app serves them at ``/static``), or inlined into the page
(``asset_base=None``) so that a ``map.html`` written to disk works alone. Reprojection to EPSG:4326
happens here, for rendering only.

Frames: ``plan_wards`` needs ``ward_id``, ``organiser_id`` and geometry, and may carry
``ward_name``, ``ward_name_hi`` (Hindi), ``zone``, ``population`` and ``poor_households_est``;
``areas`` needs ``organiser_id`` and geometry, and may carry ``name``, ``n_wards``, the load, the
deviation (computed from the loads and their mean when absent) and ``mean_km_from_home`` (computed
from the wards and homes when absent).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely
from shapely import STRtree

from gis import hindi
from gis.credits import DATAMEET_LICENCE, DATAMEET_SOURCE, data_credit
from gis.crs import metric_crs
from gis.figures import PlanFigures, count_text, km_text, percent_text
from gis.layer import STORAGE_CRS
from gis.maplabels import co_label_layer, escape, ward_number_layer
from gis.mappage import (
    LABELS,
    _credits_html,
    _PageScript,
    _title_html,
    fit_map,
    new_map,
    page_title,
)
from gis.mappage import STATIC_DIR as STATIC_DIR  # the page's names, importable from here as before
from gis.mappage import STATIC_URL as STATIC_URL
from gis.mappage import tile_template_problem as tile_template_problem
from gis.moved_layer import Moved, moved_key_html, moved_layer
from gis.organisers import Organiser, organiser_distances_km
from gis.palette import PALETTE
from gis.parent_outlines import add_parent_outlines

#: The credit of the bundled sample data (what the demo states on upload); a layer's own credit is
#: its uploader's to state (``gis.credits``), and none is shown when none is stated.
DATA_CREDITS = data_credit(DATAMEET_SOURCE, DATAMEET_LICENCE)

#: Areas closer than this (metres) count as neighbours when choosing colours.
NEIGHBOUR_M = 10.0


def area_colours(areas: gpd.GeoDataFrame, palette: Sequence[str] = PALETTE) -> dict[str, str]:
    """A colour per organiser such that no two neighbouring areas share one (greedy colouring).

    Areas are coloured in order of decreasing number of neighbours (Welsh–Powell). Each takes the
    least-used colour its neighbours leave free, so the palette is spread: with no more areas than
    colours every area has its own, and a legend row points to one area. If the palette runs out,
    colours are reused — only possible with more neighbours than colours.
    """
    ids = [str(v) for v in areas["organiser_id"]]
    neighbours = _area_neighbours(areas)
    order = sorted(range(len(ids)), key=lambda i: (-len(neighbours[i]), ids[i]))
    colour_of: dict[int, int] = {}
    used = [0] * len(palette)
    for i in order:
        taken = {colour_of[j] for j in neighbours[i] if j in colour_of}
        free = [c for c in range(len(palette)) if c not in taken]
        colour_of[i] = min(free, key=lambda c: (used[c], c)) if free else i % len(palette)
        used[colour_of[i]] += 1
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


def plan_map(  # noqa: PLR0913 - keyword-only drawing options
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
    asset_base: str | None = STATIC_URL,
    centres: gpd.GeoDataFrame | None = None,
    moved: Moved | None = None,
) -> folium.Map:
    """An interactive map of a plan.

    ``moved`` (a re-plan's or an edit's changes against its parent plan): a layer outlining the
    wards that changed CO, shown by default, and its legend line (:mod:`gis.moved_layer`).

    ``centres`` (``name`` + points): community centres, each shown with the CO whose area it lies
    in (the letter's contact point for that area).

    ``tiles``: a tile URL template (``https://tiles.example/{z}/{x}/{y}.png``), added as a base
    layer; none by default (``ValueError`` for a string that is not a template). ``asset_base``:
    the URL the page loads its assets from (``/static`` in the app), or ``None`` to inline them so
    the saved page works on its own. The legend shows ``areas[load_column]`` and
    ``areas[deviation_column]`` (per cent; derived from the loads and their mean when that column
    is absent); "—" where a figure is missing.
    """
    wards = plan_wards.to_crs(STORAGE_CRS).reset_index(drop=True)
    area_frame = areas.to_crs(STORAGE_CRS).reset_index(drop=True)
    minx, miny, maxx, maxy = wards.total_bounds
    fmap, root = new_map(
        wards.total_bounds, asset_base=asset_base, tiles=tiles, tiles_attribution=tiles_attribution
    )

    ward_km = ward_km_from_home(wards, homes)
    colours = area_colours(area_frame)
    figures = _AreaFigures.of(area_frame, wards, ward_km, load_column, deviation_column)
    area_layer = _area_layer(area_frame, colours, figures)
    area_layer.add_to(fmap)
    if _has_zones(wards):
        _zone_layer(wards).add_to(fmap)
    ward_layer = _ward_layer(wards, ward_km, figures)
    ward_layer.add_to(fmap)
    add_parent_outlines(fmap, wards)  # split wards over their units
    moves = None if moved is None else moved_layer(wards, moved)
    if moves is not None:
        moves.add_to(fmap)
    ward_number_layer(wards, LABELS["numbers"]).add_to(fmap)
    co_label_layer(area_frame, LABELS["co_labels"]).add_to(fmap)
    _home_layer(homes).add_to(fmap)
    if centres is not None and not centres.empty:
        _centre_layer(centres, area_frame).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _PageScript(area_layer, ward_layer, moves).add_to(fmap)
    fit_map(fmap, (minx, miny, maxx, maxy))

    page_title(root, title)
    root.html.add_child(folium.Element(_title_html(title)))
    legend = _legend_html(
        area_frame,
        colours,
        credits,
        figures,
        has_zones=_has_zones(wards),
        has_centres=centres is not None and not centres.empty,
        moved="" if moved is None else moved_key_html(moved),
    )
    root.html.add_child(folium.Element(legend))
    return fmap


# --- figures --------------------------------------------------------------------------------------


def ward_km_from_home(wards: gpd.GeoDataFrame, homes: Sequence[Organiser]) -> list[float | None]:
    """km from each ward's representative point to its own CO's home (None: home not known)."""
    index = {h.organiser_id: j for j, h in enumerate(homes)}
    if not index:
        return [None] * len(wards)
    km = organiser_distances_km(wards, homes)
    return [
        None if str(oid) not in index else km[i][index[str(oid)]]
        for i, oid in enumerate(wards["organiser_id"])
    ]


class _AreaFigures:
    """Per organiser: wards, load, deviation and mean distance from home, for legend and popups."""

    def __init__(
        self,
        wards: dict[str, list[str]],
        load: dict[str, float | None],
        deviation: dict[str, float | None],
        km: dict[str, float | None],
    ) -> None:
        self.wards, self.load, self.deviation, self.km = wards, load, deviation, km

    @classmethod
    def of(
        cls,
        areas: gpd.GeoDataFrame,
        wards: gpd.GeoDataFrame,
        ward_km: list[float | None],
        load_column: str,
        deviation_column: str,
    ) -> _AreaFigures:
        ids = [str(v) for v in areas["organiser_id"]]
        loads = _column(areas, load_column)
        deviations = _deviations(areas, deviation_column, loads)
        members: dict[str, list[str]] = {oid: [] for oid in ids}
        for ward_id, oid in zip(wards["ward_id"], wards["organiser_id"], strict=True):
            members.setdefault(str(oid), []).append(str(ward_id))
        if "mean_km_from_home" in areas.columns:
            km = dict(zip(ids, _column(areas, "mean_km_from_home"), strict=True))
        else:
            km = mean_km(wards, ward_km)
        return cls(
            members,
            dict(zip(ids, loads, strict=True)),
            dict(zip(ids, deviations, strict=True)),
            {oid: km.get(oid) for oid in ids},
        )


def plan_figures(
    wards: gpd.GeoDataFrame, homes: Sequence[Organiser], organiser_ids: Sequence[str]
) -> PlanFigures:
    """A plan's figures from its wards (``organiser_id`` and ``poor_households_est`` columns) and
    its COs' exact homes: what a stored plan's areas, sheets and map show."""
    return PlanFigures.of(
        organiser_ids,
        [str(w) for w in wards["ward_id"]],
        [str(o) for o in wards["organiser_id"]],
        _column(wards, "poor_households_est"),
        ward_km_from_home(wards, homes),
    )


def mean_km(wards: gpd.GeoDataFrame, ward_km: list[float | None]) -> dict[str, float | None]:
    """Mean km from home per organiser, weighted by poor households when known (as the solver)."""
    known = "poor_households_est" in wards
    weights: list[float | None] = (
        _column(wards, "poor_households_est") if known else [1.0] * len(wards)
    )
    figures = PlanFigures.of(
        [], list(wards["ward_id"]), [str(o) for o in wards["organiser_id"]], weights, ward_km
    )
    return {o.organiser_id: o.mean_km for o in figures.organisers}


def _column(frame: pd.DataFrame, column: str) -> list[float | None]:
    if column not in frame.columns:
        return [None] * len(frame)
    return [None if pd.isna(v) else float(v) for v in frame[column]]


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


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


# --- layers ---------------------------------------------------------------------------------------


def _feature_collection(
    frame: gpd.GeoDataFrame, properties: list[dict[str, Any]]
) -> dict[str, Any]:
    features = [
        {"type": "Feature", "properties": props, "geometry": geom.__geo_interface__}
        for props, geom in zip(properties, frame.geometry, strict=True)
        if geom is not None and not geom.is_empty
    ]
    return {"type": "FeatureCollection", "features": features}


def _table(rows: Sequence[tuple[str, str | None]]) -> str:
    """A details table; labels are ours, values already escaped; rows without a value are left out."""
    body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows if value)
    return f'<table class="wp-details">{body}</table>'


def _area_rows(oid: str, name: str | None, figures: _AreaFigures) -> list[tuple[str, str | None]]:
    wards = figures.wards.get(oid, [])
    return [
        (LABELS["co"], escape(f"{oid} — {name}" if name else oid)),
        (LABELS["wards"], f"{len(wards)}: {escape(', '.join(wards))}"),
        (LABELS["load"], count_text(figures.load.get(oid))),
        (LABELS["deviation"], percent_text(figures.deviation.get(oid))),
        (LABELS["km_area"], km_text(figures.km.get(oid))),
    ]


def _area_layer(
    areas: gpd.GeoDataFrame, colours: Mapping[str, str], figures: _AreaFigures
) -> folium.GeoJson:
    props = []
    for _, row in areas.iterrows():
        oid, name = str(row["organiser_id"]), _text(row.get("name"))
        label = escape(f"{oid} — {name}" if name else oid)
        props.append(
            {
                "wp_org": oid,
                "colour": colours[oid],
                "tip": f"{LABELS['co']}: {label}",
                "popup": _table(_area_rows(oid, name, figures)),
            }
        )
    return folium.GeoJson(
        _feature_collection(areas, props),
        name=LABELS["areas"],
        style_function=_area_style,
    )


def _area_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"]["colour"],
        "fillOpacity": 0.75,
        "color": "#333333",
        "weight": 2.5,
        "className": "wp-area",
    }


def _has_zones(wards: gpd.GeoDataFrame) -> bool:
    return "zone" in wards.columns and any(_text(z) for z in wards["zone"])


#: Zone outlines: gaps narrower than this between a zone's wards are closed (metres), and holes
#: and fragments smaller than ``ZONE_SPECK_M2`` dropped, so an outline is the zone's edge, not dots
#: along every digitising sliver.
ZONE_CLOSE_M = 25.0
ZONE_SPECK_M2 = 20_000.0


def _zone_outline(geoms: Sequence[shapely.Geometry]) -> shapely.Geometry:
    merged = shapely.union_all([g.buffer(ZONE_CLOSE_M) for g in geoms]).buffer(-ZONE_CLOSE_M)
    parts = [
        shapely.Polygon(
            p.exterior, [h for h in p.interiors if shapely.Polygon(h).area >= ZONE_SPECK_M2]
        )
        for p in getattr(merged, "geoms", [merged])
        if isinstance(p, shapely.Polygon) and p.area >= ZONE_SPECK_M2
    ]
    return shapely.MultiPolygon(parts) if parts else merged


def _zone_layer(wards: gpd.GeoDataFrame) -> folium.GeoJson:
    """Zone outlines: the union of each zone's wards, without slivers (``_zone_outline``)."""
    metric = wards.to_crs(metric_crs(wards))
    zones = sorted({z for z in metric["zone"] if _text(z)})
    geoms = [_zone_outline(metric.geometry[metric["zone"] == z].to_list()) for z in zones]
    frame = gpd.GeoDataFrame({"zone": zones}, geometry=geoms, crs=metric.crs).to_crs(STORAGE_CRS)
    props = [{"wp_zone": z} for z in zones]
    return folium.GeoJson(
        _feature_collection(frame, props),
        name=LABELS["zones"],
        style_function=_zone_style,
        interactive=False,
    )


def _zone_style(_feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fill": False,
        "color": "#6a1b9a",
        "weight": 4,
        "dashArray": "10 6",
        "className": "wp-zone",
    }


def _ward_layer(
    wards: gpd.GeoDataFrame, ward_km: list[float | None], figures: _AreaFigures
) -> folium.GeoJson:
    has_zone = _has_zones(wards)
    props = []
    for i, (_, row) in enumerate(wards.iterrows()):
        ward_id, oid = str(row["ward_id"]), str(row["organiser_id"])
        name, name_hi = _text(row.get("ward_name")), _text(row.get("ward_name_hi"))
        named = " ".join(escape(n) for n in (name, name_hi) if n)
        ward_rows: list[tuple[str, str | None]] = [
            (LABELS["ward"], escape(ward_id)),
            (LABELS["name"], named),
            (LABELS["zone"], escape(row["zone"]) if has_zone and _text(row["zone"]) else None),
            (LABELS["population"], count_text(_float(row.get("population")))),
            (LABELS["poor"], count_text(_float(row.get("poor_households_est")))),
            (LABELS["km_ward"], km_text(ward_km[i])),
        ]
        props.append(
            {
                "wp_id": ward_id,
                "wp_name": name or "",
                "wp_name_hi": name_hi or "",
                "wp_org": oid,
                "tip": f"{LABELS['ward']} {escape(ward_id)} {named} → {escape(oid)}",
                "popup": _table(ward_rows) + _table(_area_rows(oid, None, figures)),
            }
        )
    return folium.GeoJson(
        _feature_collection(wards, props),
        name=LABELS["boundaries"],
        style_function=_ward_style,
        highlight_function=_ward_highlight,
    )


def _ward_style(_feature: dict[str, Any]) -> dict[str, Any]:
    return {"fillOpacity": 0.0, "color": "#555555", "weight": 0.8, "className": "wp-ward"}


def _ward_highlight(_feature: dict[str, Any]) -> dict[str, Any]:
    return {"weight": 3, "color": "#000000"}


def _float(value: object) -> float | None:
    if isinstance(value, numbers.Real) and math.isfinite(value):
        return float(value)
    return None


def ringed_marker(
    lat: float, lon: float, *, radius: int, class_name: str, tooltip: str
) -> folium.CircleMarker:
    """A white disc with a black ring: a CO's home, a camp's venue (``tooltip`` already escaped)."""
    return folium.CircleMarker(
        [lat, lon],
        radius=radius,
        color="#000000",
        weight=2,
        fill=True,
        fill_color="#ffffff",
        fill_opacity=1.0,
        class_name=class_name,
        tooltip=folium.Tooltip(tooltip),
    )


def _home_layer(homes: Sequence[Organiser]) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=LABELS["homes"])
    for home in homes:
        tip = f"{LABELS['home']}: {escape(home.organiser_id)} — {escape(home.name)}"
        ringed_marker(home.lat, home.lon, radius=6, class_name="wp-home", tooltip=tip).add_to(layer)
    return layer


def centre_areas(centres: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> list[str | None]:
    """The organiser whose area holds each centre (None: in no area)."""
    frame = areas.to_crs(STORAGE_CRS)
    found: list[str | None] = []
    for point in centres.to_crs(STORAGE_CRS).geometry:
        inside = [
            str(o)
            for o, g in zip(frame["organiser_id"], frame.geometry, strict=True)
            if g is not None and g.covers(point)
        ]
        found.append(inside[0] if inside else None)
    return found


def _centre_layer(centres: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=LABELS["centres"])
    points = centres.to_crs(STORAGE_CRS)
    for name, point, oid in zip(
        points["name"], points.geometry, centre_areas(centres, areas), strict=True
    ):
        area = f" — {LABELS['contact_for']} {escape(oid)}" if oid else ""
        folium.CircleMarker(  # a plain Leaflet marker: no plugin script to fetch
            [point.y, point.x],
            radius=7,
            color="#1b7837",
            weight=2,
            fill=True,
            fill_color="#a6dba0",
            fill_opacity=1.0,
            class_name="wp-centre",
            tooltip=folium.Tooltip(f"{LABELS['centre']}: {escape(name)}{area}"),
        ).add_to(layer)
    return layer


# --- title and legend -----------------------------------------------------------------------------


def _legend_html(
    areas: gpd.GeoDataFrame,
    colours: Mapping[str, str],
    credits: str,
    figures: _AreaFigures,
    *,
    has_zones: bool = False,
    has_centres: bool = False,
    moved: str = "",
) -> str:
    counts = areas["n_wards"] if "n_wards" in areas.columns else [None] * len(areas)
    rows = []
    for i, (_, row) in enumerate(areas.iterrows()):
        oid, name = str(row["organiser_id"]), _text(row.get("name"))
        label = escape(f"{oid} — {name}" if name else oid)
        rows.append(
            f'<tr class="wp-legend-row" data-organiser="{escape(oid)}"><td>'
            f'<span class="wp-swatch" style="background:{colours[oid]}"></span>{label}</td>'
            f"<td>{count_text(counts[i])}</td><td>{count_text(figures.load[oid])}</td>"
            f"<td>{percent_text(figures.deviation[oid])}</td><td>{km_text(figures.km[oid])}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            f"CO<br>{hindi.CO}",
            f"wards<br>{hindi.WARDS}",
            f"poor households<br>{hindi.POOR_HOUSEHOLDS}",
            "deviation<br>विचलन",
            "km from home<br>घर से किमी",
        )
    )
    # <details>: the reader can fold the legend away when it covers part of the city.
    return (
        f'<div class="wp-legend"><details open><summary>COs / {hindi.COS} ({len(rows)})'
        f"</summary><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"{_key_html(has_zones=has_zones, has_centres=has_centres)}{moved}"
        f"{_credits_html(credits)}</details></div>"
    )


def _key_html(*, has_zones: bool, has_centres: bool) -> str:
    """What the map's symbols mean: the home circle, the CO id, the zone dash, the centres."""
    rows = [
        f'<div><span class="wp-key-home"></span>{LABELS["home"]}</div>',
        f'<div><span class="wp-key-co">CO-1</span>{LABELS["co_labels"]}</div>',
    ]
    if has_zones:
        rows.append(f'<div><span class="wp-key-zone"></span>{LABELS["zone_line"]}</div>')
    if has_centres:
        rows.append(f'<div><span class="wp-key-centre"></span>{LABELS["centre"]}</div>')
    return f'<div class="wp-key">{"".join(rows)}</div>'
