"""The camps-map.html that ``wardplan camps --out`` writes, opened from disk (file://) in headless
Chromium: no request leaves the page; one coloured polygon per camp and one marker per venue; the
camp's date(s) on hover and its venue and wards on click. Chandigarh's 26 wards, generated venues,
every one named with markup that must stay text."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from shapely.geometry.base import BaseGeometry
from typer.testing import CliRunner

from app.cli import cli
from gis.camps import illustrative_venues, write_venues_csv
from gis.io import read_ward_layer
from tests.browser import mapcheck

pytestmark = pytest.mark.slow

FILLS = "() => [...document.querySelectorAll('path.wp-camp')].map((p) => p.getAttribute('fill'))"
EVIL = '<img src=x onerror="window.__pwned=1">Hall'


@pytest.fixture(scope="module")
def camp_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("campmap")
    layer_file = shared_data / "chandigarh" / "wards.geojson"
    venues = illustrative_venues(
        read_ward_layer(layer_file).wards, start=date(2027, 4, 1), end=date(2027, 4, 30), seed=3
    )
    venues = [replace(v, name=f"{EVIL} {k}") for k, v in enumerate(venues)]
    roster = write_venues_csv(venues, tmp / "venues.csv")
    out = tmp / "camps"
    args = [
        str(layer_file), "--venues", str(roster), "--start", "2027-04-01", "--end", "2027-04-30",
        "--teams", "1", "--registrant-share", "0.05", "--camps", "4", "--time-limit", "15",
        "--no-sheets", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, ["camps", *args])
    assert result.exit_code == 0, result.output
    return out


def _map_var(page: Page) -> str:
    return str(page.evaluate("() => Object.keys(window).find((k) => k.startsWith('map_'))"))


def _hover_then_click(context: BrowserContext, url: str, geom: BaseGeometry) -> tuple[str, str]:
    """The tooltip and the popup text of the cluster ``geom`` on a page of its own: the map fitted
    to the cluster (no animation), the pointer moved onto a point inside it, then clicked there.

    One page per cluster, because Leaflet keeps one tooltip and one popup for the whole layer:
    after a click the popup sits under the pointer and fades for 200 ms once closed, and a
    tooltip still open is moved, not refilled, when the pointer jumps straight into a neighbour.
    """
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        page.wait_for_function("() => document.querySelectorAll('path.wp-camp').length > 0")
        inside = geom.representative_point()
        x, y = page.evaluate(
            """([name, lon, lat, bounds]) => {
                const map = window[name];
                map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], {animate: false});
                const p = map.latLngToContainerPoint([lat, lon]);
                const box = map.getContainer().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [_map_var(page), inside.x, inside.y, list(geom.bounds)],
        )
        page.mouse.move(x, y)
        tooltip = page.locator(".leaflet-tooltip").last
        tooltip.wait_for(state="visible")
        text = tooltip.inner_text()
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content").last
        popup.wait_for(state="visible")
        return text, popup.inner_text()
    finally:
        page.close()


def test_camp_map_offline_with_dates_on_hover_and_details_on_click(
    camp_dir: Path, browser: Browser, artifacts: Path
) -> None:
    with (camp_dir / "camps.csv").open(encoding="utf-8") as fh:
        camps = {r["camp_id"]: r for r in csv.DictReader(fh)}
    clusters = gpd.read_file(camp_dir / "camp-clusters.geojson")
    assert len(camps) == 4
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    log = mapcheck.PageLog()
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    page.goto((camp_dir / "camps-map.html").as_uri(), wait_until="load")
    page.wait_for_function("() => document.querySelectorAll('path.wp-camp').length > 0")
    try:
        assert mapcheck.foreign_requests(log, host=None) == []
        assert log.errors == []
        assert page.locator("path.wp-camp").count() == 4
        assert page.locator("path.wp-venue").count() == 4
        fills = set(
            page.evaluate(
                "() => [...document.querySelectorAll('path.wp-camp')].map((p) => p.getAttribute('fill'))"
            )
        )
        assert len(fills) == 4  # Chandigarh's 4 clusters all touch: 4 colours
        legend = page.locator(".wp-legend").inner_text()
        page.evaluate("() => { document.querySelector('.wp-legend details').open = false; }")
        for _, row in clusters.iterrows():
            camp = camps[str(row["camp_id"])]
            text, details = _hover_then_click(page.context, page.url, row.geometry)
            assert camp["camp_id"] in text
            for d in camp["dates"].split(";"):
                assert f"{date.fromisoformat(d):%d %b %Y}" in text
            assert camp["venue_name"] in details
            assert camp["wards"].replace(";", ", ") in details
        for camp in camps.values():  # every venue's name is markup: shown as text
            assert camp["venue_name"].startswith(EVIL)
            assert camp["venue_name"] in legend
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("img[src='x']").count() == 0
        page.screenshot(path=str(artifacts / "camp-map.png"))
    finally:
        page.context.close()
