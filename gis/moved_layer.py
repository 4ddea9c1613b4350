"""What a re-plan or a hand edit changed, on its own map page: a layer "Moved from parent" over
each ward whose CO differs from the parent plan's (dashed dark outline, light shade), its tooltip
"Ward W Name: CO-A → CO-B" (it covers the ward's own tooltip, so it names the ward as that one
does), and a legend line with the count of wards and poor households moved.

The layer sits over the wards; a click on one of its wards is passed on to the ward below (its
details, the edit mode's choice) by ``static/wardplan/map.js``. Nothing is fetched: it works in
the offline page as in the app's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd

from gis import hindi
from gis.figures import count_text
from gis.maplabels import escape
from gis.mappage import LABELS

#: The layer's name in the layer control (shown by default).
MOVED_NAME = "Moved from parent / पिछली योजना से बदले"
#: The outline of a moved ward.
MOVED_COLOUR = "#1a1a1a"


@dataclass(frozen=True)
class Moved:
    """The wards whose CO changed against the parent plan, ``{ward: (parent's CO, this plan's
    CO)}``, their poor households, and the parent's name (e.g. "version 3 (plan 12)")."""

    moves: Mapping[str, tuple[str, str]]
    households: float
    parent: str


def moved_from(
    wards: gpd.GeoDataFrame,
    parent_assignment: Mapping[str, str],
    parent: str,
    households_column: str = "poor_households_est",
) -> Moved:
    """The moves of ``wards`` (``ward_id``, ``organiser_id``) against ``parent_assignment``
    (``{ward: CO}``); a ward the parent does not have is not a move. Households from
    ``wards[households_column]`` (0 where missing)."""
    moves: dict[str, tuple[str, str]] = {}
    households = []
    for _, row in wards.iterrows():
        ward, now = str(row["ward_id"]), str(row["organiser_id"])
        before = parent_assignment.get(ward)
        if before is not None and before != now:
            moves[ward] = (before, now)
            value = row.get(households_column)
            households.append(0.0 if value is None or value != value else float(value))
    return Moved(moves, math.fsum(households), parent)


def moved_layer(wards: gpd.GeoDataFrame, moved: Moved) -> folium.GeoJson:
    """The moved wards of ``wards`` (in the map's CRS), each with its move as its tooltip."""
    frame = wards[[str(w) in moved.moves for w in wards["ward_id"]]].reset_index(drop=True)
    props = []
    for _, row in frame.iterrows():
        w = row["ward_id"]
        before, now = moved.moves[str(w)]
        tip = f"{LABELS['ward']} {escape(str(w))}{_names(row)}: {escape(before)} → {escape(now)}"
        props.append({"wp_id": str(w), "wp_from": before, "wp_to": now, "tip": tip})
    features = [
        {"type": "Feature", "properties": p, "geometry": g.__geo_interface__}
        for p, g in zip(props, frame.geometry, strict=True)
        if g is not None and not g.is_empty
    ]
    collection = {"type": "FeatureCollection", "features": features}
    return folium.GeoJson(collection, name=MOVED_NAME, style_function=_moved_style)


def _names(row: Any) -> str:
    """ " Name नाम" of a ward row (its English and Hindi names, those it has): the move's tooltip
    covers the ward's own, so it names the ward as that one does."""
    names = [row.get(c) for c in ("ward_name", "ward_name_hi")]
    shown = [escape(n.strip()) for n in names if isinstance(n, str) and n.strip()]
    return "".join(f" {n}" for n in shown)


def _moved_style(_feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "color": MOVED_COLOUR,
        "weight": 3,
        "dashArray": "6 4",
        "fillColor": MOVED_COLOUR,
        "fillOpacity": 0.18,
        "className": "wp-moved",
    }


def moved_key_html(moved: Moved) -> str:
    """The legend's line: how many wards and poor households moved, and from which plan."""
    return (
        f'<div class="wp-moved-key"><span class="wp-key-moved"></span>{MOVED_NAME} '
        f"({escape(moved.parent)}): <b>{len(moved.moves)}</b> wards / {hindi.WARDS} · "
        f"<b>{count_text(moved.households)}</b> poor households / {hindi.POOR_HOUSEHOLDS}</div>"
    )
