"""The state's figures (JSON, CSV, XLSX, the printable PDF) and the national roll-up, on the real
PostGIS: two planned cities (one approved, one draft) and one without a layer in state TS, and a
city of another state that a TS officer never sees."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import session_scope
from app.services import keys
from tests.app.apihelp import expect_problem, issue_key, make_app
from tests.app.plandata import HOME_WARDS, load_small_city

pytestmark = pytest.mark.slow


@dataclass
class Dash:
    admin: TestClient
    ts: dict[str, str]  # a TS state key's headers
    ot: dict[str, str]  # an OT state key's headers
    population: int  # Chandigarh's, from the file


@pytest.fixture(scope="module")
def dash(migrated_engine: Engine, shared_data: Path) -> Iterator[Dash]:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    population = sum(int(f["properties"]["population"]) for f in fc["features"])
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            with session_scope(factory) as session:
                load_small_city(session, shared_data, "chd-approved", approve=True)
                load_small_city(session, shared_data, "chd-draft", approve=False)
            admin = issue_key(factory, "dash-admin", "admin")
            with TestClient(make_app(factory), headers=admin) as client:
                assert client.patch("/cities/chd-approved", json={"cos_in_post": 2}).is_success
                made = client.post(
                    "/cities",
                    json={"code": "no-layer", "name": "No Layer", "state": "TS", "district": "Far"},
                )
                assert made.status_code == 201, made.text
                assert client.post("/states", json={"code": "OT", "name": "Other"}).is_success
                other = {"code": "ot-city", "name": "OT City", "state": "OT", "district": "D"}
                assert client.post("/cities", json=other).is_success
                yield Dash(
                    client,
                    _state_key(factory, "TS"),
                    _state_key(factory, "OT"),
                    population,
                )
        finally:
            outer.rollback()


def _state_key(factory: sessionmaker[Session], state: str) -> dict[str, str]:
    with session_scope(factory) as session:
        token = keys.issue(session, f"dash-{state.lower()}", "state", state=state).token
    return {"Authorization": f"Bearer {token}"}


def test_the_figures_per_city_and_rolled_up(dash: Dash) -> None:
    got = dash.admin.get("/states/TS/figures", headers=dash.ts)
    assert got.status_code == 200, got.text
    rows = {r["city"]: r for r in got.json()["cities"]}
    assert set(rows) == {"chd-approved", "chd-draft", "no-layer"}
    approved, draft, empty = rows["chd-approved"], rows["chd-draft"], rows["no-layer"]
    assert approved["population"] == dash.population
    for rate, column in ((0.25, "poor_households_25"), (0.30, "poor_households_30")):
        assert abs(approved[column] - dash.population * rate / 4.66) <= 1, column
    assert approved["cos_required_chosen"] == math.ceil(approved["poor_households_chosen"] / 3000)
    assert approved["cos_in_post"] == 2  # the city's own count
    assert draft["cos_in_post"] == len(HOME_WARDS)  # its active roster
    assert approved["shortfall"] == max(0, approved["cos_required_chosen"] - 2)
    assert (approved["plan_status"], draft["plan_status"], empty["plan_status"]) == (
        "approved",
        "draft",
        "none",
    )
    assert approved["plan_date"] is not None
    assert 0 <= approved["tightest_balance_pct"] <= 50  # planned at ±50 %
    assert approved["mean_km_from_home"] > 0
    assert empty["population"] is None
    assert empty["mean_km_from_home"] is None
    rollups = {(r["level"], r["name"]): r for r in got.json()["rollups"]}
    state = rollups[("state", "TS")]
    assert state["cities"] == 3
    assert (state["approved"], state["drafts"]) == (1, 1)
    assert state["sums"]["population"] == 2 * dash.population
    assert state["sums"]["cos_in_post"] == 2 + len(HOME_WARDS)
    assert rollups[("district", "Far")]["sums"]["population"] == 0


def test_csv_xlsx_and_the_printable_summary(dash: Dash) -> None:
    figures = dash.admin.get("/states/TS/figures").json()["cities"]
    text = dash.admin.get("/states/TS/figures.csv", headers=dash.ts).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["city"] for r in rows] == [f["city"] for f in figures]
    assert rows[0]["population"] == str(figures[0]["population"] or "")
    xlsx = dash.admin.get("/states/TS/figures.xlsx", headers=dash.ts)
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = [list(r) for r in book["cities"].iter_rows(values_only=True)]
    assert sheet[0][:3] == ["state", "district", "city"]
    assert [r[2] for r in sheet[1:]] == [f["city"] for f in figures]
    assert sheet[1][4] == figures[0]["population"]
    last = list(book["rollup"].iter_rows(values_only=True))[-1]
    assert list(last[:3]) == ["state", "TS", 3]
    pdf = dash.admin.get("/states/TS/summary.pdf", headers=dash.ts)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    words = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Test State (TS)",
        "Test District (district)",
        "Test State (state)",
        "Shortfall",
        "approved",
        f"{2 * dash.population:,}",
        "कमी",
    ):
        assert expected in words, expected


def test_a_state_key_sees_its_state_only_and_the_admin_the_nation(dash: Dash) -> None:
    for path in ("figures", "figures.csv", "figures.xlsx", "summary.pdf", "dashboard"):
        expect_problem(dash.admin.get(f"/states/TS/{path}", headers=dash.ot), 404)
    assert dash.admin.get("/states/OT/figures", headers=dash.ot).json()["cities"][0]["city"] == (
        "ot-city"
    )
    expect_problem(dash.admin.get("/national/figures", headers=dash.ts), 403)
    national = dash.admin.get("/national/figures").json()
    states = {s["name"]: s for s in national["states"]}
    assert {"TS", "OT"} <= set(states)
    (nation,) = national["nation"]
    assert nation["cities"] == sum(s["cities"] for s in national["states"])
    assert nation["sums"]["population"] == sum(s["sums"]["population"] for s in national["states"])
    assert states["TS"]["sums"]["population"] == 2 * dash.population
    # the same sums as a table, for the state mission's spreadsheets: a row per state, the nation
    expect_problem(dash.admin.get("/national/figures.csv", headers=dash.ts), 403)
    table = dash.admin.get("/national/figures.csv")
    assert table.headers["content-type"].startswith("text/csv")
    read = list(csv.DictReader(io.StringIO(table.text)))
    assert [(r["level"], r["name"]) for r in read] == [
        *(("state", s["name"]) for s in national["states"]),
        ("nation", ""),
    ]
    for r, s in zip(read, [*national["states"], nation], strict=True):
        assert int(r["cities"]) == s["cities"]
        assert {k: int(r[k]) for k in s["sums"]} == s["sums"]


def test_a_signed_link_opens_the_dashboard_its_downloads_and_plan_maps_without_a_key(
    dash: Dash,
) -> None:
    made = dash.admin.post("/states/TS/dashboard-link", headers=dash.ts)
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    path, query = url.split("?", 1)
    assert path == "/states/TS/dashboard"
    anon = TestClient(dash.admin.app)  # no key at all, as a browser
    expect_problem(anon.get("/states/TS/dashboard"), 401)
    opened = anon.get(url)
    assert opened.status_code == 200, opened.text
    page = opened.text
    for download in ("figures.csv", "figures.xlsx", "summary.pdf"):
        assert f'href="{download}?{query.replace("&", "&amp;")}"' in page
        assert anon.get(f"/states/TS/{download}?{query}").status_code == 200
    # the link is the server's own, for this state only, and cannot be changed
    expires, sig = (part.split("=", 1)[1] for part in query.split("&"))
    forged = "0" if sig[-1] != "0" else "1"
    expect_problem(anon.get(f"/states/TS/dashboard?expires={expires}&sig={sig[:-1]}{forged}"), 401)
    expect_problem(anon.get(f"/states/TS/dashboard?expires={int(expires) + 1}&sig={sig}"), 401)
    expect_problem(anon.get(f"/states/OT/dashboard?{query}"), 401)
    expect_problem(anon.get(f"/states/TS/figures?{query}"), 401)  # the JSON API needs a key
    # each planned city's name opens its plan map through a signed link, homes rounded
    embedded = page.split('<script id="figures" type="application/json">', 1)[1]
    data = json.loads(embedded.split("</script>", 1)[0])
    assert set(data["map_urls"]) == {"chd-approved", "chd-draft"}
    map_url = data["map_urls"]["chd-approved"]
    assert "homes=coarse" in map_url
    assert anon.get(map_url).status_code == 200
    # another state's key cannot ask for the link
    expect_problem(dash.admin.post("/states/TS/dashboard-link", headers=dash.ot), 404)
