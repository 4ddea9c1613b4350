"""The page a plan map is drawn on: the Leaflet map with the app's own assets (linked or inlined,
never a CDN), an optional tile layer, the bilingual labels, the title and the data credit.

Shared by the plan map (:mod:`gis.maps`), the camp map and the change map.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import folium
from branca.element import Figure, MacroElement
from jinja2 import Template

from gis import hindi
from gis.maplabels import escape

#: The map's own assets (see ``static/README.md``), served by the app at ``STATIC_URL``.
STATIC_DIR = Path(__file__).with_name("static")
STATIC_URL = "/static"
_JS = ("leaflet/leaflet.js", "wardplan/map.js")
_CSS = ("leaflet/leaflet.css", "wardplan/map.css")
#: The edit mode's own script and style (``static/wardplan/edit.*``), added by :func:`add_edit_mode`.
_EDIT_JS, _EDIT_CSS = "wardplan/edit.js", "wardplan/edit.css"

#: Bilingual labels (English / Hindi, the Hindi from ``gis.hindi``) used on the page.
LABELS = {
    "ward": f"Ward / {hindi.WARD}",
    "name": "Name / नाम",
    "zone": f"Zone / {hindi.ZONE}",
    "co": f"CO / {hindi.CO}",
    "population": "Population / जनसंख्या",
    "poor": f"Estimated poor households / अनुमानित {hindi.POOR_HOUSEHOLDS}",
    "wards": f"Wards / {hindi.WARDS}",
    "load": f"Load: poor households / भार: {hindi.POOR_HOUSEHOLDS}",
    "deviation": "Deviation from mean / औसत से विचलन",
    "km_ward": f"Distance from CO's home / {hindi.CO} के घर से दूरी",
    "km_area": "Mean distance from home / घर से औसत दूरी",
    "home": f"CO's home / {hindi.HOME}",
    "areas": f"CO areas / {hindi.MAP_LEGEND}",
    "co_labels": f"CO ids / {hindi.CO}",
    "boundaries": f"Ward boundaries / {hindi.WARD} सीमाएँ",
    "numbers": f"Ward numbers / {hindi.WARD} संख्या",
    "zones": f"Zones / {hindi.ZONE}",
    "zone_line": f"Zone boundary / {hindi.ZONE} सीमा",
    "homes": f"CO homes / {hindi.HOMES}",
    "centres": f"Community centres / {hindi.COMMUNITY_CENTRE}",
    "centre": f"Community centre / {hindi.COMMUNITY_CENTRE}",
    "contact_for": f"contact point of / {hindi.CONTACT_POINT}",
    "base": "Base map / आधार मानचित्र",
}


def tile_template_problem(url: str) -> str | None:
    """Why ``url`` is not a usable tile URL template (``http(s)://…/{z}/{x}/{y}…`` or a path on this
    server), or None when it is."""
    if not re.match(r"^(https?://[^/\s]+)?/\S*$", url):
        return f"tile URL {url!r} must start with http://, https:// or / and contain no spaces"
    missing = [p for p in ("{z}", "{x}", "{y}") if p not in url]
    if missing:
        return f"tile URL {url!r} lacks {', '.join(missing)} (a template such as https://host/{{z}}/{{x}}/{{y}}.png)"
    return None


# --- assets ---------------------------------------------------------------------------------------


def _use_local_assets(fmap: folium.Map, root: Figure, asset_base: str | None) -> None:
    """Replace folium's CDN assets with ours: links under ``asset_base``, or inlined when None."""
    if asset_base is None:
        fmap.default_js, fmap.default_css = [], []
        for path in _CSS:
            root.header.add_child(folium.Element(f"<style>{_inline_css(path)}</style>"))
        for path in _JS:
            root.header.add_child(folium.Element(f"<script>{_asset_text(path)}</script>"))
        return
    base = asset_base.rstrip("/")
    fmap.default_js = [(path, f"{base}/{path}") for path in _JS]
    fmap.default_css = [(path, f"{base}/{path}") for path in _CSS]


@cache
def _asset_text(path: str) -> str:
    """An asset's text for inlining, without its source-map comment (the map is not shipped)."""
    text = (STATIC_DIR / path).read_text(encoding="utf-8")
    text = re.sub(
        r"^\s*(//# sourceMappingURL=.*|/\*# sourceMappingURL=.*\*/)\s*$", "", text, flags=re.M
    )
    if re.search(r"</(script|style)", text, flags=re.I):  # would end the inline element early
        raise ValueError(f"{path} cannot be inlined: it contains a closing script or style tag")
    return text


def _inline_css(path: str) -> str:
    """The stylesheet with its ``url(images/…)`` references turned into data URIs."""
    folder = (STATIC_DIR / path).parent

    def data_uri(match: re.Match[str]) -> str:
        image = folder / match.group(1)
        encoded = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{encoded})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, _asset_text(path))


class _PageScript(MacroElement):
    """Calls ``wardplan.init`` (``static/wardplan/map.js``) once the map and its layers exist."""

    _template = Template(
        """{% macro script(this, kwargs) %}
wardplan.init({{ this._parent.get_name() }}, {{ this.areas }}, {{ this.wards }}, {{ this.moved }});
{% endmacro %}"""
    )

    def __init__(
        self, areas: folium.GeoJson, wards: folium.GeoJson, moved: folium.GeoJson | None = None
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "WardplanPage"
        self.areas = areas.get_name()
        self.wards = wards.get_name()
        self.moved = "null" if moved is None else moved.get_name()  # a re-plan's moved wards


# --- page title -----------------------------------------------------------------------------------


def _title_html(title: str) -> str:
    return f'<div class="wp-title">{escape(title)}</div>'


def page_title(root: Figure, title: str) -> None:
    """The page's own ``<title>``: what a browser tab, a bookmark or a print header shows."""
    root.header.add_child(folium.Element(f"<title>{escape(title)}</title>"), name="wp_title")


def _credits_html(credits: str) -> str:
    return f'<div class="wp-credits">{escape(credits)}</div>' if credits else ""


def new_map(
    bounds: Sequence[float],
    *,
    asset_base: str | None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
) -> tuple[folium.Map, Figure]:
    """An empty map over ``bounds`` (minx, miny, maxx, maxy in degrees) and its page, with our
    assets (see :func:`_use_local_assets`) and ``tiles`` as its base layer when given (``ValueError``
    for a string that is not a tile template)."""
    minx, miny, maxx, maxy = bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        control_scale=True,
    )
    root = fmap.get_root()
    if not isinstance(root, Figure):  # pragma: no cover - folium always roots a map in a Figure
        raise TypeError("folium map is not attached to a Figure")
    _use_local_assets(fmap, root, asset_base)
    # No icon request: it would go to /favicon.ico (a 404 in the app, nothing on disk).
    root.header.add_child(folium.Element('<link rel="icon" href="data:,">'))
    if tiles is not None:
        problem = tile_template_problem(tiles)
        if problem:
            raise ValueError(problem)
        # Leaflet shows the attribution as HTML: it is escaped like any other string. Without one,
        # the tile server's address is credited (folium refuses custom tiles with no attribution).
        source = tiles_attribution or f"Tiles: {urlsplit(tiles).netloc or 'this server'}"
        folium.TileLayer(tiles, attr=escape(source), name=LABELS["base"], overlay=False).add_to(
            fmap
        )
    return fmap, root


class _FitAtOnce(folium.map.FitBounds):
    """``fitBounds`` without the animated zoom (folium's own animates from its opening zoom)."""

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__(bounds)
        self.options = {**self.options, "animate": False}


def fit_map(fmap: folium.Map, bounds: Sequence[float]) -> None:
    """Open the page on ``bounds`` (minx, miny, maxx, maxy in degrees) at once. Animated, the zoom
    from folium's opening view ends a quarter of a second after load and drops any view set
    meanwhile: a search hit, a legend click, a print or a script reading the map would see it move."""
    minx, miny, maxx, maxy = bounds
    _FitAtOnce([[miny, minx], [maxy, maxx]]).add_to(fmap)


# --- edit mode ------------------------------------------------------------------------------------


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element: no ``<`` (so no ``</script>``), no line separators."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def add_edit_mode(page: str, config: Mapping[str, object], asset_base: str = STATIC_URL) -> str:
    """A rendered plan map page (:mod:`gis.maps`, assets linked under ``asset_base``) with the
    edit mode's controls (``static/wardplan/edit.js``), started with ``config``: ``checkUrl``
    (where edits are checked and saved), ``sig`` (its bearer token), ``planId``, ``version`` and
    ``organisers`` (``[[id, name], …]``). Strings in ``config`` are only ever set as text."""
    head, body = page.rfind("</head>"), page.rfind("</html>")
    if head < 0 or body < head:
        raise ValueError("not a rendered map page: no </head> before </html>")
    base = asset_base.rstrip("/")
    style = f'<link rel="stylesheet" href="{escape(f"{base}/{_EDIT_CSS}")}">\n'
    script = (
        f'<script src="{escape(f"{base}/{_EDIT_JS}")}"></script>\n'
        f"<script>wardplan.edit.start({_script_json(dict(config))});</script>\n"
    )
    return page[:head] + style + page[head:body] + script + page[body:]
