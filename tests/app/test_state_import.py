"""Importing a state in one step (a manifest + the files it names) through the API, on the real
PostGIS: each city all or nothing, a bad city refused with reasons naming its file, feature, field
and value, the others stored with their wards, roster and posts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select

from app.api.schemas.state import StateImportOut
from app.db.models import City, District, Organiser, State, WardLayer
from tests.app.apihelp import counts, expect_problem
from tests.app.statedata import BAD, StateFolder, as_xlsx, build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> StateFolder:
    return build(shared_data, tmp_path_factory.mktemp("state"), ["lucknow", "chandigarh", "mumbai"])


def _import(client: TestClient, bundle: Path, **parts: tuple[str, bytes]) -> StateImportOut:
    with bundle.open("rb") as fh:
        response = client.post(
            "/states/TS/import",
            files={"bundle": (bundle.name, fh, "application/zip"), **parts},
            data={"state_name": "State of Tests"},
        )
    assert response.status_code == 200, response.text
    return StateImportOut.model_validate(response.json())


def _check(result: StateImportOut, db: Connection, folder: StateFolder) -> None:
    by_city = {c.city: c for c in result.cities}
    assert [c.city for c in result.cities] == [*folder.cities, BAD]
    assert (result.stored, result.refused) == (len(folder.cities), 1), result.cities
    bad = by_city[BAD]
    assert bad.status == "refused"
    assert bad.stored == []
    assert any("1 problem(s) in the ward layer" in r for r in bad.refused), bad.refused
    assert any(
        "wards.geojson, feature 3, ward 4, field 'population'" in r and "-250" in r
        for r in bad.refused
    ), bad.refused
    lucknow = by_city["lucknow"]
    assert lucknow.status == "stored"
    assert lucknow.refused == []
    stored = [s for s in lucknow.stored if "wards from lucknow/" in s and "census.csv" in s]
    assert stored, lucknow.stored
    assert "6 organisers from lucknow/organisers.csv" in lucknow.stored
    assert "COs in post: 4, CMMs in post: 2" in lucknow.stored
    assert lucknow.repaired, "Lucknow's raw layer needs repairs (its warnings say which)"
    # the database: the good cities with their place, layer and roster; nothing of the bad one
    rows = db.execute(
        select(City.code, City.name, District.name, State.code, City.cos_in_post)
        .join(District, City.district_id == District.id)
        .join(State, District.state_id == State.id)
        .where(State.code == "TS")
        .order_by(City.code)
    ).all()
    assert [r[0] for r in rows] == sorted(folder.cities)
    assert ("mumbai", "Brihanmumbai Municipal Corporation", "Mumbai City", "TS", 1) in rows
    layers = db.scalar(
        select(func.count())
        .select_from(WardLayer)
        .join(City, WardLayer.city_id == City.id)
        .where(City.code == BAD)
    )
    assert layers == 0
    cos = db.scalar(
        select(func.count()).select_from(Organiser).join(City).where(City.code == "chandigarh")
    )
    assert cos == 3


def test_a_zip_with_its_manifest(
    client: TestClient, db_connection: Connection, folder: StateFolder, tmp_path: Path
) -> None:
    result = _import(client, folder.zip(tmp_path / "state.zip"))
    _check(result, db_connection, folder)
    # the same import again: the same answer, and no new layer versions (identical files)
    again = _import(client, folder.zip(tmp_path / "state.zip"))
    assert [c.status for c in again.cities] == [c.status for c in result.cities]
    assert any("identical to version 1" in s for s in again.cities[0].stored)
    assert not any("version 2" in s for c in again.cities for s in c.stored)


def test_an_xlsx_manifest_beside_the_zip(
    client: TestClient, db_connection: Connection, folder: StateFolder, tmp_path: Path
) -> None:
    bundle = folder.zip(tmp_path / "files.zip", with_manifest=False)
    xlsx = as_xlsx(folder.root / "manifest.csv")
    result = _import(client, bundle, manifest=("state.xlsx", xlsx))
    _check(result, db_connection, folder)


def test_a_manifest_it_cannot_read_stores_nothing(
    client: TestClient, db_connection: Connection, folder: StateFolder, tmp_path: Path
) -> None:
    bundle = folder.zip(tmp_path / "files.zip", with_manifest=False)
    before = counts(db_connection)
    with bundle.open("rb") as fh:
        missing = client.post(
            "/states/TS/import", files={"bundle": ("files.zip", fh)}, data={"state_name": "T"}
        )
    assert "manifest.csv" in (expect_problem(missing, 422).title or "")
    with bundle.open("rb") as fh:
        columns = client.post(
            "/states/TS/import",
            files={
                "bundle": ("files.zip", fh),
                "manifest": ("m.csv", b"state,city,wards\nTS,a,b\n"),
            },
            data={"state_name": "T"},
        )
    problem = expect_problem(columns, 422)
    assert {(e.code, e.field) for e in problem.errors} >= {
        ("missing-column", "district"),
        ("missing-column", "ward_file"),
        ("unknown-column", "wards"),
    }
    expect_problem(client.post("/states/TS/import", files={"bundle": ("x.zip", b"not a zip")}), 422)
    assert counts(db_connection) == before
