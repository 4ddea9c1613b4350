"""A re-plan across layer versions on the real PostGIS: a plan made on Chandigarh's real wards
(layer version 1), then version 2 uploaded with one ward gone (merged into its neighbour, which
keeps its id) and one ward new (a ward cut in two: the west half keeps the id, the east half gets
a new one), built here from ``../shared/data``. The re-plan of the version-1 plan runs on
version 2, names the wards new and gone, and counts moves only on the wards that carried over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import JobOut, PlanOut
from app.api.schemas.plan_edits import VersionOut
from tests.app.apihelp import (
    PLACE_FORM,
    issue_key,
    make_app,
    plan_through_job,
    run_job_here,
    ward_to_co,
)

CITY = "chandigarh-layers"
HOME_WARDS = ("1", "8", "15", "22")
NEW_WARD = "101"


@dataclass
class Layers:
    client: TestClient
    factory: sessionmaker[Session]
    parent: PlanOut
    gone: str  # merged into ``kept``
    kept: str
    cut: str  # cut in two: its west half keeps the id, the east half is NEW_WARD


def _neighbours(shapes: dict[str, Any]) -> tuple[str, str]:
    """Two wards (neither a CO's home) that share a border."""
    ids = sorted((w for w in shapes if w not in HOME_WARDS), key=lambda w: (len(w), w))
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if shapes[a].boundary.intersection(shapes[b].boundary).length > 1e-5:
                return a, b
    raise AssertionError("no two neighbouring wards")


def version_two(source: Path) -> tuple[bytes, str, str, str]:
    """Version 2 of the layer: ward ``gone`` merged into ``kept``; ward ``cut`` cut in two."""
    data = json.loads(source.read_text(encoding="utf-8"))
    features = {f["properties"]["ward_id"]: f for f in data["features"]}
    shapes = {w: shapely.geometry.shape(f["geometry"]) for w, f in features.items()}
    gone, kept = _neighbours(shapes)
    cut = next(
        w
        for w in sorted(shapes, key=lambda w: (len(w), w))
        if w not in (*HOME_WARDS, gone, kept) and shapes[w].geom_type == "Polygon"
    )
    merged = shapely.union(shapes[kept], shapes[gone])
    features[kept]["geometry"] = shapely.geometry.mapping(merged)
    features[kept]["properties"]["population"] += features[gone]["properties"]["population"]
    del features[gone]
    x0, y0, x1, y1 = shapes[cut].bounds
    mid = (x0 + x1) / 2
    west = shapely.clip_by_rect(shapes[cut], x0 - 1, y0 - 1, mid, y1 + 1)
    east = shapely.clip_by_rect(shapes[cut], mid, y0 - 1, x1 + 1, y1 + 1)
    people = features[cut]["properties"]["population"]
    east_people = round(people * east.area / shapes[cut].area)
    features[cut]["geometry"] = shapely.geometry.mapping(west)
    features[cut]["properties"]["population"] = people - east_people
    props = {**features[cut]["properties"], "ward_id": NEW_WARD, "population": east_people}
    features[NEW_WARD] = {
        "type": "Feature",
        "properties": props,
        "geometry": shapely.geometry.mapping(east),
    }
    data["features"] = list(features.values())
    return json.dumps(data).encode(), gone, kept, cut


def _upload(client: TestClient, factory: sessionmaker[Session], body: bytes, key: str) -> None:
    up = client.post(
        f"/cities/{CITY}/layers",
        files={"file": ("wards.geojson", body, "application/geo+json")},
        data=PLACE_FORM,
        headers=issue_key(factory, key, "gis", CITY),
    )
    assert up.status_code == 201, up.text


@pytest.fixture(scope="module")
def layers(migrated_engine: Engine, shared_data: Path) -> Iterator[Layers]:
    """Version 1 uploaded, four COs, a plan solved on it; then version 2 uploaded; rolled back."""
    source = shared_data / "chandigarh" / "wards.geojson"
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            headers = issue_key(factory, "layers-cmmu", "cmmu", CITY)
            with TestClient(make_app(factory), headers=headers) as client:
                _upload(client, factory, source.read_bytes(), "layers-gis-1")
                roster = "organiser_id,name,home_ward\n" + "".join(
                    f"CO-{k},CO {k},{w}\n" for k, w in enumerate(HOME_WARDS, start=1)
                )
                imported = client.post(
                    f"/cities/{CITY}/organisers",
                    files={"file": ("organisers.csv", roster.encode(), "text/csv")},
                    headers=issue_key(factory, "layers-gis-2", "gis", CITY),
                )
                assert imported.status_code == 201, imported.text
                _, parent = plan_through_job(
                    client, factory, CITY, {"tolerance": 0.5, "time_limit": 10}
                )
                assert parent.check.passed
                body, gone, kept, cut = version_two(source)
                _upload(client, factory, body, "layers-gis-3")
                yield Layers(client, factory, parent, gone, kept, cut)
        finally:
            outer.rollback()


@pytest.mark.slow  # a re-plan solve
def test_a_replan_of_a_version_1_plan_on_version_2_names_wards_new_and_gone(
    layers: Layers,
) -> None:
    client, parent = layers.client, layers.parent
    before = ward_to_co(client.get(f"/cities/{CITY}/plans/{parent.id}/assignment.csv").text)
    assert layers.gone in before
    assert NEW_WARD not in before
    body = {"time_limit": 20, "compare_fresh": False, "note": "wards redrawn"}
    made = client.post(f"/cities/{CITY}/plans/{parent.id}/replan", json=body)
    assert made.status_code == 202, made.text
    job = JobOut.model_validate(made.json())
    run_job_here(layers.factory, job.id)
    done = JobOut.model_validate(client.get(job.url).json())
    assert done.status == "succeeded", done.error
    assert done.plan_id is not None
    plan = PlanOut.model_validate(client.get(f"/cities/{CITY}/plans/{done.plan_id}").json())
    assert plan.check.passed  # every constraint, checked independently on version 2
    assert plan.layer_version == 2
    after = ward_to_co(client.get(f"/cities/{CITY}/plans/{done.plan_id}/assignment.csv").text)
    assert layers.gone not in after
    assert NEW_WARD in after
    assert set(after) == set(before) - {layers.gone} | {NEW_WARD}

    lineage = client.get(f"/cities/{CITY}/plans/{done.plan_id}/lineage").json()[0]
    details = VersionOut.model_validate(lineage).details
    assert details["wards_gone"] == [layers.gone]
    assert details["wards_new"] == [NEW_WARD]
    # moves are counted on the wards that carried over, against their CO on version 1
    moved = sorted(w for w in after if w in before and after[w] != before[w])
    assert sorted(details["wards_moved"]) == moved
    features = client.get(f"/cities/{CITY}/plans/{done.plan_id}/wards.geojson").json()
    poor = {
        f["properties"]["ward_id"]: float(f["properties"]["poor_households_est"])
        for f in features["features"]
    }
    assert details["households_moved"] == pytest.approx(sum(poor[w] for w in moved), abs=0.5)
    moves_step, _ = details["steps"]
    assert moves_step["value"] == pytest.approx(details["households_moved"], abs=0.5)

    # the compare view across the two versions: the moved wards, the ward gone and the ward new
    diff = client.get(f"/cities/{CITY}/plans/{parent.id}/compare/{done.plan_id}").json()
    changed = {c["ward_id"]: (c["organiser_a"], c["organiser_b"]) for c in diff["changed"]}
    assert changed[layers.gone] == (before[layers.gone], None)
    assert changed[NEW_WARD] == (None, after[NEW_WARD])
    assert set(moved) <= set(changed)
    page = client.get(details["compare_map"])  # the re-plan's answer links its compare map
    assert details["compare_map"] == f"/cities/{CITY}/plans/{parent.id}/compare/{done.plan_id}/map"
    assert page.status_code == 200, page.text
    # drawn on version 1's wards: each ward whose CO changes (moved, or gone) is highlighted
    highlighted = [w for w in before if w not in after or after[w] != before[w]]
    assert page.text.count('"changed": true') == len(highlighted)
