"""Records tell when things happened (``clock_timestamp()``, not the transaction's start), and a
job's last reported bound and gap stay shown; on the real PostGIS."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import WardLayer
from app.services import layers
from app.services.jobs import keep_last_bound, progress_dict
from solver.problem import Progress


def test_a_layer_is_dated_when_it_is_stored_not_when_the_transaction_began(
    session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    data = (shared_data / "chandigarh" / "wards.geojson").read_bytes()
    with session_factory() as session:
        began = session.scalar(select(func.now()))
        # The transaction's start stays the same however long the upload takes.
        stored = layers.upload_layer(session, "clocked", layers.Upload("wards.geojson", data))
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
