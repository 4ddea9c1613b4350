"""The Lucknow flow over HTTP on the real PostGIS: upload → organisers → plan → outputs.

The flow takes a solve, so it is built once for this module on its own connection, inside a
transaction rolled back at the end of the module. It lives in its own module so that no other test
writes while that transaction holds its locks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import (
    FeatureCollection,
    LayerOut,
    OrganiserImport,
    OrganiserOut,
    PlanComparisonOut,
    PlanOut,
    RequirementOut,
)
from app.db.models import AuditEvent, City, Ward, WardLayer
from gis import hindi
from tests.app.apihelp import (
    PLACE_FORM,
    expect_problem,
    plan_through_job,
)
from tests.app.lucknow import lucknow_planned
from tests.gis.pdfglyphs import pdf_text

pytestmark = pytest.mark.slow


@dataclass
class Flow:
    client: TestClient
    layer: LayerOut
    organisers: OrganiserImport
    plan: PlanOut
    connection: Connection
    factory: sessionmaker[Session]


@pytest.fixture(scope="module")
def lucknow(migrated_engine: Engine, lucknow_files: dict[str, Path]) -> Iterator[Flow]:
    """Lucknow uploaded, 10 illustrative COs imported and one plan made; rolled back afterwards."""
    with lucknow_planned(migrated_engine, lucknow_files, exclude="0") as built:
        yield Flow(
            built.client,
            LayerOut.model_validate(built.uploaded),
            OrganiserImport.model_validate(built.imported),
            built.plan,
            built.connection,
            built.factory,
        )


def test_layer_upload_stores_a_version(lucknow: Flow) -> None:
    layer = lucknow.layer
    assert (layer.city, layer.version, layer.ward_count) == ("lucknow", 1, 110)
    assert layer.current
    assert any("Airport" in w for w in layer.warnings)
    assert len(layer.sha256) == 64

    listed = lucknow.client.get("/cities/lucknow/layers")
    assert listed.status_code == 200
    assert [LayerOut.model_validate(x).version for x in listed.json()] == [1]
    one = lucknow.client.get("/cities/lucknow/layers/1")
    assert LayerOut.model_validate(one.json()).ward_count == 110
    expect_problem(lucknow.client.get("/cities/lucknow/layers/7"), 404)

    stored = lucknow.connection.execute(
        select(func.count(), func.sum(Ward.population))
        .select_from(Ward)
        .join(WardLayer)
        .join(City, WardLayer.city_id == City.id)
        .where(City.code == "lucknow")
    ).one()
    assert stored[0] == 110
    assert stored[1] > 2_000_000


def test_layer_wards_are_paged_geojson(lucknow: Flow) -> None:
    client = lucknow.client
    first = FeatureCollection.model_validate(
        client.get("/cities/lucknow/layers/1/wards", params={"limit": 50}).json()
    )
    second = FeatureCollection.model_validate(
        client.get("/cities/lucknow/layers/1/wards", params={"limit": 50, "offset": 100}).json()
    )
    assert (first.numberMatched, first.numberReturned, second.numberReturned) == (110, 50, 10)
    ids = {f["properties"]["ward_id"] for f in first.features + second.features}
    assert len(ids) == 60
    assert first.features[0]["geometry"]["type"] == "MultiPolygon"

    expect_problem(client.get("/cities/lucknow/layers/1/wards", params={"limit": 100_000}), 422)
    bbox = client.get(
        "/cities/lucknow/layers/1/wards", params={"bbox": "80.90,26.83,80.95,26.87", "limit": 1000}
    )
    some = FeatureCollection.model_validate(bbox.json())
    assert 0 < (some.numberMatched or 0) < 110
    problem = expect_problem(
        client.get("/cities/lucknow/layers/1/wards", params={"bbox": "1,2,x"}), 422
    )
    assert problem.type == "/problems/bad-bbox"


# --- organisers, requirement and plans --------------------------------------------------------------


def test_organisers_import(lucknow: Flow) -> None:
    assert (lucknow.organisers.imported, lucknow.organisers.active) == (10, 10)
    listed = lucknow.client.get("/cities/lucknow/organisers")
    organisers = [OrganiserOut.model_validate(o) for o in listed.json()]
    assert [o.organiser_id for o in organisers] == [f"CO-{k:02d}" for k in range(1, 11)]
    # The client's admin key sees exact homes; other roles' views are in test_auth.py.
    assert all(o.home is not None and o.home_precision == "exact" for o in organisers)


def test_requirement(lucknow: Flow) -> None:
    response = lucknow.client.get("/cities/lucknow/requirement", params={"rate": 0.25})
    req = RequirementOut.model_validate(response.json())
    assert req.poor_households_at_25pct < req.poor_households_at_30pct
    assert req.organisers_required_at_25pct <= req.organisers_required_at_30pct
    assert req.organisers_in_post == 10
    assert req.shortfall == max(0, req.organisers_required - 10)
    expect_problem(lucknow.client.get("/cities/lucknow/requirement", params={"rate": 2}), 422)


def test_plan(lucknow: Flow) -> None:
    plan = lucknow.plan
    assert plan.status in ("optimal", "feasible")
    assert plan.check.passed, plan.check.violations
    assert plan.gap is not None
    assert len(plan.areas) == 10
    again = PlanOut.model_validate(lucknow.client.get(f"/cities/lucknow/plans/{plan.id}").json())
    assert again == plan


def test_plan_outputs(lucknow: Flow) -> None:
    client, plan_id = lucknow.client, lucknow.plan.id
    wards = client.get(f"/cities/lucknow/plans/{plan_id}/wards.geojson")
    assert wards.headers["content-type"].startswith("application/geo+json")
    ward_fc = FeatureCollection.model_validate(wards.json())
    assert len(ward_fc.features) == 110
    assert all(f["properties"]["organiser_id"] for f in ward_fc.features)

    areas = FeatureCollection.model_validate(
        client.get(f"/cities/lucknow/plans/{plan_id}/areas.geojson").json()
    )
    assert len(areas.features) == 10

    got = client.get(f"/cities/lucknow/plans/{plan_id}/assignment.csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert list(rows[0]) == ["ward_id", "organiser_id", "plan_id", "plan_version", "approval"]
    assert len({row["ward_id"] for row in rows}) == len(rows) == 110
    # the file says which plan it is, as every export does (issue 13)
    assert {(r["plan_id"], r["plan_version"], r["approval"]) for r in rows} == {
        (str(plan_id), "1", "DRAFT — not approved")
    }
    assert (
        f'filename="plan-{plan_id}-v1-draft-assignment.csv"' in got.headers["content-disposition"]
    )

    html = client.get(f"/cities/lucknow/plans/{plan_id}/map")
    assert html.headers["content-type"].startswith("text/html")
    for k in range(1, 11):
        assert f"CO-{k:02d}" in html.text


def test_another_citys_plan_is_not_found(lucknow: Flow) -> None:
    client, plan_id = lucknow.client, lucknow.plan.id
    for suffix in ("", "/wards.geojson", "/areas.geojson", "/assignment.csv", "/map"):
        expect_problem(client.get(f"/cities/kanpur/plans/{plan_id}{suffix}"), 404)
    expect_problem(client.get(f"/cities/lucknow/plans/{plan_id + 1000}"), 404)


def test_another_existing_citys_plan_is_not_found(lucknow: Flow, shared_data: Path) -> None:
    client = lucknow.client
    wards = shared_data / "chandigarh" / "wards.geojson"
    with wards.open("rb") as fh:
        created = client.post(
            "/cities/chandigarh/layers", files={"file": (wards.name, fh)}, data=PLACE_FORM
        )
    assert created.status_code == 201, created.text
    expect_problem(client.get(f"/cities/chandigarh/plans/{lucknow.plan.id}"), 404)
    expect_problem(client.get(f"/cities/chandigarh/plans/{lucknow.plan.id}/map"), 404)


def _assignment(client: TestClient, plan_id: int) -> dict[str, str]:
    text = client.get(f"/cities/lucknow/plans/{plan_id}/assignment.csv").text
    return {row["ward_id"]: row["organiser_id"] for row in csv.DictReader(io.StringIO(text))}


def test_compare_and_approve(lucknow: Flow, tmp_path: Path) -> None:
    client, first = lucknow.client, lucknow.plan.id
    _, second = plan_through_job(
        client, lucknow.factory, "lucknow", {"tolerance": 0.3, "time_limit": 10}
    )
    assert second.status in ("optimal", "feasible")

    diff = PlanComparisonOut.model_validate(
        client.get(f"/cities/lucknow/plans/{first}/compare/{second.id}").json()
    )
    a, b = _assignment(client, first), _assignment(client, second.id)
    expected = sorted(w for w in a if a[w] != b[w])
    assert sorted(c.ward_id for c in diff.changed) == expected
    assert all(
        c.organiser_a == a[c.ward_id] and c.organiser_b == b[c.ward_id] for c in diff.changed
    )
    assert diff.unchanged == 110 - len(expected)
    expect_problem(client.get(f"/cities/kanpur/plans/{first}/compare/{second.id}"), 404)
    page = client.get(f"/cities/lucknow/plans/{first}/compare/{second.id}/map")
    assert page.status_code == 200, page.text
    assert page.text.count('"changed": true') == len(expected)
    assert page.text.count('"changed": false') == 110 - len(expected)
    assert "/static/" not in page.text  # assets inlined: the saved file works offline
    assert "leaflet" in page.text.lower()

    draft_map = client.get(f"/cities/lucknow/plans/{first}/map").text
    assert "DRAFT — not approved" in draft_map
    assert "APPROVED" not in draft_map
    approved = PlanOut.model_validate(client.post(f"/cities/lucknow/plans/{first}/approve").json())
    assert approved.approved_at is not None
    assert approved.approved_by
    approved_map = client.get(f"/cities/lucknow/plans/{first}/map").text  # not the cached draft
    assert f"APPROVED on {approved.approved_at.date().isoformat()}" in approved_map
    assert "DRAFT" not in approved_map
    # …and on the areas in GeoJSON (and so in the GPKG, KML and shapefile downloads).
    areas = client.get(f"/cities/lucknow/plans/{first}/areas.geojson").json()["features"]
    assert {f["properties"]["approval"] for f in areas} == {
        f"APPROVED on {approved.approved_at.date().isoformat()} by {approved.approved_by}"
    }
    gpkg = tmp_path / "plan.gpkg"
    gpkg.write_bytes(client.get(f"/cities/lucknow/plans/{first}/plan.gpkg").content)
    assert set(pyogrio.read_dataframe(gpkg, layer="plan_areas")["approval"]) == {
        f"APPROVED on {approved.approved_at.date().isoformat()} by {approved.approved_by}"
    }
    # approving the second withdraws the first
    client.post(f"/cities/lucknow/plans/{second.id}/approve").raise_for_status()
    assert PlanOut.model_validate(
        client.get(f"/cities/lucknow/plans/{second.id}").json()
    ).approved_at
    assert (
        PlanOut.model_validate(client.get(f"/cities/lucknow/plans/{first}").json()).approved_at
        is None
    )
    expect_problem(client.post(f"/cities/kanpur/plans/{first}/approve"), 404)
    actions = [
        a
        for (a,) in lucknow.connection.execute(
            select(AuditEvent.action).where(AuditEvent.action.like("plan.%"))
        )
    ]
    assert actions.count("plan.approve") == 2
    assert actions.count("plan.approval_withdrawn") == 1
    assert actions.count("plan.create") == 2


def test_add_edit_and_retire_one_organiser(lucknow: Flow) -> None:
    client = lucknow.client
    ward = client.get("/cities/lucknow/organisers").json()[0]["home_ward"]
    url = "/cities/lucknow/organisers/CO-NEW"
    added = client.put(url, json={"name": "New CO", "home_ward": ward})
    assert added.status_code == 201, added.text
    assert OrganiserOut.model_validate(added.json()).active
    renamed = client.put(url, json={"name": "नई संगठक", "lat": 26.85, "lon": 80.95})
    assert renamed.status_code == 200, renamed.text
    out = OrganiserOut.model_validate(renamed.json())
    assert out.name == "नई संगठक"
    assert out.home is not None
    assert (out.home.lat, out.home.lon) == (26.85, 80.95)
    # Checked as an import's row is: a home far outside Lucknow is refused, nothing changes.
    far = client.put(url, json={"name": "Far", "lat": 19.07, "lon": 72.87})
    assert expect_problem(far, 422).status == 422
    listed = {o["organiser_id"]: o for o in client.get("/cities/lucknow/organisers").json()}
    assert listed["CO-NEW"]["name"] == "नई संगठक"

    retired = client.delete(url)
    assert retired.status_code == 200, retired.text
    assert not OrganiserOut.model_validate(retired.json()).active
    assert "CO-NEW" not in {
        o["organiser_id"] for o in client.get("/cities/lucknow/organisers").json()
    }
    expect_problem(client.delete("/cities/lucknow/organisers/CO-NOBODY"), 404)
    actions = [
        a
        for (a,) in lucknow.connection.execute(
            select(AuditEvent.action).where(AuditEvent.object_id == "CO-NEW")
        )
    ]
    assert actions == ["organiser.add", "organiser.edit", "organiser.retire"]


def test_community_centres_on_the_map_and_the_co_sheet(lucknow: Flow, tmp_path: Path) -> None:
    """The letter's contact points: imported by the GIS cell, shown on the map with the CO whose
    area holds each, and named on that CO's sheet."""
    client, plan_id = lucknow.client, lucknow.plan.id
    wards = client.get(f"/cities/lucknow/plans/{plan_id}/wards.geojson").json()["features"]
    first, second = wards[0], wards[40]
    points = [shape(f["geometry"]).representative_point() for f in (first, second)]
    rows = ["name,lat,lon"] + [
        f"Centre <b>{i}</b> केंद्र,{p.y},{p.x}" for i, p in enumerate(points, start=1)
    ]
    bad = [*rows, "Mumbai centre,19.07,72.87"]
    refused = client.post(
        "/cities/lucknow/community-centres",
        files={"file": ("centres.csv", "\n".join(bad).encode(), "text/csv")},
    )
    problem = expect_problem(refused, 422)
    assert problem.errors[0].code == "outside-city"
    assert client.get("/cities/lucknow/community-centres").json() == []  # all or nothing

    made = client.post(
        "/cities/lucknow/community-centres",
        files={"file": ("centres.csv", "\n".join(rows).encode(), "text/csv")},
    )
    assert made.status_code == 201, made.text
    listed = client.get("/cities/lucknow/community-centres").json()
    assert [c["ward_id"] for c in listed] == [
        first["properties"]["ward_id"],
        second["properties"]["ward_id"],
    ]

    owner = first["properties"]["organiser_id"]
    page = client.get(f"/cities/lucknow/plans/{plan_id}/map").text
    assert "Centre &lt;b&gt;1&lt;/b&gt; केंद्र" in page  # escaped: markup shown as text
    assert "<b>1</b>" not in page
    assert f"{hindi.CONTACT_POINT} {owner}" in page  # the letter's word for the contact point
    sheet = client.get(f"/cities/lucknow/plans/{plan_id}/organisers/{owner}/sheet.pdf")
    assert sheet.status_code == 200
    pdf = tmp_path / "co.pdf"
    pdf.write_bytes(sheet.content)
    assert "Centre <b>1</b>" in pdf_text(pdf)
