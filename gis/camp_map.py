"""The camp plan on a map: clusters in colours (no two neighbours alike), venues marked, each
cluster's camp, venue, wards and date(s) on hover and click. Offline like the plan map: the same
bundled Leaflet assets (:func:`gis.maps._use_local_assets`), inlined when saved to disk, no tiles
unless a tile template is given; every user string is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd

from gis.camp_files import Camp, CampHours
from gis.layer import STORAGE_CRS
from gis.maplabels import escape, ward_number_layer
from gis.mappage import LABELS, _title_html, fit_map, new_map
from gis.maps import _feature_collection, _table, area_colours, ringed_marker

CAMP_LABELS = {
    "camp": "Camp / शिविर",
    "venue": "Venue / स्थल",
    "dates": "Date(s) / तिथि",
    "hours": "Time / समय",
    "registrants": "Expected registrants / अपेक्षित पंजीयन",
    "clusters": "Camp clusters / शिविर क्षेत्र",
    "venues": "Venues / स्थल",
    "candidates": "Unused candidate venues / अप्रयुक्त स्थल",
}


def dates_text(dates: Sequence[Any]) -> str:
    return ", ".join(f"{d:%a %d %b %Y}" for d in dates)


def camp_map(
    wards: gpd.GeoDataFrame,
    clusters: gpd.GeoDataFrame,
    camps: Sequence[Camp],
    hours: CampHours,
    *,
    title: str,
    credits: str,
    unused: Sequence[Any] = (),
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    asset_base: str | None = None,
) -> folium.Map:
    """``clusters``: one (dissolved) polygon per camp with ``camp_id``; ``wards`` the ward layer
    with ``camp_id``; ``unused``: candidate venues without a camp (shown small, off by default)."""
    wards = wards.to_crs(STORAGE_CRS).reset_index(drop=True)
    frame = clusters.to_crs(STORAGE_CRS).reset_index(drop=True)
    minx, miny, maxx, maxy = wards.total_bounds
    fmap, root = new_map(
        (minx, miny, maxx, maxy),
        asset_base=asset_base,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
    )
    colours = area_colours(frame.rename(columns={"camp_id": "organiser_id"}))
    by_id = {c.camp_id: c for c in camps}
    props = []
    for cid in frame["camp_id"].astype(str):
        camp = by_id[cid]
        rows = [
            (CAMP_LABELS["camp"], escape(cid)),
            (CAMP_LABELS["venue"], escape(f"{camp.venue.name} ({camp.venue.venue_id})")),
            (CAMP_LABELS["dates"], escape(dates_text(camp.dates))),
            (CAMP_LABELS["hours"], escape(hours.text())),
            (LABELS["wards"], f"{len(camp.ward_ids)}: {escape(camp.wards_text())}"),
            (CAMP_LABELS["registrants"], f"{camp.registrants:,.0f}"),
        ]
        props.append(
            {
                "wp_camp": cid,
                "colour": colours[cid],
                "tip": f"{escape(cid)} — {escape(dates_text(camp.dates))}",
                "popup": _table(rows),
            }
        )
    folium.GeoJson(
        _feature_collection(frame, props),
        name=CAMP_LABELS["clusters"],
        style_function=_cluster_style,
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
    ).add_to(fmap)
    wards.boundary.to_frame("geometry").pipe(_boundaries).add_to(fmap)
    ward_number_layer(wards, LABELS["numbers"]).add_to(fmap)
    _venue_layer(camps).add_to(fmap)
    if unused:
        _unused_layer(unused).add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    fit_map(fmap, (minx, miny, maxx, maxy))
    root.html.add_child(folium.Element(_title_html(title)))
    root.html.add_child(folium.Element(_legend(camps, colours, credits)))
    return fmap


def _cluster_style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"]["colour"],
        "fillOpacity": 0.75,
        "color": "#333333",
        "weight": 2.5,
        "className": "wp-camp",
    }


def _boundaries(frame: gpd.GeoDataFrame) -> folium.GeoJson:
    return folium.GeoJson(
        frame.__geo_interface__,
        name=LABELS["boundaries"],
        style_function=lambda _f: {"color": "#666666", "weight": 0.6, "fill": False},
        interactive=False,
    )


def _venue_layer(camps: Sequence[Camp]) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=CAMP_LABELS["venues"])
    for c in camps:
        tip = f"{escape(c.camp_id)}: {escape(c.venue.name)} — {escape(dates_text(c.dates))}"
        ringed_marker(
            c.venue.lat, c.venue.lon, radius=7, class_name="wp-venue", tooltip=tip
        ).add_to(layer)
    return layer


def _unused_layer(venues: Sequence[Any]) -> folium.FeatureGroup:
    layer = folium.FeatureGroup(name=CAMP_LABELS["candidates"], show=False)
    for v in venues:
        folium.CircleMarker(
            [v.lat, v.lon],
            radius=3,
            color="#777777",
            weight=1,
            fill=True,
            fill_opacity=0.6,
            class_name="wp-candidate",
            tooltip=folium.Tooltip(escape(v.name)),
        ).add_to(layer)
    return layer


def _legend(camps: Sequence[Camp], colours: dict[str, str], credits: str) -> str:
    rows = "".join(
        f'<tr class="wp-legend-row" data-camp="{escape(c.camp_id)}"><td>'
        f'<span class="wp-swatch" style="background:{colours[c.camp_id]}"></span>'
        f"{escape(c.camp_id)}</td><td>{escape(dates_text(c.dates))}</td>"
        f"<td>{escape(c.venue.name)}</td><td>{len(c.ward_ids)}</td><td>{c.registrants:,.0f}</td></tr>"
        for c in camps
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "camp<br>शिविर",
            "date<br>तिथि",
            "venue<br>स्थल",
            "wards<br>वार्ड",
            "registrants<br>पंजीयन",
        )
    )
    return (
        f'<div class="wp-legend"><details open><summary>Camps / शिविर ({len(camps)})</summary>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        f'<div class="wp-credits">{escape(credits)}</div></details></div>'
    )
