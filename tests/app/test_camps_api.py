"""Registration camps over the API on the real PostGIS (issue 17): Lucknow's real ward file and
census table uploaded through the API, a camp request (a queued job, run here as a worker runs
it), the stored plan read back, approved by the CMMU, and its CSV, iCalendar file, map and PDFs
downloaded; role refusals; bad input refused naming the field and value, storing nothing; and a
re-plan with the city's stored community centres as venues, stored as version 2 of version 1.

Everything runs on one connection inside a transaction rolled back at the end of the module.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas.camps import CampJobOut, CampPlanOut
from app.db.models import AuditEvent, CampPlan, CampWard, SolveJob
from gis.adjacency import build_adjacency
from gis.camps import illustrative_venues, write_venues_csv
from gis.io import read_ward_layer
from solver.graph import is_connected
from tests.app.apihelp import expect_problem, issue_key, make_app, run_job_here, upload_lucknow
from tests.gis.pdfglyphs import pdf_text

pytestmark = pytest.mark.slow

START, END = date(2027, 4, 1), date(2027, 5, 15)
HOLIDAY = date(2027, 4, 14)
FORM = {
    "start": START.isoformat(),
    "end": END.isoformat(),
    "no_camp_weekdays": "sun",
    "holidays": HOLIDAY.isoformat(),
    "teams": "2",
    "per_camp_per_day": "300",
    "registrant_share": "0.1",
    "time_limit": "15",
}


@dataclass
class Camps:
    client: TestClient
    connection: Connection
    factory: sessionmaker[Session]
    keys: dict[str, dict[str, str]]
    venues_csv: bytes
    neighbours: dict[str, set[str]]
    job: CampJobOut
    plan: CampPlanOut


def _venues_csv(raw: Path, folder: Path) -> tuple[bytes, dict[str, set[str]]]:
    """Illustrative venues (one per ward, some limited or closed) and the wards' neighbours."""
    wards = read_ward_layer(raw, exclude_ids=["0"]).wards
    venues = illustrative_venues(wards, start=START, end=END)
    path = write_venues_csv(venues, folder / "venues.csv")
    adjacency = build_adjacency(wards)
    ids = [str(w) for w in wards["ward_id"]]
    neighbours: dict[str, set[str]] = {w: set() for w in ids}
    for a, b in adjacency.edges:
        neighbours[ids[a]].add(ids[b])
        neighbours[ids[b]].add(ids[a])
    return path.read_bytes(), neighbours


def request_camps(
    client: TestClient, headers: dict[str, str], venues: bytes | None, **form: str
) -> Any:
    files = None if venues is None else {"venues": ("venues.csv", venues, "text/csv")}
    return client.post("/cities/lucknow/camps", data={**FORM, **form}, files=files, headers=headers)


def run_to_plan(
    client: TestClient, factory: sessionmaker[Session], made: Any
) -> tuple[CampJobOut, CampPlanOut]:
    """A 202 camp request run as a worker runs it; the finished job and its stored plan."""
    assert made.status_code == 202, made.text
    job = CampJobOut.model_validate(made.json())
    assert made.headers["location"] == job.url
    assert (job.status, job.camp_plan_url) == ("queued", None)
    run_job_here(factory, job.id)
    done = CampJobOut.model_validate(client.get(job.url).json())
    assert done.status == "succeeded", done.error
    assert done.camp_plan_url is not None
    got = client.get(done.camp_plan_url)
    assert got.status_code == 200, got.text
    return done, CampPlanOut.model_validate(got.json())


@pytest.fixture(scope="module")
def camps(
    migrated_engine: Engine,
    lucknow_files: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Camps]:
    venues_csv, neighbours = _venues_csv(lucknow_files["raw"], tmp_path_factory.mktemp("venues"))
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            keys = {
                role: issue_key(factory, f"camps-{role}", role, None if role == "api_client" else "lucknow")
                for role in ("gis", "cmmu", "api_client")
            }  # fmt: skip
            admin = issue_key(factory, "camps-admin", "admin")
            with TestClient(make_app(factory), headers=admin) as client:
                uploaded = upload_lucknow(client, "lucknow", lucknow_files, exclude="0")
                assert uploaded.status_code == 201, uploaded.text
                made = request_camps(client, keys["gis"], venues_csv)
                job, plan = run_to_plan(client, factory, made)
                yield Camps(client, connection, factory, keys, venues_csv, neighbours, job, plan)
        finally:
            outer.rollback()


def test_the_camp_plan_covers_every_ward_within_the_window(camps: Camps) -> None:
    plan = camps.plan
    assert (plan.city, plan.version, plan.parent_id) == ("lucknow", 1, None)
    assert plan.status in ("optimal", "feasible")
    assert plan.verified
    assert plan.camps_count == len(plan.camps) >= 1
    assert plan.camps_bound is not None
    assert plan.camps_bound <= len(plan.camps)
    if plan.status == "feasible":
        assert plan.gap is not None
        assert "gap" in plan.describe
    wards = [w for c in plan.camps for w in c.ward_ids]
    assert len(wards) == len(set(wards)) == 110
    per_day: Counter[date] = Counter()
    for camp in plan.camps:
        assert camp.dates, camp
        for day in camp.dates:
            assert START <= day <= END
            assert day.weekday() != 6
            assert day != HOLIDAY
            per_day[day] += 1
        assert camp.expected_registrants <= camp.capacity_per_day * len(camp.dates) + 1e-6
        # contiguity, checked here from the layer's own adjacency, not the solver's check
        assert is_connected(set(camp.ward_ids), camps.neighbours), camp.camp_id
        assert camp.venue_ward_id in camp.ward_ids
    assert max(per_day.values()) <= 2
    stored = camps.connection.execute(
        select(func.count()).select_from(CampWard).where(CampWard.camp_plan_id == plan.id)
    ).scalar_one()
    assert stored == 110
    listed = camps.client.get("/cities/lucknow/jobs", headers=camps.keys["cmmu"]).json()
    assert [j["kind"] for j in listed if j["id"] == camps.job.id] == ["camps"]


def test_downloads_csv_calendar_map_and_sheets(camps: Camps) -> None:
    plan, client = camps.plan, camps.client
    assert set(plan.files) == {
        "camps.csv", "camps.ics", "camps-map.html", "camp-schedule.pdf", "camp-notices.pdf"
    }  # fmt: skip
    got = {
        name: client.get(url, headers=camps.keys["api_client"]) for name, url in plan.files.items()
    }
    for name, response in got.items():
        assert response.status_code == 200, (name, response.text[:300])
    rows = list(csv.DictReader(io.StringIO(got["camps.csv"].content.decode("utf-8"))))
    assert sorted(r["camp_id"] for r in rows) == sorted(c.camp_id for c in plan.camps)
    calendar = icalendar.Calendar.from_ical(got["camps.ics"].content)
    events = list(calendar.walk("VEVENT"))
    assert sorted(e.decoded("DTSTART").date() for e in events) == sorted(
        d for c in plan.camps for d in c.dates
    )
    html = got["camps-map.html"].text
    assert all(c.camp_id in html for c in plan.camps)
    assert "leaflet" in html.lower()
    for name in ("camp-schedule.pdf", "camp-notices.pdf"):
        assert got[name].content.startswith(b"%PDF")


def test_the_sheets_carry_hindi_and_each_camp(camps: Camps, tmp_path: Path) -> None:
    for name in ("camp-schedule.pdf", "camp-notices.pdf"):
        pdf = tmp_path / name
        pdf.write_bytes(camps.client.get(camps.plan.files[name]).content)
        text = pdf_text(pdf)
        assert "शिविर" in text, name
        first = camps.plan.camps[0]
        assert first.venue_name in text, name


def test_roles_create_approve_and_read(camps: Camps) -> None:
    client, keys, plan = camps.client, camps.keys, camps.plan
    refused = request_camps(client, keys["api_client"], camps.venues_csv)
    assert expect_problem(refused, 403).title == "not allowed for this key"
    other = issue_key(camps.factory, "camps-gis-elsewhere", "gis", "kanpur")
    expect_problem(request_camps(client, other, camps.venues_csv), 404)
    expect_problem(client.get(plan.url, headers=other), 404)
    approve = f"{plan.url}/approve"
    expect_problem(client.post(approve, headers=keys["gis"]), 403)
    expect_problem(client.post(approve, headers=keys["api_client"]), 403)
    approved = client.post(approve, headers=keys["cmmu"])
    assert approved.status_code == 200, approved.text
    body = CampPlanOut.model_validate(approved.json())
    assert body.approved_by == "camps-cmmu"
    assert body.approved_at is not None
    again = CampPlanOut.model_validate(client.get(plan.url, headers=keys["api_client"]).json())
    assert again.approved_by == "camps-cmmu"


def _stored(connection: Connection) -> tuple[int, int, int]:
    return (
        connection.execute(select(func.count()).select_from(SolveJob)).scalar_one(),
        connection.execute(select(func.count()).select_from(CampPlan)).scalar_one(),
        connection.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "camps.request")
        ).scalar_one(),
    )


@pytest.mark.parametrize(
    ("form", "venues", "field", "value", "words"),
    [
        ({"end": "2027-03-01"}, True, "end", "2027-03-01", "before it starts"),
        ({"end": "15/05/2027"}, True, "end", "15/05/2027", "date"),
        ({"teams": "0"}, True, "teams", "0", "greater than or equal to 1"),
        ({"no_camp_weekdays": "sunday,funday"}, True, "no_camp_weekdays", "sunday,funday", "weekdays"),
        ({"holidays": "2027-04-31"}, True, "holidays", "2027-04-31", "dates like"),
        ({"hours": "17:00-10:00"}, True, "hours", "17:00-10:00", "before they start"),
        ({"registrant_basis": "voters"}, True, "registrant_basis", "voters", "poor-households"),
        ({"time_limit": "99999"}, True, "time_limit", "99999", "at most"),
        ({"replaces": "987654"}, True, "replaces", "987654", "no camp plan 987654"),
        ({"end": "2027-04-02", "teams": "1"}, True, "end", "2027-04-01–2027-04-02, 1 team(s)", "camp-days"),
        ({}, False, "venues", "", "community centres"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(
    camps: Camps, form: dict[str, str], venues: bool, field: str, value: str, words: str
) -> None:
    before = _stored(camps.connection)
    body = camps.venues_csv if venues else None
    problem = expect_problem(request_camps(camps.client, camps.keys["gis"], body, **form), 422)
    # fields the form's own validation refuses are named as FastAPI locates them (body.<field>)
    named = {field, f"body.{field}"}
    assert any(e.field in named and e.value == value for e in problem.errors), problem
    assert words in (problem.detail + " ".join(e.message for e in problem.errors)), problem
    assert _stored(camps.connection) == before


def test_a_bad_venue_line_is_refused_with_its_line_field_and_value(camps: Camps) -> None:
    lines = camps.venues_csv.decode("utf-8").splitlines()
    cells = lines[3].split(",")
    cells[2] = "north"  # lat
    lines[3] = ",".join(cells)
    before = _stored(camps.connection)
    bad = "\n".join(lines).encode("utf-8")
    problem = expect_problem(request_camps(camps.client, camps.keys["gis"], bad), 422)
    issue = next(e for e in problem.errors if e.value == "north")
    assert issue.field == "lat"
    assert issue.file == "venues.csv"
    assert "line 4" in issue.message
    for name, body, status in (
        ("venues.geojson", b"{}", 400),  # not a readable GIS file: refused, naming it
        ("venues.docx", b"PK\x03\x04", 400),  # neither a CSV nor a GIS point file
    ):
        problem = expect_problem(
            camps.client.post(
                "/cities/lucknow/camps",
                data=FORM,
                files={"venues": (name, body, "application/octet-stream")},
                headers=camps.keys["gis"],
            ),
            status,
        )
        assert name in problem.detail + " ".join(str(e.file) for e in problem.errors)
    assert _stored(camps.connection) == before


def test_venues_as_a_gis_point_file(camps: Camps) -> None:
    """The same venues as GeoJSON points (read in the parsing sandbox) make the same candidates."""
    rows = list(csv.DictReader(io.StringIO(camps.venues_csv.decode("utf-8"))))
    points = gpd.GeoDataFrame(
        {k: [r[k] for r in rows] for k in rows[0] if k not in ("lat", "lon")},
        geometry=gpd.points_from_xy(
            [float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows]
        ),
        crs="EPSG:4326",
    )
    made = camps.client.post(
        "/cities/lucknow/camps",
        data=FORM,
        files={"venues": ("venues.geojson", points.to_json().encode(), "application/geo+json")},
        headers=camps.keys["gis"],
    )
    assert made.status_code == 202, made.text
    job = CampJobOut.model_validate(made.json())
    assert job.request["venue_source"] == "venues.geojson"
    assert [v["name"] for v in job.request["venues"]] == [r["name"] for r in rows]
    cancelled = camps.client.post(job.cancel_url, headers=camps.keys["cmmu"])
    assert cancelled.json()["status"] == "cancelled"


def test_registrants_from_a_ward_table(camps: Camps, lucknow_files: dict[str, Path]) -> None:
    """A ward table (built from the census table: 2.5 % of households, ward numbers written
    "Ward 07") replaces the share of the estimate; a bad row is refused naming line and value."""
    lines = [
        x
        for x in lucknow_files["census"].read_text(encoding="utf-8").splitlines()
        if not x.startswith("#")
    ]
    census = list(csv.DictReader(lines))
    table = "ward,workers\n" + "".join(
        f"Ward {int(r['census_ward_no']):02d},{int(r['households']) // 40}\n" for r in census
    )

    def ask(data: str) -> Any:
        return camps.client.post(
            "/cities/lucknow/camps",
            data=FORM,
            files={
                "venues": ("venues.csv", camps.venues_csv, "text/csv"),
                "ward_table": ("workers.csv", data.encode(), "text/csv"),
            },
            headers=camps.keys["gis"],
        )

    before = _stored(camps.connection)
    bad = table.replace(",", ",-", 2).replace("ward,-workers", "ward,workers")
    problem = expect_problem(ask(bad), 422)
    assert any(e.field == "workers" and "line 2" in e.message for e in problem.errors), problem
    assert _stored(camps.connection) == before
    made = ask(table)
    assert made.status_code == 202, made.text
    job = CampJobOut.model_validate(made.json())
    registrants = job.request["registrants"]
    assert (registrants["basis"], registrants["column"]) == ("ward-table", "workers")
    expected = {str(int(r["census_ward_no"])): int(r["households"]) // 40 for r in census}
    assert registrants["by_ward"] == expected
    assert any("not exact" in n for n in job.request["notes"])
    cancelled = camps.client.post(job.cancel_url, headers=camps.keys["cmmu"])
    assert cancelled.json()["status"] == "cancelled"


def test_a_replan_with_the_stored_centres_is_version_2_of_version_1(camps: Camps) -> None:
    """No venues file: the city's community centres are the venues; the new plan replaces v1."""
    client, keys, v1 = camps.client, camps.keys, camps.plan
    rows = list(csv.DictReader(io.StringIO(camps.venues_csv.decode("utf-8"))))
    centres = "name,lat,lon\n" + "".join(f"{r['name']},{r['lat']},{r['lon']}\n" for r in rows)
    imported = client.post(
        "/cities/lucknow/community-centres",
        files={"file": ("centres.csv", centres.encode(), "text/csv")},
        headers=keys["gis"],
    )
    assert imported.status_code == 201, imported.text
    made = request_camps(client, keys["cmmu"], None, replaces=str(v1.id), time_limit="10")
    job, v2 = run_to_plan(client, camps.factory, made)
    assert job.request["venue_source"] == "community centres"
    assert (v2.version, v2.parent_id) == (2, v1.id)
    assert v2.verified
    assert all(c.venue_id.startswith("CC-") for c in v2.camps)
    listed = client.get("/cities/lucknow/camps", headers=keys["api_client"])
    assert [p["version"] for p in listed.json()] == [2, 1]
    assert client.post(f"{v2.url}/approve", headers=keys["cmmu"]).status_code == 200
    v1_now = CampPlanOut.model_validate(client.get(v1.url).json())
    assert v1_now.approved_at is None  # approving v2 withdrew v1's approval
    expect_problem(client.get(f"{v2.url}/camps.zip"), 404)
    expect_problem(client.get("/cities/lucknow/camps/987654"), 404)
