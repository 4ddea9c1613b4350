"""Where two plans of a city differ: one map, each ward filled by whether its CO changes."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from gis import hindi
from gis.layer import STORAGE_CRS
from gis.maplabels import escape, ward_number_layer
from gis.mappage import LABELS, _credits_html, _title_html, fit_map, new_map, page_title
from gis.maps import _feature_collection, _text

#: Fill of wards that change CO between two plans, and of those that keep theirs.
CHANGED_FILL, KEPT_FILL = "#d7301f", "#4e9fd6"


def difference_map(
    wards: gpd.GeoDataFrame,
    *,
    title: str,
    credits: str,
    label_a: str,
    label_b: str,
    asset_base: str | None = None,
) -> folium.Map:
    """Where two plans differ: each ward filled by whether its CO changes (``organiser_a`` →
    ``organiser_b``), with the move in its tooltip. Assets are inlined by default, so the page
    works as a file of its own (saved, mailed, opened offline)."""
    frame = wards.to_crs(STORAGE_CRS).reset_index(drop=True)
    minx, miny, maxx, maxy = frame.total_bounds
    fmap, root = new_map((minx, miny, maxx, maxy), asset_base=asset_base)
    props = []
    for _, row in frame.iterrows():
        ward_id, a, b = str(row["ward_id"]), str(row["organiser_a"]), str(row["organiser_b"])
        name = _text(row.get("ward_name"))
        named = f"{escape(ward_id)} {escape(name)}" if name else escape(ward_id)
        move = f"{escape(a)} → {escape(b)}" if a != b else f"{escape(a)} (unchanged / अपरिवर्तित)"
        props.append(
            {"wp_id": ward_id, "changed": a != b, "tip": f"{LABELS['ward']} {named}: {move}"}
        )
    folium.GeoJson(
        _feature_collection(frame, props),
        name="Wards / वार्ड",
        style_function=_difference_style,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(fmap)
    ward_number_layer(frame, LABELS["numbers"]).add_to(fmap)
    fit_map(fmap, (minx, miny, maxx, maxy))
    changed = sum(1 for p in props if p["changed"])
    page_title(root, title)
    root.html.add_child(folium.Element(_title_html(title)))
    root.html.add_child(
        folium.Element(
            '<div class="wp-legend"><table>'
            f'<tr><td><span class="wp-swatch" style="background:{CHANGED_FILL}"></span>'
            f"CO changes / {hindi.CO} बदलता है</td><td>{changed}</td></tr>"
            f'<tr><td><span class="wp-swatch" style="background:{KEPT_FILL}"></span>'
            f"same CO / वही {hindi.CO}</td><td>{len(props) - changed}</td></tr></table>"
            f"<div>{escape(label_a)} → {escape(label_b)}</div>"
            f"{_credits_html(credits)}</div>"
        )
    )
    return fmap


def _difference_style(feature: dict[str, Any]) -> dict[str, Any]:
    changed = bool(feature["properties"]["changed"])
    return {
        "fillColor": CHANGED_FILL if changed else KEPT_FILL,
        "fillOpacity": 0.6 if changed else 0.35,
        "color": "#555555",
        "weight": 0.8,
    }
