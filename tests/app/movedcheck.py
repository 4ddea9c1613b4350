"""What the "Moved from parent" layer of a plan's map page draws (gis/moved_layer.py), read from
the page's own HTML: folium writes each GeoJSON layer as ``geo_json_…_add({…})``."""

from __future__ import annotations

import json
import re
from typing import Any

from gis.maplabels import escape

#: The layer's name, as the page's layer control shows it.
MOVED_NAME = "Moved from parent / पिछली योजना से बदले"


def geojson_layers(page: str) -> list[dict[str, Any]]:
    """Every GeoJSON feature collection the map page draws."""
    decoder, found = json.JSONDecoder(), []
    for m in re.finditer(r"geo_json_[0-9a-f]+_add\(\{", page):
        found.append(decoder.raw_decode(page, m.end() - 1)[0])
    return found


def moved_on_page(page: str) -> dict[str, tuple[str, str]]:
    """``{ward: (parent's CO, this plan's CO)}`` drawn by the page's moved layer; each feature's
    tooltip must say that move and name the ward as the ward layer's own tooltip does."""
    moves, names = {}, {}
    layers = geojson_layers(page)
    for f in (f for layer in layers for f in layer["features"]):
        p = f["properties"]
        if "wp_name" in p:  # the ward layer: the names its own tooltip shows
            names[str(p["wp_id"])] = "".join(
                f" {escape(n.strip())}" for n in (p["wp_name"], p["wp_name_hi"]) if n.strip()
            )
    for f in (f for layer in layers for f in layer["features"]):
        p = f["properties"]
        if "wp_from" in p:
            ward = str(p["wp_id"])
            named = f"Ward / वार्ड {ward}{names[ward]}"
            assert p["tip"] == f"{named}: {p['wp_from']} → {p['wp_to']}"
            moves[ward] = (str(p["wp_from"]), str(p["wp_to"]))
    return moves


def moved_key(page: str) -> tuple[int, int]:
    """The legend line's figures: wards moved and poor households moved (as shown, rounded)."""
    key = re.search(r'<div class="wp-moved-key">.*?</div>', page)
    assert key is not None, "no legend line of the moved wards"
    assert MOVED_NAME in key.group(0)
    wards, households = re.findall(r"<b>([\d,]+)</b>", key.group(0))
    return int(wards), int(households.replace(",", ""))
