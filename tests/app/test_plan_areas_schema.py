"""One schema for a plan's areas (issue 20): the API's ``areas.geojson`` of a stored plan has the
fields of the CLI's ``areas.geojson`` for the same city, COs and parameters, with the same
meaning (same values per CO), plus the stored plan's approval."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from app.services.plan_areas import AREA_FIELDS
from tests.app.apihelp import issue_key, make_app
from tests.app.plandata import HOME_WARDS, ORGANISER_NAME_HI, WARD_NAME_HI, load_small_city

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_areas(migrated_engine: Engine, shared_data: Path) -> Iterator[dict[str, Any]]:
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
                yield response.json()
        finally:
            outer.rollback()


@pytest.fixture(scope="module")
def cli_areas(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> gpd.GeoDataFrame:
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
    return gpd.read_file(out / "areas.geojson")


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
