"""Records tell when things happened (``clock_timestamp()``, not the transaction's start), and a
job's last reported bound and gap stay shown; on the real PostGIS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import WardLayer
from app.services import layers
from app.services.jobs import keep_last_bound, progress_dict
from solver.problem import Progress
from tests.app.apihelp import PLACE_FORM, TEST_PLACE, counts


def test_a_layer_is_dated_when_it_is_stored_not_when_the_transaction_began(
    session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    data = (shared_data / "chandigarh" / "wards.geojson").read_bytes()
    with session_factory() as session:
        began = session.scalar(select(func.now()))
        # The transaction's start stays the same however long the upload takes.
        stored = layers.upload_layer(
            session, "clocked", layers.Upload("wards.geojson", data), place=TEST_PLACE
        )
        session.flush()
        created = session.scalar(
            select(WardLayer.created_at).where(WardLayer.id == stored.layer.id)
        )
        assert session.scalar(select(func.now())) == began
        assert began is not None
        assert created is not None
        assert created > began
        assert session.scalar(text("SELECT clock_timestamp()")) >= created


def test_the_last_bound_and_gap_stay_when_a_later_report_has_none() -> None:
    known: dict[str, object] = {}
    first = keep_last_bound(progress_dict(Progress(1.0, 120.0, 100.0, "mip", "")), known)
    assert (first["bound"], first["gap"]) == (100.0, Progress(1.0, 120.0, 100.0, "mip", "").gap)
    later = keep_last_bound(progress_dict(Progress(2.0, 110.0, None, "verify", "")), known)
    assert later["bound"] == 100.0
    assert later["gap"] == first["gap"]
    assert later["incumbent"] == 110.0
    newer = keep_last_bound(progress_dict(Progress(3.0, 105.0, 104.0, "mip", "")), known)
    assert newer["bound"] == 104.0


def test_an_identical_reupload_answers_the_current_version_unless_forced(
    client: TestClient, db_connection: Connection, shared_data: Path
) -> None:
    data = (shared_data / "chandigarh" / "wards.geojson").read_bytes()

    def send(**form: str) -> Any:
        return client.post(
            "/cities/twice/layers", files={"file": ("w.geojson", data)}, data={**PLACE_FORM, **form}
        )

    first = send()
    assert first.status_code == 201, first.text
    layers_before = counts(db_connection)["ward_layer"]
    again = send()
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["identical"] is True
    assert body["version"] == first.json()["version"]
    assert any("identical to version 1" in w for w in body["warnings"]), body["warnings"]
    assert counts(db_connection)["ward_layer"] == layers_before
    other = send(exclude="1")  # other options: a new version
    assert other.status_code == 201, other.text
    assert other.json()["version"] == 2
    forced = send(exclude="1", force="true")
    assert forced.status_code == 201, forced.text
    assert forced.json()["version"] == 3
    assert forced.json()["identical"] is False
