"""The map page of a re-plan, in a real headless Chromium: the layer "Moved from parent" outlines
the wards whose CO changed, is shown by default with its legend line, and hovering one of its
wards shows the move (one page per hover: Leaflet reuses one tooltip per layer); a click on a
moved ward still opens that ward's details. A plan without a parent has no such layer.

Served by the app on the real PostGIS (tests/app/planfix.py: Chandigarh uploaded through the API,
four COs planned by a job; then CO-4 leaves and the plan is re-planned by a job; rolled back),
and the same for the offline map.html of a ``wardplan replan`` folder opened from disk. The expected moves are read
from the stored assignments (assignment.csv) of both plans, not from the page.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine
from typer.testing import CliRunner

from app.api.schemas import JobOut
from app.cli import cli
from tests.app.apihelp import (
    run_job_here,
    ward_to_co,
)
from tests.app.movedcheck import MOVED_NAME
from tests.app.planfix import planned_city, roster_csv
from tests.browser import mapcheck
from tests.browser.conftest import serve

pytestmark = pytest.mark.slow

CITY = "chandigarh-moved"


@dataclass
class Served:
    base: str
    parent_url: str  # signed map links of the parent plan and its re-plan
    replan_url: str
    moves: dict[str, tuple[str, str]]  # ward → (parent's CO, the re-plan's CO), from the stores
    wards: gpd.GeoDataFrame


def _moves(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {w: (before[w], after[w]) for w in after if w in before and before[w] != after[w]}


@pytest.fixture(scope="module")
def served(migrated_engine: Engine, shared_data: Path) -> Iterator[Served]:
    with planned_city(migrated_engine, shared_data, CITY, keys="moved-map", lifespan=False) as p:
        client = p.client
        assert client.delete(f"/cities/{CITY}/organisers/CO-4", headers=p.gis).status_code == 200
        made = client.post(p.plan_url(p.plan.id, "/replan"), json={"time_limit": 10})
        assert made.status_code == 202, made.text
        job = JobOut.model_validate(made.json())
        run_job_here(p.factory, job.id)
        done = JobOut.model_validate(client.get(job.url).json())
        assert done.status == "succeeded", done.error
        assert done.plan_id is not None

        def link(plan_id: int) -> str:
            made = client.post(p.plan_url(plan_id, "/map-link"), headers=p.gis)
            assert made.status_code == 200, made.text
            return str(made.json()["url"])

        def stored(plan_id: int) -> dict[str, str]:
            return ward_to_co(client.get(p.plan_url(plan_id, "/assignment.csv")).text)

        wards = gpd.GeoDataFrame.from_features(p.features, crs="EPSG:4326")
        wards["ward_id"] = wards["ward_id"].astype(str)
        moves = _moves(stored(p.plan.id), stored(done.plan_id))
        assert moves  # CO-4's wards at least
        with serve(p.app) as base:
            yield Served(base, link(p.plan.id), link(done.plan_id), moves, wards)


def _spot(page: Page, wards: gpd.GeoDataFrame, ward: str) -> tuple[float, float]:
    """A point of the ward where its outline in the moved layer is on top (not a label)."""
    geom = wards.loc[wards["ward_id"] == ward].geometry.iloc[0]
    minx, miny, maxx, maxy = geom.bounds
    centre = geom.representative_point()
    grid = [
        shapely.Point(minx + (maxx - minx) * i / 8, miny + (maxy - miny) * j / 8)
        for i in range(1, 8)
        for j in range(1, 8)
    ]
    inner = sorted((p for p in grid if geom.contains(p)), key=lambda p: p.distance(centre))
    point = page.evaluate(
        """([id, spots]) => {
            const {map, moved} = wardplan.layers;
            const item = moved.getLayers().find((l) => l.feature.properties.wp_id === id);
            map.fitBounds(item.getBounds(), {animate: false, maxZoom: 15});
            const box = map.getContainer().getBoundingClientRect();
            for (const [lon, lat] of spots) {
                const p = map.latLngToContainerPoint([lat, lon]);
                const x = box.left + p.x, y = box.top + p.y;
                if (document.elementFromPoint(x, y) === item.getElement()) return [x, y];
            }
            return null;
        }""",
        [ward, [[p.x, p.y] for p in [centre, *inner]]],
    )
    assert point is not None, f"no spot of moved ward {ward} is clear of labels and markers"
    return float(point[0]), float(point[1])


def _assert_hover_shows_the_move(
    browser: Browser, url: str, wards: gpd.GeoDataFrame, ward: str, move: tuple[str, str]
) -> mapcheck.PageLog:
    page, log = mapcheck.open_map(browser, url)
    try:
        x, y = _spot(page, wards, ward)
        page.mouse.move(x, y)
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(state="visible")
        names = page.evaluate(
            """(id) => { const p = wardplan.layers.wards.getLayers()
                .find((l) => l.feature.properties.wp_id === id).feature.properties;
                return [p.wp_name, p.wp_name_hi].filter((n) => n.trim()).map((n) => " " + n.trim())
                .join(""); }""",
            ward,
        )
        # the move's tooltip covers the ward's own, so it names the ward as that one does
        assert tip.inner_text() == f"Ward / वार्ड {ward}{names}: {move[0]} → {move[1]}"
    finally:
        page.context.close()
    return log


def _assert_layer_and_legend(page: Page, moves: dict[str, tuple[str, str]]) -> None:
    drawn = page.evaluate(
        "() => wardplan.layers.moved.getLayers().map((l) => l.feature.properties.wp_id)"
    )
    assert sorted(drawn) == sorted(moves)
    assert page.locator("path.wp-moved").count() == len(moves)
    assert page.locator("path.wp-moved").first.is_visible()
    control = page.locator(".leaflet-control-layers-overlays label", has_text=MOVED_NAME)
    assert control.locator("input").is_checked()  # shown by default
    key = page.locator(".wp-moved-key")
    assert key.is_visible()
    assert key.locator("b").first.inner_text() == str(len(moves))


def test_the_replan_map_outlines_the_moved_wards_and_hover_shows_each_move(
    served: Served, browser: Browser, artifacts: Path
) -> None:
    page, log = mapcheck.open_map(browser, f"{served.base}{served.replan_url}")
    try:
        _assert_layer_and_legend(page, served.moves)
        mapcheck.screenshot(page, artifacts / "plan-map-replan-moved.png")
        # a click on a moved ward opens that ward's own details beneath the outline
        ward = sorted(served.moves, key=lambda w: (len(w), w))[0]
        x, y = _spot(page, served.wards, ward)
        page.mouse.click(x, y)
        page.wait_for_function(
            """(id) => wardplan.layers.wards.getLayers()
                .find((l) => l.feature.properties.wp_id === id).isPopupOpen()""",
            arg=ward,
        )
        assert mapcheck.foreign_requests(log, host="127.0.0.1") == []
        assert log.errors == []
    finally:
        page.context.close()
    for ward in sorted(served.moves, key=lambda w: (len(w), w))[:2]:  # one page per hover
        url = f"{served.base}{served.replan_url}"
        log = _assert_hover_shows_the_move(browser, url, served.wards, ward, served.moves[ward])
        assert log.errors == []


def test_a_plan_without_a_parent_has_no_moved_layer(served: Served, browser: Browser) -> None:
    page, log = mapcheck.open_map(browser, f"{served.base}{served.parent_url}")
    try:
        assert page.evaluate("() => wardplan.layers.moved") is None
        assert page.locator("path.wp-moved, .wp-moved-key").count() == 0
        assert page.locator(".leaflet-control-layers", has_text=MOVED_NAME).count() == 0
        assert log.errors == []
    finally:
        page.context.close()


def _folder_assignment(folder: Path) -> dict[str, str]:
    with (folder / "assignment.csv").open(encoding="utf-8") as fh:
        return {r["ward_id"]: r["organiser_id"] for r in csv.DictReader(fh)}


def test_the_offline_map_of_a_replan_folder_shows_the_moves_from_disk(
    shared_data: Path, tmp_path: Path, browser: Browser
) -> None:
    wards_file = shared_data / "chandigarh" / "wards.geojson"
    roster = tmp_path / "organisers.csv"
    roster.write_bytes(roster_csv())
    three = tmp_path / "three.csv"
    three.write_text("\n".join(roster.read_text("utf-8").splitlines()[:-1]) + "\n", "utf-8")
    parent, out = tmp_path / "plan", tmp_path / "replan"
    runner = CliRunner()
    args = ["allocate", str(wards_file), "--organisers", str(roster), "--out", str(parent)]
    made = runner.invoke(cli, [*args, "--tolerance", "0.5", "--time-limit", "10"])
    assert made.exit_code == 0, made.output
    args = ["replan", str(parent), "--organisers", str(three), "--out", str(out)]
    replanned = runner.invoke(cli, [*args, "--time-limit", "5"])
    assert replanned.exit_code == 0, replanned.output
    moves = _moves(_folder_assignment(parent), _folder_assignment(out))
    wards = gpd.read_file(out / "plan.geojson")
    wards["ward_id"] = wards["ward_id"].astype(str)

    page, log = mapcheck.open_map(browser, (out / "map.html").as_uri())
    try:
        _assert_layer_and_legend(page, moves)
        assert log.errors == []
    finally:
        page.context.close()
    ward = sorted(moves, key=lambda w: (len(w), w))[0]
    log = _assert_hover_shows_the_move(
        browser, (out / "map.html").as_uri(), wards, ward, moves[ward]
    )
    assert log.requests[0].startswith("file://")
    assert mapcheck.foreign_requests(log, host=None) == []
    assert log.failed == []
    assert log.errors == []
