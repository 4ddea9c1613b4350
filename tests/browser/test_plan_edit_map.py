"""The plan map's edit mode, clicked in a real headless Chromium against the app served by uvicorn
on the real PostGIS: a valid move accepted with its deltas, a move that cuts an area in two
refused naming the ward, undo, save as a new version (listed in the city's history, the original
unchanged), no edit controls for a role that may not edit, and a move of a pinned ward refused
naming the pin.

Chandigarh's real wards are uploaded through the API with four COs and planned by a job; the
expected moves and figures are worked out here from the plan's own wards (neighbours by geometry,
their poor households), not taken from the service under test. Rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
import shapely
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas.plan_edits import VersionOut
from app.db.session import session_scope
from app.services import keys
from tests.app.apihelp import (
    expect_problem,
    issue_key,
    ward_to_co,
)
from tests.app.planfix import TOLERANCE, planned_city, ward_graph
from tests.browser import mapcheck
from tests.browser.conftest import serve

pytestmark = pytest.mark.slow

CITY = "chandigarh-edit"
CMMU = "edit-map-cmmu"  # the key planned_city names for keys="edit-map"


@dataclass
class Served:
    base: str
    client: TestClient  # as the CMMU
    factory: sessionmaker[Session]
    plan_id: int
    edit_path: str  # the signed edit link
    view_path: str  # a GIS key's signed map link
    gis: dict[str, str]
    wards: gpd.GeoDataFrame  # the plan's wards.geojson
    graph: nx.Graph

    def assignment(self, plan_id: int) -> dict[str, str]:
        text = self.client.get(f"/cities/{CITY}/plans/{plan_id}/assignment.csv").text
        return ward_to_co(text)

    def loads(self, assignment: dict[str, str]) -> dict[str, float]:
        households = dict(
            zip(self.wards["ward_id"], self.wards["poor_households_est"], strict=True)
        )
        out: dict[str, float] = {}
        for ward, co in assignment.items():
            out[co] = out.get(co, 0.0) + float(households[ward])
        return out


@pytest.fixture(scope="module")
def served(migrated_engine: Engine, shared_data: Path) -> Iterator[Served]:
    with planned_city(migrated_engine, shared_data, CITY, keys="edit-map", lifespan=False) as p:
        wards = gpd.GeoDataFrame.from_features(p.features, crs="EPSG:4326")
        wards["ward_id"] = wards["ward_id"].astype(str)
        edit = p.client.post(p.plan_url(p.plan.id, "/edit-link"))
        assert edit.status_code == 200, edit.text
        view = p.client.post(p.plan_url(p.plan.id, "/map-link"), headers=p.gis)
        assert view.status_code == 200, view.text
        with serve(p.app) as base:
            yield Served(
                base,
                p.client,
                p.factory,
                p.plan.id,
                str(edit.json()["url"]),
                str(view.json()["url"]),
                p.gis,
                wards,
                ward_graph(p.features),
            )


def _connected(graph: nx.Graph, wards: list[str]) -> bool:
    return bool(wards) and nx.is_connected(graph.subgraph(wards))


def _valid_move(s: Served, assignment: dict[str, str]) -> tuple[str, str]:
    """A border ward whose move keeps every area connected and every load within the tolerance."""
    cos = sorted(set(assignment.values()))
    mean = sum(s.loads(assignment).values()) / len(cos)
    for ward in sorted(assignment, key=lambda w: (len(w), w)):
        for co in sorted({assignment[n] for n in s.graph.neighbors(ward)} - {assignment[ward]}):
            after = {**assignment, ward: co}
            loads = s.loads(after)
            if all(
                _connected(s.graph, [w for w, o in after.items() if o == c])
                and abs(loads[c] - mean) <= TOLERANCE * mean
                for c in cos
            ):
                return ward, co
    raise AssertionError("no valid single-ward move")


def _split_move(s: Served, assignment: dict[str, str], not_ward: str) -> tuple[str, str]:
    """A ward and a CO none of whose wards it touches: the move cuts the CO's area in two."""
    for ward in sorted(assignment, key=lambda w: (len(w), w)):
        if ward == not_ward:
            continue
        for co in sorted(set(assignment.values()) - {assignment[ward]}):
            rest = [w for w, o in assignment.items() if o == assignment[ward] and w != ward]
            if not any(assignment[n] == co for n in s.graph.neighbors(ward)) and _connected(
                s.graph, rest
            ):
                return ward, co
    raise AssertionError("no ward lies away from another CO's area")


def _click_ward(page: Page, wards: gpd.GeoDataFrame, ward: str) -> None:
    """A real mouse click on a spot of the ward where the ward itself is on top (not a label)."""
    geom = wards.loc[wards["ward_id"] == ward].geometry.iloc[0]
    minx, miny, maxx, maxy = geom.bounds
    centre = geom.representative_point()
    grid = [
        shapely.Point(minx + (maxx - minx) * i / 8, miny + (maxy - miny) * j / 8)
        for i in range(1, 8)
        for j in range(1, 8)
    ]
    inner = sorted((p for p in grid if geom.contains(p)), key=lambda p: p.distance(centre))
    spots = [centre, *inner]
    point = page.evaluate(
        """([id, spots]) => {
            const {map, wards} = wardplan.layers;
            map.closePopup();
            const ward = wards.getLayers().find((l) => l.feature.properties.wp_id === id);
            map.fitBounds(ward.getBounds(), {animate: false, maxZoom: 15});
            const box = map.getContainer().getBoundingClientRect();
            for (const [lon, lat] of spots) {
                const p = map.latLngToContainerPoint([lat, lon]);
                const x = box.left + p.x, y = box.top + p.y;
                if (document.elementFromPoint(x, y) === ward.getElement()) return [x, y];
            }
            return null;
        }""",
        [ward, [[p.x, p.y] for p in spots]],
    )
    assert point is not None, f"no spot of ward {ward} is clear of labels and markers"
    page.mouse.click(point[0], point[1])
    page.wait_for_function(
        "(id) => document.querySelector('.wp-edit-ward').textContent"
        ".startsWith('Ward / वार्ड ' + id + ' ')",
        arg=ward,
    )


def _move(page: Page, wards: gpd.GeoDataFrame, ward: str, co: str, outcome: str) -> None:
    _click_ward(page, wards, ward)
    page.select_option(".wp-edit-co", co)
    page.wait_for_selector(f".wp-edit-status.{outcome}")


def _deltas(page: Page) -> dict[str, list[tuple[float, float]]]:
    """Each row of the deltas table: its CO and (before, after) of every figure."""
    rows = page.evaluate(
        """() => [...document.querySelectorAll('tr.wp-edit-delta')].map((row) => [
            row.dataset.organiser,
            [...row.querySelectorAll('td[data-before]')].map((td) =>
                [Number(td.dataset.before), Number(td.dataset.after)]),
        ])"""
    )
    return {co: [tuple(pair) for pair in figures] for co, figures in rows}


def _ward_fill(page: Page, ward: str) -> str | None:
    return page.evaluate(  # type: ignore[no-any-return]
        """(id) => {
            const ward = wardplan.layers.wards.getLayers()
                .find((l) => l.feature.properties.wp_id === id);
            return ward.options.fillOpacity > 0 ? ward.options.fillColor : null;
        }""",
        ward,
    )


def _area_colour(page: Page, co: str) -> str:
    return page.evaluate(  # type: ignore[no-any-return]
        """(co) => wardplan.layers.areas.getLayers()
            .find((l) => l.feature.properties.wp_org === co).feature.properties.colour""",
        co,
    )


def _assert_deltas_shown(
    page: Page, served: Served, original: dict[str, str], ward: str, co: str
) -> None:
    """The check of moving ``ward`` to ``co``: each affected CO's figures as worked out here."""
    moved = {**original, ward: co}
    deltas = _deltas(page)
    assert set(deltas) == {co, original[ward]}
    before, after = served.loads(original), served.loads(moved)
    mean = sum(before.values()) / len(before)
    for c, (wards, households, deviation, km) in deltas.items():
        n_before = sum(1 for o in original.values() if o == c)
        assert wards == (n_before, n_before + (1 if c == co else -1))
        assert households == pytest.approx((before[c], after[c]), abs=1.0)
        assert deviation == pytest.approx(
            (100 * (before[c] - mean) / mean, 100 * (after[c] - mean) / mean), abs=0.05
        )
        assert all(k > 0 for k in km)
    gained = page.locator(f"tr.wp-edit-delta[data-organiser='{co}']").inner_text()
    assert f"{after[co] - before[co]:+,.0f}" in gained.replace("−", "-")
    objective = page.locator(".wp-edit-objective").inner_text()
    assert f"above the best bound known for plan {served.plan_id}" in objective
    assert "an edited plan is not optimal" in objective
    assert _ward_fill(page, ward) == _area_colour(page, co)
    assert page.locator(".wp-edit-save").is_enabled()


def test_edit_mode_checks_moves_undoes_and_saves_a_new_version(
    served: Served, browser: Browser, artifacts: Path
) -> None:
    original = served.assignment(served.plan_id)
    ward, co = _valid_move(served, original)
    moved = {**original, ward: co}
    cut, cut_co = _split_move(served, moved, ward)
    page, log = mapcheck.open_map(browser, f"{served.base}{served.edit_path}")
    try:
        assert not page.locator(".wp-edit-body").is_visible()
        page.locator(".wp-edit-toggle").click()
        assert page.locator(".wp-edit-body").is_visible()

        # A valid move: accepted, with each affected CO's figures before and after.
        _move(page, served.wards, ward, co, "wp-valid")
        _assert_deltas_shown(page, served, original, ward, co)

        # A move that cuts an area in two: refused, the reason naming the ward cut off.
        _move(page, served.wards, cut, cut_co, "wp-refused")
        reasons = page.locator(".wp-edit-breaks li").all_inner_texts()
        assert any(
            r.startswith(f"{cut_co}'s area would fall into 2 pieces") and f"ward {cut}" in r
            for r in reasons
        ), reasons
        assert not page.locator(".wp-edit-save").is_enabled()
        assert page.locator(".wp-edit-draft").is_visible()
        page.screenshot(path=str(artifacts / "plan-edit-refused.png"))

        # Undo: back to the valid move alone.
        page.locator(".wp-edit-undo").click()
        page.wait_for_selector(".wp-edit-status.wp-valid")
        assert page.locator(".wp-edit-moves li").all_inner_texts() == [
            f"Ward / वार्ड {ward}: {original[ward]} → {co}"
        ]
        assert _ward_fill(page, cut) is None
        assert _ward_fill(page, ward) == _area_colour(page, co)

        # Save: a new version; the original plan is unchanged.
        page.locator(".wp-edit-note").fill("CO lives nearer")
        page.locator(".wp-edit-save").click()
        page.wait_for_selector(".wp-edit-saved a.wp-edit-open")
        saved_text = page.locator(".wp-edit-saved").inner_text()
        assert "Saved as version 2 (plan " in saved_text
        assert "above the best bound known for its parent" in saved_text
        assert not page.locator(".wp-edit-undo").is_enabled()
        new_url = page.locator("a.wp-edit-open").get_attribute("href")
        assert new_url is not None
        assert mapcheck.foreign_requests(log, host="127.0.0.1") == []
        assert log.failed == []
        assert log.errors == []
    finally:
        page.context.close()

    history = [
        VersionOut.model_validate(v)
        for v in served.client.get(f"/cities/{CITY}/versions", headers=served.gis).json()
    ]
    child = next(v for v in history if v.plan_id != served.plan_id)
    assert len(history) == 2
    assert (child.version, child.reason, child.parent_plan_id) == (2, "edit", served.plan_id)
    assert (child.note, child.created_by, child.status) == ("CO lives nearer", CMMU, "feasible")
    assert child.details["moves"] == {ward: co}
    assert new_url.startswith(f"/cities/{CITY}/plans/{child.plan_id}/edit-map?")
    assert served.assignment(child.plan_id) == moved
    assert served.assignment(served.plan_id) == original  # the original is never changed

    # The saved version's page says how far it lies above its parent's bound, never "optimal".
    page, log = mapcheck.open_map(browser, f"{served.base}{new_url}")
    try:
        title = mapcheck.page_title(page)
        assert f"plan {child.plan_id} — edited by hand from plan {served.plan_id}" in title
        assert "above the best bound known for its parent" in title
        assert "optimal" not in title.replace("is not optimal", "")
        assert page.locator(".wp-edit-title").inner_text() == f"Plan {child.plan_id} (version 2)"
        assert log.errors == []
    finally:
        page.context.close()


def test_roles_that_may_not_edit_get_no_edit_controls(served: Served, browser: Browser) -> None:
    page, log = mapcheck.open_map(browser, f"{served.base}{served.view_path}")
    try:
        assert page.locator(".wp-ward-label").count() == len(served.wards)
        assert page.locator(".wp-edit, .wp-edit-toggle").count() == 0
        assert page.evaluate("() => window.wardplan.edit") is None
        assert not [u for u in log.requests if "edit.js" in u or "edit-map" in u]
    finally:
        page.context.close()

    plan = f"/cities/{CITY}/plans/{served.plan_id}"
    refused = served.client.post(f"{plan}/edit-link", headers=served.gis)
    assert expect_problem(refused, 403).type == "/problems/forbidden"

    # A forged or altered link opens nothing and checks nothing.
    anonymous = TestClient(served.client.app)
    forged = served.edit_path.replace("sig=", "sig=0")
    assert expect_problem(anonymous.get(forged), 401).title == "edit link required"
    query = served.edit_path.split("?", 1)[1]
    fields = dict(part.split("=", 1) for part in query.split("&"))
    edits = f"{plan}/edit-map/edits?expires={fields['expires']}&by=someone-else"
    body = {"moves": [{"ward_id": "1", "organiser_id": "CO-2"}]}
    bearer = {"Authorization": f"Bearer {fields['sig']}"}
    assert expect_problem(served.client.post(edits, json=body, headers=bearer), 401)

    # A link stops working once its key is revoked.
    other = issue_key(served.factory, "edit-map-cmmu2", "cmmu", CITY)
    link = served.client.post(f"{plan}/edit-link", headers=other).json()["url"]
    assert anonymous.get(link).status_code == 200
    with session_scope(served.factory) as session:
        keys.revoke(session, "edit-map-cmmu2")
    assert expect_problem(anonymous.get(link), 401).title == "edit link required"


def test_edit_mode_refuses_moving_a_pinned_ward_naming_the_pin(
    served: Served, browser: Browser
) -> None:
    original = served.assignment(served.plan_id)
    ward, co = _valid_move(served, original)  # breaks nothing but the pin set here
    pins = f"/cities/{CITY}/pins"
    pinned = {"pins": [{"ward_id": ward, "organiser_id": original[ward]}]}
    assert served.client.put(pins, json=pinned).status_code == 200
    page, log = mapcheck.open_map(browser, f"{served.base}{served.edit_path}")
    try:
        page.locator(".wp-edit-toggle").click()
        _move(page, served.wards, ward, co, "wp-refused")
        assert page.locator(".wp-edit-breaks li").all_inner_texts() == [
            f"ward {ward} is pinned to {original[ward]}: it cannot move to {co} "
            "(remove the pin first)"
        ]
        assert not page.locator(".wp-edit-save").is_enabled()
        assert page.locator(".wp-edit-draft").is_visible()  # a draft, never approved
        assert log.errors == []
    finally:
        page.context.close()
        assert served.client.put(pins, json={"pins": []}).status_code == 200
