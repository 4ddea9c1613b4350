"""What the browser tests check on a plan map page, served by the app or opened from disk."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
from playwright.sync_api import Browser, Page, Request

from gis import hindi, palette
from gis.adjacency import build_adjacency

#: A ward (and CO) name that runs script if any part of the page treats it as HTML.
EVIL_NAME = "<img src=x onerror=window.__pwned=1>"


@dataclass
class PageLog:
    """Every request the page made and every console error or uncaught exception."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # responses ≥ 400 and requests that failed


def open_map(browser: Browser, url: str) -> tuple[Page, PageLog]:
    """The map at ``url`` in a fresh context, loaded and initialised, with its log."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    log = PageLog()
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    page.on("requestfailed", lambda request: _failed(log, request))
    page.on(
        "response",
        lambda response: (
            log.failed.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.wardplan && window.wardplan.layers")
    return page, log


def _failed(log: PageLog, request: Request) -> None:
    # Leaflet cancels the tiles of a view it has left (net::ERR_ABORTED): not a failure.
    if request.failure != "net::ERR_ABORTED":
        log.failed.append(f"{request.failure} {request.url}")


def foreign_requests(log: PageLog, *, host: str | None) -> list[str]:
    """Requests that left ``host`` (127.0.0.1) — or, for a page opened from disk (``host`` None),
    any request that is not to a file or a data URI."""
    out = []
    for url in log.requests:
        parts = urlsplit(url)
        if parts.scheme == "data":
            continue
        if host is None and parts.scheme == "file":
            continue
        if host is not None and parts.scheme == "http" and parts.hostname == host:
            continue
        out.append(url)
    return out


def drawn(page: Page) -> dict[str, int]:
    """How many SVG paths / labels of each kind the page drew."""
    return {
        "areas": page.locator("path.wp-area").count(),
        "wards": page.locator("path.wp-ward").count(),
        "zones": page.locator("path.wp-zone").count(),
        "homes": page.locator("path.wp-home").count(),
        "labels": page.locator(".wp-ward-label").count(),
    }


def ward_labels(page: Page, css: str = ".wp-ward-label") -> list[str]:
    """Every label's text, shown or hidden at this zoom (a hidden one shows when zoomed in)."""
    texts = page.locator(css).evaluate_all("(els) => els.map((el) => el.textContent)")
    return [str(t) for t in texts]


def area_fills(page: Page) -> dict[str, str]:
    """The fill colour each CO's area is drawn with (read from the SVG path)."""
    pairs = page.evaluate(
        """() => wardplan.layers.areas.getLayers().map(
            (l) => [l.feature.properties.wp_org, l._path.getAttribute("fill")])"""
    )
    return {str(oid): str(fill).lower() for oid, fill in pairs}


@dataclass(frozen=True)
class LegendRow:
    organiser: str
    label: str
    wards: str
    load: str
    deviation: str
    km: str
    swatch: str  # #rrggbb


def legend(page: Page) -> list[LegendRow]:
    rows = page.evaluate(
        """() => [...document.querySelectorAll("tr.wp-legend-row")].map((row) => {
            const rgb = getComputedStyle(row.querySelector(".wp-swatch")).backgroundColor;
            const hex = "#" + rgb.match(/\\d+/g).slice(0, 3)
                .map((v) => Number(v).toString(16).padStart(2, "0")).join("");
            return [row.dataset.organiser, ...[...row.cells].map((c) => c.innerText), hex];
        })"""
    )
    return [LegendRow(*map(str, row)) for row in rows]


def number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").replace("km", "").strip())


def assert_legend_matches(page: Page, loads: Mapping[str, float], wards: Mapping[str, int]) -> None:
    """One legend row per CO of the plan, with its ward count, load and the area's own colour."""
    rows = legend(page)
    assert sorted(r.organiser for r in rows) == sorted(loads)
    fills = area_fills(page)
    for row in rows:
        assert row.label.startswith(row.organiser)
        assert int(row.wards) == wards[row.organiser], row
        assert abs(number(row.load) - loads[row.organiser]) <= 0.55, row
        assert row.swatch == fills[row.organiser], row
        assert row.km.endswith("km"), row


def assert_neighbours_differ(page: Page, plan_wards: gpd.GeoDataFrame) -> int:
    """No two areas that share a ward boundary are drawn in the same colour; returns the pairs."""
    fills = area_fills(page)
    adjacency = build_adjacency(plan_wards)
    owner = [str(o) for o in plan_wards["organiser_id"]]
    pairs = {
        tuple(sorted((owner[a], owner[b]))) for a, b in adjacency.edges if owner[a] != owner[b]
    }
    for a, b in pairs:
        assert fills[a] != fills[b], (a, b, fills[a])
    return len(pairs)


def search(page: Page, query: str) -> list[str]:
    """Type ``query`` into the search box; the result lines shown."""
    box = page.locator(".wp-search-input")
    box.fill(query)
    return page.locator(".wp-search-results > *").all_inner_texts()


def search_and_open(page: Page, query: str) -> str:
    """Search and press Enter: the text of the popup that opens."""
    search(page, query)
    page.locator(".wp-search-input").press("Enter")
    return popup_text(page)


def popup_text(page: Page) -> str:
    """The text of the popup that is opening, once it has faded in."""
    popup = page.locator(".leaflet-popup-content").last  # an older one may still be fading out
    popup.wait_for(state="visible")
    page.wait_for_function(  # faded in: what a screenshot shows is what the user sees
        """() => [...document.querySelectorAll(".leaflet-popup")].length === 1
            && getComputedStyle(document.querySelector(".leaflet-popup")).opacity === "1" """
    )
    return popup.inner_text()


def assert_markup_is_text(
    page: Page, evil_ward: str, inside: tuple[float, float], log: PageLog
) -> None:
    """The ward named ``EVIL_NAME`` shows that name as text everywhere, and it never runs."""
    hits = search(page, "onerror")
    assert any(EVIL_NAME in hit and hit.startswith(f"{evil_ward} ") for hit in hits), hits
    text = search_and_open(page, evil_ward)
    assert EVIL_NAME in text
    assert EVIL_NAME in hover_ward(page, evil_ward, inside)
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0
    assert not [u for u in log.requests if urlsplit(u).path.endswith("/x")]


def hover_ward(page: Page, ward_id: str, inside: tuple[float, float]) -> str:
    """Close popups, show the ward (no animation), move the mouse to ``inside`` (lon, lat, a point
    inside the ward): the tooltip's text."""
    point = page.evaluate(
        """([id, lon, lat]) => {
            const {map, wards} = wardplan.layers;
            map.closePopup();
            const ward = wards.getLayers().find((l) => l.feature.properties.wp_id === id);
            map.fitBounds(ward.getBounds(), {animate: false});
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [ward_id, *inside],
    )
    page.mouse.move(point[0], point[1])
    tooltip = page.locator(".leaflet-tooltip").last
    tooltip.wait_for(state="visible")
    return tooltip.inner_text()


def assert_search_works(
    page: Page, ward_id: str, ward_name: str, fragment: str, organiser: str
) -> None:
    """A ward is found by number and by ``fragment`` of its name (in any case: the only hit);
    the popup shows its details."""
    text = search_and_open(page, ward_id)
    assert f"Ward / वार्ड\t{ward_id}" in text, text
    assert ward_name in text
    assert organiser in text
    hits = search(page, fragment.upper())
    assert hits == [f"{ward_id} · {ward_name} → {organiser}"], (fragment, hits)
    assert search(page, "no such ward zzz") == ["No ward matches / कोई वार्ड नहीं मिला"]


def assert_legend_row_opens_its_area(page: Page, organiser: str) -> str:
    """Clicking a legend row shows that CO's area details; returns their text."""
    page.evaluate("() => wardplan.layers.map.closePopup()")
    page.locator(f'tr.wp-legend-row[data-organiser="{organiser}"]').click()
    text = popup_text(page)
    assert f"CO / {hindi.CO}\t{organiser}" in text, text
    return text


def toggle_layer(page: Page, name: str, *, on: bool) -> None:
    """Tick or untick an overlay in the layer control by (the start of) its name."""
    box = page.locator(".leaflet-control-layers-overlays label", has_text=name).locator("input")
    box.set_checked(on)


def screenshot(page: Page, path: Path, *, hide_popups: bool = True) -> Path:
    if hide_popups:
        page.evaluate("() => wardplan.layers.map.closePopup()")
        page.locator(".wp-search-input").fill("")
        page.evaluate("() => wardplan.layers.map.fitBounds(wardplan.layers.wards.getBounds())")
        page.wait_for_timeout(400)  # let the zoom animation finish before the picture
    page.screenshot(path=str(path), full_page=False)
    return path


def inside(plan_wards: gpd.GeoDataFrame, ward_id: str) -> tuple[float, float]:
    """(lon, lat) of a point inside the ward."""
    geom = plan_wards.loc[plan_wards["ward_id"] == ward_id].geometry.iloc[0]
    point = geom.representative_point()
    return point.x, point.y


def ward_counts(owners: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for oid in owners:
        counts[oid] = counts.get(oid, 0) + 1
    return counts


def page_title(page: Page) -> str:
    return str(page.evaluate("() => document.title"))


def assert_fills_stand_out(page: Page) -> dict[str, float]:
    """Every area's fill, as drawn (its colour at its opacity over the map's own background read
    from the page), is ΔE2000 ≥ ``MIN_BACKGROUND_DELTA_E`` from that background, and no two COs
    share a fill while the palette has enough colours. Returns each CO's ΔE."""
    drawn_fills = page.evaluate(
        """() => ({
            background: getComputedStyle(wardplan.layers.map.getContainer()).backgroundColor,
            fills: wardplan.layers.areas.getLayers().map((l) => [
                l.feature.properties.wp_org,
                l._path.getAttribute("fill"),
                Number(l._path.getAttribute("fill-opacity")),
            ]),
        })"""
    )
    channels = [int(v) for v in re.findall(r"\d+", drawn_fills["background"])[:3]]
    background = "#" + "".join(f"{v:02x}" for v in channels)
    out = {}
    for oid, fill, opacity in drawn_fills["fills"]:
        seen = palette.blend(str(fill), background, float(opacity))
        diff = palette.delta_e(palette.lab(seen), palette.lab(palette.rgb(background)))
        assert diff >= palette.MIN_BACKGROUND_DELTA_E, (oid, fill, background, diff)
        out[str(oid)] = diff
    fills = [str(f).lower() for _, f, _ in drawn_fills["fills"]]
    if len(fills) <= len(palette.PALETTE):
        assert len(set(fills)) == len(fills), fills
    return out


_LABEL_BOXES = """() => {
    const box = (el) => { const r = el.getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom]; };
    const labels = [...document.querySelectorAll(".wp-co-label, .wp-ward-label")];
    const shown = labels.filter((el) => !el.classList.contains("wp-label-hidden")
        && getComputedStyle(el).visibility !== "hidden");
    return {
        labels: shown.map((el) => [el.className, el.textContent, box(el)]),
        hidden: labels.length - shown.length,
        markers: [...document.querySelectorAll("path.wp-home, path.wp-centre")].map(box),
    };
}"""


def _overlap(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def assert_labels_clear(page: Page) -> tuple[int, int]:
    """No shown label (CO id or ward number) overlaps a home or centre marker or another label,
    measured as the boxes the browser lays out. Returns (labels shown, labels hidden)."""
    found = page.evaluate(_LABEL_BOXES)
    labels, markers = found["labels"], found["markers"]
    for cls, text, rect in labels:
        covered = [m for m in markers if _overlap(rect, m)]
        assert not covered, (cls, text, rect, covered)
    for i, (_, text_a, a) in enumerate(labels):
        for _, text_b, b in labels[i + 1 :]:
            assert not _overlap(a, b), (text_a, a, text_b, b)
    return len(labels), int(found["hidden"])


def zoom_by(page: Page, delta: int) -> None:
    """Fit the wards, then zoom in by ``delta`` levels (no animation), labels placed again."""
    page.evaluate(
        """(delta) => {
            const {map, wards} = wardplan.layers;
            map.closePopup();
            map.fitBounds(wards.getBounds(), {animate: false});
            map.setZoom(map.getZoom() + delta, {animate: false});
        }""",
        delta,
    )
    page.wait_for_timeout(300)
