"""The plan map page served by the app, in a real headless Chromium, with no network but 127.0.0.1.

Lucknow (110 wards, 6 zones) is uploaded with one ward renamed to markup, 8 illustrative COs (one
also named with markup) are imported and a plan is made; the app is served by uvicorn on a free port
against the test PostGIS, inside a transaction rolled back at the end of the module.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.core.settings import get_settings
from gis import hindi
from gis.organisers import illustrative_organisers, write_organisers_csv
from tests.app.apihelp import PLACE_FORM, issue_key, make_app, plan_through_job
from tests.browser import mapcheck
from tests.browser.conftest import serve

pytestmark = pytest.mark.slow

EVIL_WARD = "7"
EVIL_CO = "CO-03"
SEARCHED = "1"  # Ibrahimpur


@dataclass
class Served:
    base: str
    plan_id: int
    map_path: str  # a signed map link: what a browser (which sends no key) opens
    plan_wards: gpd.GeoDataFrame  # from the app's wards.geojson
    areas: dict[str, Any]  # the app's areas.geojson
    n_homes: int
    names: dict[str, str]


def _get_json(url: str, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:  # the live server
        return json.load(response)


@pytest.fixture(scope="module")
def served(
    migrated_engine: Engine, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("browser")
    wards = gpd.read_file(shared_data / "lucknow" / "wards.geojson")
    wards.loc[wards["ward_id"].astype(str) == EVIL_WARD, "ward_name"] = mapcheck.EVIL_NAME
    layer_file = tmp / "lucknow_wards.geojson"
    wards.to_file(layer_file, driver="GeoJSON")
    wards["ward_id"] = wards["ward_id"].astype(str)
    organisers = illustrative_organisers(wards, 8, seed=2017)
    organisers = [
        o
        if o.organiser_id != EVIL_CO
        else type(o)(o.organiser_id, mapcheck.EVIL_NAME, o.lon, o.lat)
        for o in organisers
    ]
    roster = write_organisers_csv(organisers, tmp / "organisers.csv")

    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            app = make_app(factory)
            admin = issue_key(factory, "browser-tests-admin", "admin")
            setup = TestClient(app, headers=admin)
            with layer_file.open("rb") as fh:
                uploaded = setup.post(
                    "/cities/lucknow/layers",
                    files={"file": ("lucknow_wards.geojson", fh, "application/geo+json")},
                    data=PLACE_FORM,
                )
            assert uploaded.status_code == 201, uploaded.text
            with roster.open("rb") as fh:
                imported = setup.post(
                    "/cities/lucknow/organisers", files={"file": ("organisers.csv", fh, "text/csv")}
                )
            assert imported.status_code == 201, imported.text
            _, plan = plan_through_job(
                setup, factory, "lucknow", {"tolerance": 0.5, "time_limit": 15}
            )
            plan_id = plan.id
            link = setup.post(f"/cities/lucknow/plans/{plan_id}/map-link")
            assert link.status_code == 200, link.text
            with serve(app) as base:
                plan_url = f"{base}/cities/lucknow/plans/{plan_id}"
                plan_wards = gpd.GeoDataFrame.from_features(
                    _get_json(f"{plan_url}/wards.geojson", admin)["features"], crs="EPSG:4326"
                )
                yield Served(
                    base,
                    plan_id,
                    str(link.json()["url"]),
                    plan_wards,
                    _get_json(f"{plan_url}/areas.geojson", admin),
                    len(organisers),
                    dict(zip(wards["ward_id"], wards["ward_name"], strict=True)),
                )
        finally:
            outer.rollback()


def test_served_map_is_complete_offline_and_safe(
    served: Served, browser: Browser, artifacts: Path
) -> None:
    page, log = mapcheck.open_map(browser, f"{served.base}{served.map_path}")
    try:
        assert log.requests[0].endswith(served.map_path)
        assert any(u.endswith("/static/leaflet/leaflet.js") for u in log.requests)

        # every area, ward, zone and home is drawn
        areas = served.areas["features"]
        assert mapcheck.drawn(page) == {
            "areas": len(areas),
            "wards": 110,
            "zones": 6,
            "homes": served.n_homes,
            "labels": 110,
        }
        assert sorted(mapcheck.ward_labels(page)) == sorted(served.plan_wards["ward_id"])

        # the legend is the plan's: COs, ward counts, loads, and each area's own colour
        loads = {
            f["properties"]["organiser_id"]: f["properties"]["poor_households_est"] for f in areas
        }
        counts = mapcheck.ward_counts(list(served.plan_wards["organiser_id"]))
        mapcheck.assert_legend_matches(page, loads, counts)
        evil_row = next(r for r in mapcheck.legend(page) if r.organiser == EVIL_CO)
        assert evil_row.label == f"{EVIL_CO} — {mapcheck.EVIL_NAME}"  # shown as text
        assert mapcheck.assert_neighbours_differ(page, served.plan_wards) >= len(areas) - 1

        # the city's name (not its code) titles the page and its browser tab
        assert mapcheck.page_title(page).startswith(
            f"Wardplan: Lucknow, layer 1, plan {served.plan_id}"
        )
        assert page.locator(".wp-title").inner_text() == mapcheck.page_title(page)
        # every fill stands out from the background, each CO its own; CO ids on the areas
        assert len(mapcheck.assert_fills_stand_out(page)) == len(areas)
        assert sorted(mapcheck.ward_labels(page, ".wp-co-label")) == sorted(loads)
        # the key explains the home circle, the CO id box and the zone dash
        key = page.locator(".wp-key").inner_text()
        for symbol in ("CO's home", "CO ids", "Zone boundary"):
            assert symbol in key, key
        # no label is covered by a home marker or another label, at three zooms
        for delta in (0, 1, 2):
            mapcheck.zoom_by(page, delta)
            shown, _ = mapcheck.assert_labels_clear(page)
            assert shown > 0
        mapcheck.screenshot(page, artifacts / "plan-map-served-lucknow.png")
        assert mapcheck.assert_labels_clear(page)[0] > 0

        owner = dict(
            zip(served.plan_wards["ward_id"], served.plan_wards["organiser_id"], strict=True)
        )
        mapcheck.assert_search_works(
            page, SEARCHED, served.names[SEARCHED], "brahimp", owner[SEARCHED]
        )
        inside = mapcheck.inside(served.plan_wards, EVIL_WARD)
        mapcheck.assert_markup_is_text(page, EVIL_WARD, inside, log)
        area = mapcheck.assert_legend_row_opens_its_area(page, EVIL_CO)
        assert f"{EVIL_CO} — {mapcheck.EVIL_NAME}" in area  # the CO's name, as text
        assert "Mean distance from home / घर से औसत दूरी" in area
        mapcheck.toggle_layer(page, "Ward numbers", on=False)
        assert mapcheck.drawn(page)["labels"] == 0
        mapcheck.toggle_layer(page, "Ward numbers", on=True)
        assert mapcheck.drawn(page)["labels"] == 110
        assert page.evaluate("() => window.__pwned") is None
        page.locator(".wp-legend summary").click()  # the legend folds away, and back
        assert not page.locator("tr.wp-legend-row").first.is_visible()
        page.locator(".wp-legend summary").click()
        assert page.locator("tr.wp-legend-row").first.is_visible()

        page.mouse.move(1300, 800)  # over the legend: no ward tooltip in the picture
        popup = mapcheck.search_and_open(page, SEARCHED)
        assert "Population / जनसंख्या" in popup
        assert "Estimated poor households / अनुमानित गरीब परिवार" in popup
        assert f"Distance from CO's home / {hindi.CO} के घर से दूरी" in popup
        assert "Deviation from mean / औसत से विचलन" in popup
        page.screenshot(path=str(artifacts / "plan-map-served-search.png"))

        assert mapcheck.foreign_requests(log, host="127.0.0.1") == []
        assert log.failed == []
        assert log.errors == []
    finally:
        page.context.close()


def test_static_assets_are_served(served: Served) -> None:
    with urllib.request.urlopen(f"{served.base}/static/leaflet/leaflet.js", timeout=30) as r:
        assert r.status == 200
        assert b'version="1.9.4"' in r.read()
    with urllib.request.urlopen(f"{served.base}/static/wardplan/map.css", timeout=30) as r:
        assert r.headers["content-type"].startswith("text/css")


def test_a_configured_tile_server_is_the_base_layer(
    served: Served, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Any URL template works; this one is the app itself (an image it serves), so the tiles load.
    template = "/static/leaflet/images/layers.png?z={z}&x={x}&y={y}"
    monkeypatch.setenv("WARDPLAN_MAP_TILES", template)
    monkeypatch.setenv("WARDPLAN_MAP_TILES_ATTRIBUTION", "Municipal tile server")
    get_settings.cache_clear()
    try:
        page, log = mapcheck.open_map(browser, f"{served.base}{served.map_path}")
        try:
            page.locator("img.leaflet-tile-loaded").first.wait_for(state="attached")
            tiles = [u for u in log.requests if "/static/leaflet/images/layers.png?z=" in u]
            assert tiles
            assert page.locator(".leaflet-control-layers-base").inner_text().strip() == (
                "Base map / आधार मानचित्र"
            )
            assert (
                "Municipal tile server" in page.locator(".leaflet-control-attribution").inner_text()
            )
            assert mapcheck.drawn(page)["wards"] == 110
            assert mapcheck.foreign_requests(log, host="127.0.0.1") == []
            assert log.failed == []
            assert log.errors == []
        finally:
            page.context.close()
    finally:
        get_settings.cache_clear()
