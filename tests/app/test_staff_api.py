"""The city's staff over HTTP on the real PostGIS (Chandigarh's real wards, four COs, one plan
solved by a job). CMMs: a list stored, read back and replaced (those left out retired); bad rows
refused naming the line or item, field and value, storing nothing; who may write; and the
allocation order (XLSX read back, PDF text) printing the stored names and contacts. COs: the
roster's optional phone and e-mail stored, read back, refused when malformed, and printed in the
order's CO table."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import models
from app.db.models import AuditEvent, CityMissionManager, Organiser
from tests.app.apihelp import expect_problem, issue_key
from tests.app.planfix import planned_city
from tests.conftest import REPO
from tests.gis.pdfglyphs import pdf_text

CITY = "chandigarh-staff"
URL = f"/cities/{CITY}/cmms"
EXAMPLE = REPO / "examples" / "cmms.csv"


@dataclass
class City:
    client: TestClient
    factory: sessionmaker[Session]
    connection: Connection
    plan_id: int
    cmmu: dict[str, str]
    gis: dict[str, str]

    def stored(self) -> list[tuple[str, str, str | None, bool]]:
        rows = self.connection.execute(
            select(
                CityMissionManager.cmm_id,
                CityMissionManager.name,
                CityMissionManager.phone,
                CityMissionManager.active,
            ).order_by(CityMissionManager.cmm_id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def audits(self) -> int:
        query = select(func.count()).select_from(AuditEvent)
        return self.connection.execute(
            query.where(AuditEvent.action == "cmms.replace")
        ).scalar_one()


@pytest.fixture(scope="module")
def city(migrated_engine: Engine, shared_data: Path) -> Iterator[City]:
    """Chandigarh uploaded through the API, four COs, one plan solved by a job; rolled back."""
    with planned_city(migrated_engine, shared_data, CITY, keys="staff") as p:
        yield City(p.client, p.factory, p.connection, p.plan.id, p.cmmu, p.gis)


def _put(city: City, cmms: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Any:
    return city.client.put(URL, json={"cmms": cmms}, headers=headers or city.cmmu)


def _csv(city: City, text: str, name: str = "cmms.csv") -> Any:
    files = {"file": (name, text.encode(), "text/csv")}
    return city.client.post(URL, files=files, headers=city.cmmu)


def test_a_list_is_stored_read_back_and_replaced(city: City) -> None:
    first = [
        {"cmm_id": "CMM-1", "name": "Anita Singh", "phone": "+91 522 400 1001"},
        {"cmm_id": "CMM-2", "name": "Rakesh Yadav", "email": "cmm2@example.org"},
        {"cmm_id": "CMM-3", "name": "Farah Khan", "components": [7, 1]},
    ]
    answer = _put(city, first)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["stored"], answer.json()["retired"]) == (3, 0)
    listed = city.client.get(URL, headers=city.gis)  # every reader of the city sees them
    assert listed.status_code == 200, listed.text
    assert [(c["cmm_id"], c["name"]) for c in listed.json()] == [
        ("CMM-1", "Anita Singh"),
        ("CMM-2", "Rakesh Yadav"),
        ("CMM-3", "Farah Khan"),
    ]
    assert listed.json()[2]["components"] == [7, 1]
    assert listed.json()[0]["phone"] == "+91 522 400 1001"
    assert listed.json()[1]["email"] == "cmm2@example.org"

    # The CSV replaces the list: CMM-2 left out is retired (kept), CMM-3's phone changes.
    replaced = _csv(city, "cmm_id,name,phone\nCMM-3,Farah Khan,0522 400 1003\nCMM-1,Anita Singh,\n")
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["stored"], replaced.json()["retired"]) == (2, 1)
    assert [c["cmm_id"] for c in replaced.json()["cmms"]] == ["CMM-3", "CMM-1"]  # the file's order
    assert city.stored() == [
        ("CMM-1", "Anita Singh", None, True),
        ("CMM-2", "Rakesh Yadav", None, False),
        ("CMM-3", "Farah Khan", "0522 400 1003", True),
    ]
    everyone = city.client.get(URL, params={"include_retired": True}).json()
    assert [(c["cmm_id"], c["active"]) for c in everyone] == [
        ("CMM-3", True),
        ("CMM-1", True),
        ("CMM-2", False),
    ]


def test_bad_rows_are_refused_named_and_nothing_is_stored(city: City) -> None:
    assert _put(city, [{"cmm_id": "CMM-1", "name": "Anita Singh"}]).status_code == 200
    before, audits = city.stored(), city.audits()
    text = (
        "cmm_id,name,phone,email,components\n"
        "CMM-1,Anita Singh,+91 522 400 1001,,1 2\n"
        "CMM-2,Rakesh Yadav,call me,,\n"
        "CMM-3,Farah Khan,,farah.example.org,9\n"
        "CMM-1,,,,2\n"
    )
    problem = expect_problem(_csv(city, text, "staff.csv"), 422)
    found = {(i.field, i.value, (i.message or "").split(":")[0]) for i in problem.errors}
    assert ("phone", "call me", "line 3") in found
    assert ("email", "farah.example.org", "line 4") in found
    assert ("components", "9", "line 4") in found
    assert ("cmm_id", "CMM-1", "line 5") in found  # the same id twice
    assert ("name", "", "line 5") in found
    assert ("components", "2", "line 5") in found  # component 2 is CMM-1's already
    assert all(i.file == "staff.csv" for i in problem.errors)
    assert city.stored() == before
    assert city.audits() == audits

    json_bad = _put(city, [{"cmm_id": "CMM-9", "name": "X", "email": "not-mail"}])
    issue = expect_problem(json_bad, 422).errors[0]
    assert (issue.field, issue.value) == ("email", "not-mail")
    assert (issue.message or "").startswith("cmms[0]: ")
    missing = expect_problem(_csv(city, "name,phone\nAnita,\n"), 422)
    assert "missing column(s): cmm_id" in (missing.errors[0].message or "")
    assert city.stored() == before
    assert city.audits() == audits


def test_only_the_cmmu_and_admin_write(city: City) -> None:
    before = city.stored()
    body = [{"cmm_id": "CMM-7", "name": "Seven"}]
    assert expect_problem(_put(city, body, city.gis), 403).type == "/problems/forbidden"
    client = issue_key(city.factory, "staff-client", "api_client")
    assert _put(city, body, client).status_code == 403
    anonymous = city.client.put(URL, json={"cmms": body}, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert city.stored() == before
    admin = issue_key(city.factory, "staff-admin", "admin")
    assert _put(city, body, admin).status_code == 200


def _order_sheet(city: City) -> list[list[Any]]:
    url = f"/cities/{CITY}/plans/{city.plan_id}/allocation-order.xlsx"
    book = city.client.get(url)
    assert book.status_code == 200, book.text
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_allocation_order_prints_the_stored_cmms(city: City, tmp_path: Path) -> None:
    stored = city.client.post(
        URL, files={"file": ("cmms.csv", EXAMPLE.read_bytes(), "text/csv")}, headers=city.cmmu
    )
    assert stored.status_code == 200, stored.text
    lines = _order_sheet(city)
    cmm_rows = [r for r in lines if str(r[0]).startswith("CMM ")]
    assert [r[0] for r in cmm_rows] == ["CMM 1", "CMM 2", "CMM 3"]  # the letter's rule for three
    assert cmm_rows[0][3:5] == [
        "Anita Singh / अनीता सिंह (CMM-1)",
        "+91 522 400 1001, cmm1@example.org",
    ]
    assert cmm_rows[1][3:5] == ["Rakesh Yadav (CMM-2)", "+91 522 400 1002"]
    assert cmm_rows[2][3:5] == ["Farah Khan (CMM-3)", "cmm3@example.org"]
    assert cmm_rows[2][2] == "MIS and monitoring & evaluation / एम०आई०एस० एण्ड एम०ई०"

    pdf = city.client.get(f"/cities/{CITY}/plans/{city.plan_id}/allocation-order.pdf")
    assert pdf.status_code == 200
    path = tmp_path / "order.pdf"
    path.write_bytes(pdf.content)
    text = pdf_text(path)
    for shown in ("Anita Singh / अनीता सिंह", "(CMM-1)", "Rakesh Yadav (CMM-2)", "+91 522 400 1002"):
        assert shown in text, shown
    assert "Name / नाम:" not in text  # no blank name to fill in: every CMM is named

    # Components chosen by the CMMU replace the letter's rule.
    chosen = [
        {"cmm_id": "CMM-1", "name": "Anita Singh", "components": [7]},
        {"cmm_id": "CMM-2", "name": "Rakesh Yadav", "components": [1, 2, 3, 4, 5, 6]},
    ]
    assert _put(city, chosen).status_code == 200
    cmm_rows = [r for r in _order_sheet(city) if str(r[0]).startswith("CMM ")]
    assert [r[3] for r in cmm_rows] == ["Anita Singh (CMM-1)", "Rakesh Yadav (CMM-2)"]
    assert str(cmm_rows[0][2]).startswith("MIS and monitoring & evaluation")
    assert str(cmm_rows[1][2]).count("; ") == 5


ROSTER = "/cities/" + CITY + "/organisers"
HOME_WARDS = ("1", "8", "15", "22")


def _roster(city: City, text: str, name: str = "organisers.csv") -> Any:
    files = {"file": (name, text.encode(), "text/csv")}
    return city.client.post(ROSTER, files=files, headers=city.gis)


def _co_contacts(city: City) -> dict[str, tuple[str | None, str | None]]:
    rows = city.connection.execute(
        select(Organiser.organiser_id, Organiser.phone, Organiser.email)
        .join(Organiser.city)
        .where(models.City.code == CITY, Organiser.active)
    )
    return {oid: (phone, email) for oid, phone, email in rows}


def test_the_roster_keeps_each_cos_contact_and_the_order_prints_it(
    city: City, tmp_path: Path
) -> None:
    contacts = {
        "CO-1": ("+91 172 270 0001", "co1@example.org"),
        "CO-2": ("0172-2700002", ""),
        "CO-3": ("", ""),
        "CO-4": ("", "co4@example.org"),
    }
    text = "organiser_id,name,home_ward,phone,email\n" + "".join(
        f"{co},CO {k},{w},{contacts[co][0]},{contacts[co][1]}\n"
        for k, (co, w) in enumerate(zip(contacts, HOME_WARDS, strict=True), start=1)
    )
    stored = _roster(city, text)
    assert stored.status_code == 201, stored.text
    expected = {co: (p or None, e or None) for co, (p, e) in contacts.items()}
    answered = {o["organiser_id"]: (o["phone"], o["email"]) for o in stored.json()["organisers"]}
    assert answered == expected
    listed = city.client.get(ROSTER, headers=city.gis)
    assert listed.status_code == 200, listed.text
    assert {o["organiser_id"]: (o["phone"], o["email"]) for o in listed.json()} == expected
    assert _co_contacts(city) == expected

    # A malformed phone: the whole file refused, naming the file, line, field and value.
    bad = text.replace("0172-2700002", "ask at the office").replace("co4@", "new4@")
    problem = expect_problem(_roster(city, bad, "roster.csv"), 422)
    assert [(i.file, i.field, i.value) for i in problem.errors] == [
        ("roster.csv", "phone", "ask at the office")
    ]
    assert (problem.errors[0].message or "").startswith("line 3: ")
    assert _co_contacts(city) == expected  # nothing stored, not even CO-4's new e-mail

    # The allocation order's CO table: the XLSX's last column, and under the name in the PDF.
    lines = _order_sheet(city)
    head = next(k for k, r in enumerate(lines) if r[0] == "S. No.")
    assert lines[head][6] == "CO's phone, e-mail"
    table = {str(r[1]).split("(")[-1].rstrip(")"): r for r in lines[head + 2 :]}
    assert table["CO-1"][6] == "+91 172 270 0001, co1@example.org"
    assert table["CO-2"][6] == "0172-2700002"
    assert table["CO-3"][6] is None
    assert table["CO-4"][6] == "co4@example.org"
    pdf = city.client.get(f"/cities/{CITY}/plans/{city.plan_id}/allocation-order.pdf")
    assert pdf.status_code == 200
    path = tmp_path / "order.pdf"
    path.write_bytes(pdf.content)
    shown = pdf_text(path)
    assert "+91 172 270 0001" in shown
    assert "0172-2700002" in shown


def test_one_cmm_is_put_alone_and_the_others_are_kept(city: City) -> None:
    two = [
        {"cmm_id": "CMM-1", "name": "Anita Singh", "components": [1]},
        {"cmm_id": "CMM-2", "name": "Rakesh Yadav"},
    ]
    assert _put(city, two).status_code == 200

    def one(cmm_id: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return city.client.put(f"{URL}/{cmm_id}", json=body, headers=headers or city.cmmu)

    changed = one("CMM-2", {"name": "Rakesh Yadav", "phone": "+91 522 400 1002"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["cmm_id"], changed.json()["phone"]) == ("CMM-2", "+91 522 400 1002")
    added = one("CMM-4", {"name": "Meera Das", "email": "cmm4@example.org", "components": [3]})
    assert added.status_code == 200, added.text
    listed = city.client.get(URL).json()
    assert [(c["cmm_id"], c["phone"], c["components"]) for c in listed] == [
        ("CMM-1", None, [1]),  # kept as it was
        ("CMM-2", "+91 522 400 1002", None),
        ("CMM-4", None, [3]),  # a new one joins the end
    ]

    before = city.stored()
    taken = expect_problem(one("CMM-4", {"name": "Meera Das", "components": [1]}), 422)
    issue = next(i for i in taken.errors if i.field == "components")
    assert issue.value == "1"  # component 1 is CMM-1's
    bad = expect_problem(one("CMM-5", {"name": "Five", "email": "five-at-office"}), 422)
    assert (bad.errors[0].field, bad.errors[0].value) == ("email", "five-at-office")
    assert "cmm CMM-5" in (bad.errors[0].message or "")
    assert one("CMM-5", {"name": "Five"}, city.gis).status_code == 403
    assert city.stored() == before  # nothing stored by a refused or forbidden PUT
