"""The state dashboard served by the app, in a real headless Chromium, as a state officer's key
sees it: two planned cities (approved, draft) and one without a layer; the map colours, sorting,
filtering, and the click through to a city's plan map. Rolled back at the end of the module."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.db.session import session_scope
from app.services import cities, keys
from tests.app.apihelp import make_app
from tests.app.plandata import load_small_city
from tests.browser import mapcheck
from tests.browser.conftest import serve

pytestmark = pytest.mark.slow

APPROVED, DRAFT, EMPTY = "#1b7837", "#f4a582", "#bdbdbd"


@dataclass
class Served:
    base: str
    headers: dict[str, str]  # the TS state key
    plan_id: int  # the approved city's plan


@pytest.fixture(scope="module")
def served(migrated_engine: Engine, shared_data: Path) -> Iterator[Served]:
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            with session_scope(factory) as session:
                approved = load_small_city(session, shared_data, "chd-approved", approve=True)
                load_small_city(session, shared_data, "chd-draft", approve=False)
                place = cities.Place("TS", "Far District")
                cities.create_city(session, "no-layer", place, actor="test")
                token = keys.issue(session, "browser-state", "state", state="TS").token
            with serve(make_app(factory)) as base:
                yield Served(base, {"Authorization": f"Bearer {token}"}, approved.plan_id)
        finally:
            outer.rollback()


def _open(browser: Browser, served: Served) -> tuple[Page, mapcheck.PageLog]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, extra_http_headers=served.headers
    )
    page = context.new_page()
    log = mapcheck.PageLog()
    page.on("request", lambda request: log.requests.append(request.url))
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    page.goto(f"{served.base}/states/TS/dashboard", wait_until="load")
    page.wait_for_function("() => window.wardplanState && window.wardplanState.layer")
    return page, log


def _fills(page: Page) -> dict[str, str]:
    return dict(
        page.evaluate(
            """() => window.wardplanState.layer.getLayers()
                 .map(l => [l.feature.properties.city, l.options.fillColor])"""
        )
    )


def _cities(page: Page) -> list[str]:
    return page.eval_on_selector_all("#cities tbody tr", "rows => rows.map(r => r.dataset.city)")


def test_the_dashboard_in_chromium(browser: Browser, served: Served, artifacts: Path) -> None:
    page, log = _open(browser, served)
    try:
        assert log.errors == []
        assert mapcheck.foreign_requests(log, host="127.0.0.1") == []
        assert any(u.endswith("/static/leaflet/leaflet.js") for u in log.requests)
        # the map: one outline per city with a layer, coloured by plan status, then by shortfall
        assert _fills(page) == {"chd-approved": APPROVED, "chd-draft": DRAFT}
        assert page.locator("path.leaflet-interactive").count() == 2
        page.select_option("#colour", "shortfall")
        shortfall = page.evaluate(
            "() => Object.fromEntries(JSON.parse(document.getElementById('figures').textContent)"
            ".rows.map(r => [r.city, r.shortfall]))"
        )
        expected = {
            c: APPROVED if s == 0 else "#fdae61" if s <= 2 else "#d7191c"
            for c, s in shortfall.items()
            if c != "no-layer"
        }
        assert _fills(page) == expected
        # the table: all three cities; sorted by a click, reversed by another; filtered
        assert sorted(_cities(page)) == ["chd-approved", "chd-draft", "no-layer"]
        page.click("th[data-key=plan_status]")
        assert _cities(page) == ["chd-approved", "chd-draft", "no-layer"]  # approved<draft<none
        page.click("th[data-key=plan_status]")
        assert _cities(page) == ["no-layer", "chd-draft", "chd-approved"]
        page.fill("#filter", "far district")
        assert _cities(page) == ["no-layer"]
        page.fill("#filter", "")
        page.select_option("#status", "draft")
        assert _cities(page) == ["chd-draft"]
        page.select_option("#status", "")
        page.screenshot(path=str(artifacts / "state-dashboard.png"), full_page=True)
        # click through to the approved city's plan map
        page.click("tr[data-city=chd-approved] a.plan-link")
        page.wait_for_url(f"**/cities/chd-approved/plans/{served.plan_id}/map?*")  # signed
        page.wait_for_function("() => window.wardplan && window.wardplan.layers")
        assert log.errors == []
    finally:
        page.context.close()


def test_a_state_officer_opens_the_signed_link_in_a_plain_browser(
    browser: Browser, served: Served
) -> None:
    """No key in the browser: the signed dashboard link opens the page, its CSV download and
    the click through to a city's plan map."""
    request = urllib.request.Request(
        f"{served.base}/states/TS/dashboard-link", method="POST", headers=served.headers
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        url = json.loads(reply.read())["url"]
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # no key header
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        refused = page.goto(f"{served.base}/states/TS/dashboard")
        assert refused is not None
        assert refused.status == 401
        opened = page.goto(f"{served.base}{url}", wait_until="load")
        assert opened is not None
        assert opened.status == 200
        page.wait_for_function("() => window.wardplanState && window.wardplanState.layer")
        with page.expect_download() as download:
            page.click("#csv")
        rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
        assert len(rows) == 1 + 3  # the header and the state's three cities
        page.click("tr[data-city=chd-approved] a.plan-link")
        page.wait_for_url(f"**/cities/chd-approved/plans/{served.plan_id}/map?*")
        page.wait_for_function("() => window.wardplan && window.wardplan.layers")
        assert errors == []
    finally:
        context.close()
