"""The map.html that ``wardplan allocate --out`` writes, opened from disk (file://) in headless
Chromium: it must work with no server and no network at all (its assets are inlined).

Chandigarh's 26 wards, each given a name (the file has none) and ward 3 a name made of markup, and
4 illustrative COs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import pytest
from playwright.sync_api import Browser
from typer.testing import CliRunner

from app.cli import cli
from gis.figures import km_text
from gis.io import read_ward_layer
from gis.organisers import illustrative_organisers, write_organisers_csv
from tests.browser import mapcheck

pytestmark = pytest.mark.slow

EVIL_WARD = "3"
SEARCHED = "12"


def _name(ward_id: str) -> str:
    return mapcheck.EVIL_NAME if ward_id == EVIL_WARD else f"Chandigarh ward {ward_id}"


@pytest.fixture(scope="module")
def plan_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("standalone")
    wards = gpd.read_file(shared_data / "chandigarh" / "wards.geojson")
    wards["ward_name"] = [_name(str(w)) for w in wards["ward_id"]]
    layer_file = tmp / "chandigarh.geojson"
    wards.to_file(layer_file, driver="GeoJSON")
    organisers = illustrative_organisers(read_ward_layer(layer_file).wards, 4, seed=2017)
    roster = write_organisers_csv(organisers, tmp / "organisers.csv")
    out = tmp / "plan"
    args = [layer_file, "--organisers", roster, "--tolerance", "0.3", "--time-limit", "15"]
    args += ["--city", "Chandigarh"]
    result = CliRunner().invoke(cli, ["allocate", *map(str, args), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_standalone_map_works_from_disk(plan_dir: Path, browser: Browser, artifacts: Path) -> None:
    plan_wards = gpd.read_file(plan_dir / "plan.geojson")
    plan_wards["ward_id"] = plan_wards["ward_id"].astype(str)
    with (plan_dir / "summary.csv").open(encoding="utf-8") as fh:
        summary = list(csv.DictReader(fh))
    page, log = mapcheck.open_map(browser, (plan_dir / "map.html").as_uri())
    try:
        assert log.requests[0].startswith("file://")
        assert mapcheck.drawn(page) == {
            "areas": len(summary),
            "wards": 26,
            "zones": 0,
            "homes": 4,
            "labels": 26,
        }
        assert sorted(mapcheck.ward_labels(page)) == sorted(plan_wards["ward_id"])
        loads = {r["organiser_id"]: float(r["poor_households"]) for r in summary}
        wards = {r["organiser_id"]: int(r["wards"]) for r in summary}
        mapcheck.assert_legend_matches(page, loads, wards)
        for row in mapcheck.legend(page):  # the CLI's distances are the summary's
            mean_km = next(
                float(r["mean_km_from_home"]) for r in summary if r["organiser_id"] == row.organiser
            )
            assert row.km == km_text(mean_km)  # one rounding: the same text, not just close
        assert mapcheck.assert_neighbours_differ(page, plan_wards) >= len(summary) - 1
        assert mapcheck.page_title(page).startswith("Wardplan: Chandigarh — ")  # --city
        assert page.locator(".wp-credits").count() == 0  # no --source: no credit claimed
        assert len(mapcheck.assert_fills_stand_out(page)) == len(summary)
        assert sorted(mapcheck.ward_labels(page, ".wp-co-label")) == sorted(loads)
        for delta in (0, 1, 2):
            mapcheck.zoom_by(page, delta)
            shown, _ = mapcheck.assert_labels_clear(page)
            assert shown > 0
        mapcheck.screenshot(page, artifacts / "plan-map-standalone-chandigarh.png")
        assert mapcheck.assert_labels_clear(page)[0] > 0

        owner = dict(zip(plan_wards["ward_id"], plan_wards["organiser_id"], strict=True))
        mapcheck.assert_search_works(page, SEARCHED, _name(SEARCHED), "ward 12", owner[SEARCHED])
        inside = mapcheck.inside(plan_wards, EVIL_WARD)
        mapcheck.assert_markup_is_text(page, EVIL_WARD, inside, log)

        assert mapcheck.foreign_requests(log, host=None) == []
        assert log.failed == []
        assert log.errors == []
    finally:
        page.context.close()


def test_bad_tile_template_is_refused_before_solving(plan_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "allocate",
            str(plan_dir.parent / "chandigarh.geojson"),
            "--organisers",
            str(plan_dir.parent / "organisers.csv"),
            "--tiles",
            "OpenStreetMap",
            "--out",
            str(plan_dir.parent / "not-written"),
        ],
    )
    assert result.exit_code != 0
    assert "--tiles" in result.output
    assert "OpenStreetMap" in result.output
    assert not (plan_dir.parent / "not-written").exists()
