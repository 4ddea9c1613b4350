"""Plan downloads (GeoPackage, KML, zipped shapefiles) from a real stored plan, read back with pyogrio."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.db.session import session_scope
from app.services.downloads import TEMP_PREFIX
from tests.app.apihelp import expect_problem, issue_key, make_app, ward_to_co
from tests.app.plandata import ORGANISER_NAME_HI, WARD_NAME_HI, SmallCity, load_small_city

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def planned(migrated_engine: Engine, shared_data: Path) -> Iterator[tuple[TestClient, SmallCity]]:
    """Chandigarh stored and planned once for the module, rolled back afterwards."""
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
                yield client, city
        finally:
            outer.rollback()


def _download(client: TestClient, city: SmallCity, name: str, tmp: Path) -> Path:
    response = client.get(f"/cities/{city.code}/plans/{city.plan_id}/{name}")
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="chandigarh-plan-{city.plan_id}-{name}"'
    path = tmp / name
    path.write_bytes(response.content)
    return path


def _assignment(client: TestClient, city: SmallCity) -> dict[str, str]:
    text = client.get(f"/cities/{city.code}/plans/{city.plan_id}/assignment.csv").text
    return ward_to_co(text)


def test_geopackage(planned: tuple[TestClient, SmallCity], tmp_path: Path) -> None:
    client, city = planned
    path = _download(client, city, "plan.gpkg", tmp_path)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["plan_wards", "plan_areas"]
    wards = pyogrio.read_dataframe(path, layer="plan_wards")
    areas = pyogrio.read_dataframe(path, layer="plan_areas")
    assert dict(zip(wards["ward_id"], wards["organiser_id"], strict=True)) == _assignment(
        client, city
    )
    assert dict(zip(wards["ward_id"], wards["ward_name"], strict=True)) == city.ward_names
    assert sorted(areas["organiser_id"]) == ["CO-1", "CO-2", "CO-3", "CO-4"]
    assert areas.set_index("organiser_id").loc["CO-1", "name"] == ORGANISER_NAME_HI
    assert set(wards.geometry.geom_type) == {"MultiPolygon"}
    assert wards.crs.to_epsg() == 4326


def test_kml(planned: tuple[TestClient, SmallCity], tmp_path: Path) -> None:
    client, city = planned
    path = _download(client, city, "plan.kml", tmp_path)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["plan_wards", "plan_areas"]
    wards = pyogrio.read_dataframe(path, layer="plan_wards")
    areas = pyogrio.read_dataframe(path, layer="plan_areas")
    assert dict(zip(wards["ward_id"], wards["organiser_id"], strict=True)) == _assignment(
        client, city
    )
    assert f"Ward 1: {WARD_NAME_HI}" in set(wards["Name"])
    assert sorted(areas["organiser_id"]) == ["CO-1", "CO-2", "CO-3", "CO-4"]
    assert ORGANISER_NAME_HI in set(areas["Name"])


def test_zipped_shapefiles(planned: tuple[TestClient, SmallCity], tmp_path: Path) -> None:
    client, city = planned
    path = _download(client, city, "plan-shp.zip", tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert archive.read("plan_areas.cpg").decode().strip() == "UTF-8"
    assert names == {
        f"{layer}.{ext}"
        for layer in ("plan_wards", "plan_areas")
        for ext in ("shp", "shx", "dbf", "prj", "cpg")
    }
    wards = pyogrio.read_dataframe(f"zip://{path}!plan_wards.shp")
    areas = pyogrio.read_dataframe(f"zip://{path}!plan_areas.shp")
    assert all(len(c) <= 10 for c in [*wards.columns, *areas.columns])
    assert dict(zip(wards["ward_id"], wards["org_id"], strict=True)) == _assignment(client, city)
    assert dict(zip(wards["ward_id"], wards["ward_name"], strict=True)) == city.ward_names
    assert areas.set_index("org_id").loc["CO-1", "name"] == ORGANISER_NAME_HI
    assert len(areas) == 4


def test_downloads_leave_no_temp_files(planned: tuple[TestClient, SmallCity]) -> None:
    client, city = planned
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob(f"{TEMP_PREFIX}*"))
    for name in ("plan.gpkg", "plan.kml", "plan-shp.zip"):
        response = client.get(f"/cities/{city.code}/plans/{city.plan_id}/{name}")
        assert response.status_code == 200
    assert set(tmp.glob(f"{TEMP_PREFIX}*")) == before


def test_unknown_plans_are_not_found(planned: tuple[TestClient, SmallCity]) -> None:
    client, city = planned
    for name in ("plan.gpkg", "plan.kml", "plan-shp.zip"):
        expect_problem(client.get(f"/cities/kanpur/plans/{city.plan_id}/{name}"), 404)
        expect_problem(client.get(f"/cities/{city.code}/plans/{city.plan_id + 999}/{name}"), 404)
