"""One schema for a plan's areas (issue 20): the API's ``areas.geojson`` of a stored plan has the
fields of the CLI's ``areas.geojson`` for the same city, COs and parameters, with the same
meaning (same values per CO), plus the stored plan's approval."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from app.cli import cli
from app.db.session import session_scope
from app.services import plans, sheets
from app.services.plan_areas import AREA_FIELDS
from gis.figures import km_text, km_value, percent_text, percent_value
from tests.app.apihelp import issue_key, make_app
from tests.app.plandata import HOME_WARDS, ORGANISER_NAME_HI, WARD_NAME_HI, load_small_city

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Stored:
    """A stored plan's outputs: its areas as the API answers them, the frame its sheets are
    drawn from and its served map (HTML)."""

    areas: dict[str, Any]
    sheet_areas: gpd.GeoDataFrame
    map_html: str


@pytest.fixture(scope="module")
def stored(migrated_engine: Engine, shared_data: Path) -> Iterator[Stored]:
    """Chandigarh planned through the services; its areas as the API answers them (admin)."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            with session_scope(factory) as session:
                city = load_small_city(session, shared_data, "chandigarh", approve=False)
            headers = issue_key(factory, "tests-admin", "admin")
            with TestClient(make_app(factory), headers=headers) as client:
                url = f"/cities/{city.code}/plans/{city.plan_id}/areas.geojson"
                response = client.get(url)
                assert response.status_code == 200, response.text
            with session_scope(factory) as session:
                plan = plans.get_plan(session, city.code, city.plan_id)
                _wards, sheet_areas = sheets.plan_frames(session, plan)
                html = plans.plan_map_html(session, plan, exact_homes=True)
            yield Stored(response.json(), sheet_areas, html)
        finally:
            outer.rollback()


@pytest.fixture(scope="module")
def api_areas(stored: Stored) -> dict[str, Any]:
    return stored.areas


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """The same city, COs and parameters (tolerance 0.5, HiGHS) planned by ``wardplan allocate``."""
    tmp = tmp_path_factory.mktemp("cli-plan")
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    for feature in fc["features"]:
        ward = feature["properties"]["ward_id"]
        feature["properties"]["ward_name"] = WARD_NAME_HI if ward == "1" else f"Ward {ward}"
    wards = tmp / "wards.geojson"
    wards.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    organisers = tmp / "organisers.csv"
    rows = ["organiser_id,name,home_ward"] + [
        f"CO-{k},{ORGANISER_NAME_HI if k == 1 else f'CO {k}'},{ward}"
        for k, ward in enumerate(HOME_WARDS, start=1)
    ]
    organisers.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp / "out"
    args = [str(wards), "--organisers", str(organisers), "--out", str(out)]
    args += ["--tolerance", "0.5", "--time-limit", "20", "--solver", "highs"]
    result = CliRunner().invoke(cli, ["allocate", *args])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def cli_areas(cli_out: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(cli_out / "areas.geojson")


def test_the_api_answers_the_cli_fields_in_order_plus_the_approval(
    api_areas: dict[str, Any], cli_areas: gpd.GeoDataFrame
) -> None:
    assert [c for c in cli_areas.columns if c != "geometry"] == list(AREA_FIELDS)
    for feature in api_areas["features"]:
        assert list(feature["properties"]) == [*AREA_FIELDS, "approval", "plan_version"]
        assert feature["properties"]["approval"] == "DRAFT — not approved"


def test_the_same_plan_has_the_same_values_through_both(
    api_areas: dict[str, Any], cli_areas: gpd.GeoDataFrame
) -> None:
    api = {f["properties"]["organiser_id"]: f["properties"] for f in api_areas["features"]}
    cli_rows = {row["organiser_id"]: row for row in cli_areas.to_dict("records")}
    assert sorted(api) == sorted(cli_rows) == ["CO-1", "CO-2", "CO-3", "CO-4"]
    for oid, want in cli_rows.items():
        got = api[oid]
        # the same optimum: the same wards per CO (an exact solve of a 26-ward city)
        exact = ("n_wards", "ward_ids", "n_parts", "name", "deviation_from_mean_pct")
        assert {k: got[k] for k in exact} == {k: want[k] for k in exact}, oid
        assert got["home_lon"] == pytest.approx(want["home_lon"], abs=1e-7)
        assert got["home_lat"] == pytest.approx(want["home_lat"], abs=1e-7)
        assert got["population"] == pytest.approx(want["population"])
        assert got["poor_households_est"] == pytest.approx(want["poor_households_est"], abs=0.05)
        assert got["mean_km_from_home"] == pytest.approx(want["mean_km_from_home"])
        assert got["area_km2"] == pytest.approx(want["area_km2"], rel=1e-4)


def test_one_plan_has_the_same_figures_in_every_output(
    stored: Stored, cli_out: Path, cli_areas: gpd.GeoDataFrame
) -> None:
    """Deviation from the mean and mean km from home per CO (``gis.figures.PlanFigures``): the
    CLI's summary.csv and areas, the API's areas, the sheets' frame and the served map's table
    give the same rounded figures."""
    with (cli_out / "summary.csv").open(encoding="utf-8") as fh:
        summary = {row["organiser_id"]: row for row in csv.DictReader(fh)}
    areas = {row["organiser_id"]: row for row in cli_areas.to_dict("records")}
    api = {f["properties"]["organiser_id"]: f["properties"] for f in stored.areas["features"]}
    sheet = {row["organiser_id"]: row for row in stored.sheet_areas.to_dict("records")}
    assert sorted(summary) == sorted(areas) == sorted(api) == sorted(sheet)
    for oid, row in summary.items():
        deviation = percent_value(float(row["deviation_from_mean_pct"]))
        km = km_value(float(row["mean_km_from_home"]))
        assert km is not None, row
        assert km > 0, row
        got = {
            "areas": (areas[oid]["deviation_from_mean_pct"], areas[oid]["mean_km_from_home"]),
            "api": (api[oid]["deviation_from_mean_pct"], api[oid]["mean_km_from_home"]),
            "sheet": (
                percent_value(sheet[oid]["deviation_from_mean_pct"]),
                km_value(sheet[oid]["mean_km_from_home"]),
            ),
        }
        assert got == {k: (deviation, km) for k in got}, oid
        assert f"<td>{percent_text(deviation)}</td><td>{km_text(km)}</td>" in stored.map_html, oid
