"""States, districts and cities through the API and ``wardplan places``, and uploads that name
their city's place — on the real PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, delete, select
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import AuditEvent, City, District, State
from app.db.session import default_session_factory
from tests.app.apihelp import counts, expect_problem

runner = CliRunner()


def _up(client: TestClient) -> None:
    made = client.post("/states", json={"code": "up", "name": "Uttar Pradesh", "lgd_code": 9})
    assert made.status_code == 201, made.text
    assert made.json() == {
        "code": "UP",
        "name": "Uttar Pradesh",
        "lgd_code": 9,
        "districts": 0,
        "cities": 0,
    }


def test_states_districts_and_cities_are_created_renamed_and_listed(client: TestClient) -> None:
    _up(client)
    expect_problem(client.post("/states", json={"code": "UP", "name": "Again"}), 409)
    district = client.post("/states/UP/districts", json={"name": "Lucknow", "lgd_code": 162}).json()
    assert district == {"state": "UP", "code": "lucknow", "name": "Lucknow", "lgd_code": 162}
    city = client.post(
        "/cities",
        json={
            "code": "lucknow",
            "name": "Lucknow Nagar Nigam",
            "state": "UP",
            "district": "Lucknow",
            "lgd_code": 800686,
            "cos_in_post": 12,
            "cmms_in_post": 2,
        },
    )
    assert city.status_code == 201, city.text
    assert city.json()["district_name"] == "Lucknow"
    assert city.json()["has_layer"] is False
    # a city in a district the state does not have yet: the district is made
    kanpur = client.post(
        "/cities",
        json={"code": "kanpur", "name": "Kanpur", "state": "UP", "district": "Kanpur Nagar"},
    )
    assert kanpur.json()["district"] == "kanpur-nagar"
    renamed = client.patch("/states/UP", json={"name": "Uttar Pradesh (renamed)"})
    assert renamed.json()["cities"] == 2
    assert client.patch("/states/UP/districts/kanpur-nagar", json={"lgd_code": 164}).is_success
    moved = client.patch(
        "/cities/kanpur", json={"name": "Kanpur Nagar Nigam", "state": "UP", "district": "lucknow"}
    )
    assert moved.json()["district"] == "lucknow"
    assert moved.json()["state_name"] == "Uttar Pradesh (renamed)"
    listed = client.get("/cities", params={"state": "UP", "district": "lucknow"}).json()
    assert [c["code"] for c in listed] == ["kanpur", "lucknow"]
    assert [d["code"] for d in client.get("/states/UP/districts").json()] == [
        "kanpur-nagar",
        "lucknow",
    ]
    expect_problem(client.get("/states/KA"), 404)
    expect_problem(
        client.post("/cities", json={"code": "x", "name": "X", "state": "KA", "district": "Y"}),
        404,
    )
    expect_problem(client.patch("/cities/kanpur", json={"lgd_code": 800686}), 409)  # taken


def test_an_upload_names_its_city_or_its_place(
    client: TestClient, db_connection: Connection, shared_data: Path
) -> None:
    _up(client)
    wards = (shared_data / "chandigarh" / "wards.geojson").read_bytes()

    def upload(city: str, **form: str) -> object:
        return client.post(
            f"/cities/{city}/layers", files={"file": ("w.geojson", wards)}, data=form
        )

    before = counts(db_connection)
    problem = expect_problem(upload("agra"), 404)  # no such city, no place given
    assert "state and district" in (problem.detail or "")
    expect_problem(upload("agra", state="KA", district="Agra"), 404)  # no such state
    expect_problem(upload("agra", state="UP"), 422)  # a state without its district
    assert counts(db_connection) == before

    made = upload("agra", state="UP", district="Agra", city_name="Agra Nagar Nigam")
    assert made.status_code == 201, made.text  # type: ignore[attr-defined]
    city = client.get("/cities/agra").json()
    assert (city["name"], city["district_name"], city["state"]) == (
        "Agra Nagar Nigam",
        "Agra",
        "UP",
    )
    again = upload("agra")  # an existing city needs no place; the same file stores nothing new
    assert again.status_code == 200, again.text  # type: ignore[attr-defined]
    assert again.json()["identical"] is True  # type: ignore[attr-defined]
    assert upload("agra", force="true").status_code == 201  # type: ignore[attr-defined]
    problem = expect_problem(upload("agra", state="UP", district="Lucknow"), 409)
    assert "Agra" in (problem.detail or "")


def test_nothing_in_the_code_is_filed_under_a_placeholder() -> None:
    root = Path(__file__).resolve().parents[2]
    hits = [
        str(p.relative_to(root))
        for p in (root / "app").rglob("*.py")
        if "unassigned" in p.read_text(encoding="utf-8").lower()
    ]
    assert hits == []


# -- the CLI (commits for real: its rows are deleted before and after) ---------------------------


@pytest.fixture
def clean_zz(migrated_engine: Engine) -> Iterator[None]:
    def wipe() -> None:
        with migrated_engine.begin() as connection:
            state = select(State.id).where(State.code == "ZZ")
            district = select(District.id).where(District.state_id.in_(state))
            city = select(City.id).where(City.district_id.in_(district))
            for kind, ids in (("city", city), ("district", district), ("state", state)):
                made = [str(i) for i in connection.scalars(ids)]
                connection.execute(
                    delete(AuditEvent).where(
                        AuditEvent.object_type == kind, AuditEvent.object_id.in_(made)
                    )
                )
            connection.execute(delete(City).where(City.district_id.in_(district)))
            connection.execute(delete(District).where(District.state_id.in_(state)))
            connection.execute(delete(State).where(State.code == "ZZ"))

    wipe()
    yield
    wipe()
    default_session_factory().kw["bind"].dispose()


def test_the_places_cli(clean_zz: None) -> None:
    def run(*args: str) -> str:
        done = runner.invoke(cli, ["places", *args])
        assert done.exit_code == 0, done.output
        return done.stdout

    run("add-state", "zz", "Zed State", "--lgd", "2000000001")
    run("add-district", "ZZ", "North Zed", "--lgd", "2000000002")
    run("add-city", "zz-one", "Zed One", "--state", "ZZ", "--district", "North Zed", "--cos", "7")
    run("add-city", "zz-two", "Zed Two", "--state", "ZZ", "--district", "South Zed")
    run("rename-district", "ZZ", "south-zed", "--name", "South Zed (new)")
    run("update-city", "zz-two", "--name", "Zed Two NN", "--cmms", "1")
    run("rename-state", "ZZ", "--name", "Zed")
    lines = run("list", "--state", "zz").splitlines()
    assert lines[1:] == [
        "ZZ\tZed\tnorth-zed\tNorth Zed\tzz-one\tZed One\t-\t7",
        "ZZ\tZed\tsouth-zed\tSouth Zed (new)\tzz-two\tZed Two NN\t-\t-",
    ]
    refused = runner.invoke(
        cli, ["places", "add-city", "zz-one", "Again", "--state", "ZZ", "--district", "North Zed"]
    )
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr or "taken" in refused.stderr
    missing = runner.invoke(cli, ["places", "add-district", "QQ", "Nowhere"])
    assert missing.exit_code == 2
    assert "no state 'QQ'" in missing.stderr
