"""Printable sheets over HTTP on the real PostGIS: Lucknow uploaded, planned, printed, approved.

Like ``test_api_flow``, the plan is made once for the module on its own connection, inside a
transaction rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine

from app.api.schemas import PlanOut
from tests.app.apihelp import expect_problem
from tests.app.lucknow import lucknow_planned
from tests.gis.pdfglyphs import pdf_text, render_png

pytestmark = pytest.mark.slow

A3 = (1190.55, 841.89)
A4 = (595.28, 841.89)


#: The layer's source and licence, as its uploader states them.
SOURCE, LICENCE = "Lucknow Municipal Corporation GIS cell", "CC BY 4.0"


@dataclass
class Printed:
    client: TestClient
    plan: PlanOut


@pytest.fixture(scope="module")
def lucknow(migrated_engine: Engine, lucknow_files: dict[str, Path]) -> Iterator[Printed]:
    form = {"exclude": "0", "source": SOURCE, "licence": LICENCE}
    with lucknow_planned(migrated_engine, lucknow_files, **form) as built:
        assert (built.uploaded["source"], built.uploaded["licence"]) == (SOURCE, LICENCE)
        yield Printed(built.client, built.plan)


def _save(tmp_path: Path, name: str, response: httpx2.Response) -> Path:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def _size(pdf: Path) -> tuple[float, float]:
    box = PdfReader(pdf).pages[0].mediabox
    return float(box.width), float(box.height)


def test_city_sheet_shows_every_co_then_the_approval(lucknow: Printed, tmp_path: Path) -> None:
    plan = lucknow.plan
    url = f"/cities/lucknow/plans/{plan.id}/sheet.pdf"
    draft = _save(tmp_path, "draft.pdf", lucknow.client.get(url))
    assert _size(draft) == pytest.approx(A3, abs=0.5)
    assert len(render_png(draft, tmp_path / "draft")) == 1
    text = " ".join(pdf_text(draft).split())
    assert f"Ward boundaries: {SOURCE} ({LICENCE})" in text  # the uploader's, stored with it
    assert "DataMeet" not in text  # no one else's credit
    assert "DRAFT — not approved" in text
    assert "poverty rate: 27.5 %" in text
    assert "balance asked: ±50.0 %" in text
    assert len(plan.areas) == 10
    for area in plan.areas:
        assert area.organiser_id in text
        assert f"{area.load:,.0f}" in text

    approved = lucknow.client.post(f"/cities/lucknow/plans/{plan.id}/approve")
    assert approved.status_code == 200, approved.text
    text = " ".join(pdf_text(_save(tmp_path, "ok.pdf", lucknow.client.get(url))).split())
    today = datetime.now(UTC).date().isoformat()
    assert f"APPROVED on {today} by tests-admin" in text  # the key's name
    assert "DRAFT" not in text


def test_co_sheet_lists_the_cos_wards(lucknow: Printed, tmp_path: Path) -> None:
    plan = lucknow.plan
    wards = lucknow.client.get(f"/cities/lucknow/plans/{plan.id}/wards.geojson").json()
    area = plan.areas[3]
    mine = [
        f["properties"]
        for f in wards["features"]
        if f["properties"]["organiser_id"] == area.organiser_id
    ]
    response = lucknow.client.get(
        f"/cities/lucknow/plans/{plan.id}/organisers/{area.organiser_id}/sheet.pdf"
    )
    pdf = _save(tmp_path, "co.pdf", response)
    assert len(PdfReader(pdf).pages) == 1
    assert _size(pdf) == pytest.approx(A4, abs=0.5)
    text = " ".join(pdf_text(pdf).split())
    assert area.organiser_id in text
    assert f"Wards: {len(mine)}" in text
    # what is missing, and how to add it (wrapped lines: -layout puts the next column between)
    assert "Contact point (community centre): none" in text
    assert "Add the city's community centres" in text, text[text.index("Contact") :][:600]
    assert "/cities/<city>/community-centres)" in text
    assert text.startswith("Lucknow — ")  # the city's name, not its code
    assert mine
    for ward in mine:
        assert ward["ward_id"] in text
        if ward["ward_name"]:
            assert ward["ward_name"] in text


def test_sheets_of_unknown_organisers_plans_and_cities_are_not_found(lucknow: Printed) -> None:
    plan = lucknow.plan
    client = lucknow.client
    problem = expect_problem(
        client.get(f"/cities/lucknow/plans/{plan.id}/organisers/CO-99/sheet.pdf"), 404
    )
    assert "CO-99" in problem.detail
    expect_problem(client.get(f"/cities/lucknow/plans/{plan.id + 1000}/sheet.pdf"), 404)
    expect_problem(client.get(f"/cities/kanpur/plans/{plan.id}/sheet.pdf"), 404)
