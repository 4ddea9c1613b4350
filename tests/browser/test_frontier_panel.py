"""The balance–distance frontier panel of a served plan map, in a real headless Chromium.

Chandigarh's 26 wards and four COs are stored through the services with ``tolerance: "balanced"``
(which computes the frontier and answers with its balanced point); the app is served by uvicorn
against the test PostGIS (rolled back at the end of the module). The panel's rows must say what the
API and the stored report say, point by point, the chosen point must be marked, and the chart must
be an image the browser decodes.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.db.session import session_scope
from app.services import keys, layers, organisers, plans, solving
from tests.app.apihelp import TEST_PLACE, make_app
from tests.browser import mapcheck
from tests.browser.conftest import serve

pytestmark = pytest.mark.slow

CITY = "chd-frontier"
HOME_WARDS = ("1", "8", "15", "22")


@dataclass
class Served:
    base: str
    headers: dict[str, str]
    plan_id: int
    report: dict[str, Any]  # the stored report (what report.json holds)


def _store_city(session: Any, shared_data: Path) -> int:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    layers.upload_layer(
        session, CITY, layers.Upload("wards.geojson", json.dumps(fc).encode()), place=TEST_PLACE
    )
    rows = ["organiser_id,name,home_ward"] + [
        f"CO-{k},CO {k},{ward}" for k, ward in enumerate(HOME_WARDS, start=1)
    ]
    organisers.import_organisers(
        session, CITY, layers.Upload("organisers.csv", "\n".join(rows).encode())
    )
    config = solving.solve_config(
        {"tolerance": "balanced", "time_limit": 20},
        default_time_limit=20,
        max_time_limit=20,
        solver="highs",
    )
    stored = plans.create_plan(session, CITY, config)
    assert stored.plan.status in ("optimal", "feasible"), stored.plan.report
    return int(stored.plan.id)


@pytest.fixture(scope="module")
def served(migrated_engine: Engine, shared_data: Path) -> Iterator[Served]:
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            with session_scope(factory) as session:
                plan_id = _store_city(session, shared_data)
                token = keys.issue(session, "browser-frontier", "admin").token
            with session_scope(factory) as session:
                report = dict(plans.get_plan(session, CITY, plan_id).plan.report)
            with serve(make_app(factory)) as base:
                yield Served(base, {"Authorization": f"Bearer {token}"}, plan_id, report)
        finally:
            outer.rollback()


def _api_plan(served: Served) -> Any:
    url = f"{served.base}/cities/{CITY}/plans/{served.plan_id}"
    request = urllib.request.Request(url, headers=served.headers)
    with urllib.request.urlopen(request, timeout=60) as response:  # the live server
        return json.load(response)


def _open(browser: Browser, served: Served) -> tuple[Page, mapcheck.PageLog]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, extra_http_headers=served.headers
    )
    page = context.new_page()
    log = mapcheck.PageLog()
    page.on("console", lambda m: log.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: log.errors.append(str(exc)))
    page.goto(f"{served.base}/cities/{CITY}/plans/{served.plan_id}/map", wait_until="load")
    page.wait_for_function("() => window.wardplan && window.wardplan.layers")
    return page, log


def _number(text: str) -> float | None:
    return None if text.strip() == "—" else float(text.replace(",", "").replace("%", ""))


def _balance_cell(text: str) -> tuple[str, float | None, list[str]]:
    """``"±10 % (±9.72 %) (balanced) (plan)"`` → label, deviation (%), marks (the tightest
    point's proof, ``", none below ±0.31 % (proved)"``, is left out: checked on its own)."""
    marks = re.findall(r" \((balanced|plan)\)", text)
    rest = re.sub(r" \((balanced|plan)\)", "", text)
    rest = re.sub(r", (none below ±[\d.]+ % \(proved\)|not proved the tightest)$", "", rest)
    found = re.fullmatch(r"(.+?)(?: \(±([\d.]+) %\))?", rest)
    assert found is not None, text
    dev = found.group(2)
    return found.group(1), None if dev is None else float(dev), marks


def test_frontier_panel_rows_match_the_api_and_the_report(
    served: Served, browser: Browser, artifacts: Path
) -> None:
    api = _api_plan(served)
    table = api["frontier"]
    assert table is not None, "the plan was made with a frontier"
    assert table == json.loads(json.dumps(served.report["frontier"]))  # the API = report.json
    points = table["points"]
    assert len(points) == 4  # the tightest, ±5 %, ±10 %, ±15 %
    assert table["chosen"] == table["balanced"]  # tolerance "balanced"

    page, log = _open(browser, served)
    panel = page.locator("details.wp-frontier")
    assert panel.count() == 1
    panel.locator("summary").click()
    assert panel.evaluate("d => d.open") is True
    page.screenshot(path=str(artifacts / "frontier-panel.png"))
    header = panel.locator("tr").first.locator("th").all_inner_texts()
    assert header == ["balance", "distance", "bound", "gap", "status"]
    cells = [r.locator("td").all_inner_texts() for r in panel.locator("tr").all()[1:]]
    assert len(cells) == len(points)
    for point, (balance, distance, bound, gap, status) in zip(points, cells, strict=True):
        label, dev, marks = _balance_cell(balance)
        assert label == point["label"]
        if point["max_deviation"] is None:
            assert dev is None, balance
        else:
            assert dev == pytest.approx(100 * point["max_deviation"], abs=0.005), balance
        assert status == point["status"]
        for shown, value in ((distance, point["objective"]), (bound, point["bound"])):
            assert (_number(shown) is None) == (value is None), (shown, value)
            if value is not None:
                assert _number(shown) == pytest.approx(value, abs=0.5)
        if point["gap"] is None:
            assert gap == "—"
        else:
            assert _number(gap) == pytest.approx(100 * point["gap"], abs=0.005)
        assert ("balanced" in marks) == (point["label"] == table["balanced"]), balance
        if point["label"] == "tightest" and point["objective"] is not None:
            floor = point["balance_floor"]
            proof = (
                "not proved the tightest"
                if floor is None
                else f"none below ±{100 * floor:.2f} % (proved)"
            )
            assert proof in balance, balance
        assert ("plan" in marks) == (point["label"] == table["chosen"]), balance

    chosen = next(p for p in points if p["label"] == table["chosen"])
    assert api["tolerance_used"] == chosen["tolerance"]
    assert api["objective"] == pytest.approx(chosen["objective"])

    image = panel.locator("img")
    assert image.count() == 1
    image.scroll_into_view_if_needed()
    complete, width, height = image.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
    assert complete is True
    assert width > 300, width
    assert height > 200, height
    box, outer = image.bounding_box(), panel.bounding_box()
    assert box is not None
    assert outer is not None
    assert box["width"] > 100, box
    assert box["height"] > 60, box
    # the chart stays inside the panel, and the panel inside the window
    assert outer["x"] <= box["x"]
    assert box["x"] + box["width"] <= outer["x"] + outer["width"] + 1
    assert min(outer["x"], outer["y"]) >= 0, outer
    assert outer["x"] + outer["width"] <= 1400, outer
    assert outer["y"] + outer["height"] <= 900, outer
    # nothing of the map (its scale, legend, controls) is drawn over the panel's table and rule
    covered = panel.evaluate(
        """d => [...d.querySelectorAll('td, p, summary')].filter(e => {
            const r = e.getBoundingClientRect();
            const points = [[r.left + 2, r.top + r.height / 2], [r.right - 2, r.top + r.height / 2],
                            [r.left + r.width / 2, r.top + r.height / 2]];
            return points.some(([x, y]) => !d.contains(document.elementFromPoint(x, y)));
        }).map(e => e.textContent)"""
    )
    assert covered == [], covered
    assert log.errors == [], log.errors
