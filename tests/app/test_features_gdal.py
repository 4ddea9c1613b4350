"""An independent OGC API – Features client, GDAL's ``OAPIF:`` driver (bundled with pyogrio), reads
Wardplan's collections from ``uvicorn`` really listening on 127.0.0.1.

The server runs in its own process with its own database sessions, so it cannot see a test's
rolled-back transaction: the module fixture commits a city with an unmistakable code and deletes
every row of it afterwards (and before, should an interrupted run have left one behind).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    AuditEvent,
    City,
    District,
    Organiser,
    Plan,
    PlanApproval,
    PlanArea,
    PlanAssignment,
    PlanVersion,
    State,
    Ward,
    WardLayer,
    Zone,
)
from app.db.session import session_scope
from tests.app.plandata import ORGANISER_NAME_HI, WARD_NAME_HI, load_small_city
from tests.conftest import REPO

pytestmark = pytest.mark.slow

CITY = "gdal-oapif-test"
STARTUP_SECONDS = 30


def delete_city(session: Session, code: str) -> None:
    """Every row that belongs to the city ``code`` (its audit events included), children first."""
    city_id = session.scalar(select(City.id).where(City.code == code))
    if city_id is None:
        return
    plans = select(Plan.id).where(Plan.city_id == city_id)
    layers = select(WardLayer.id).where(WardLayer.city_id == city_id)
    session.execute(delete(AuditEvent).where(AuditEvent.details["city"].astext == code))
    session.execute(delete(PlanArea).where(PlanArea.plan_id.in_(plans)))
    session.execute(delete(PlanAssignment).where(PlanAssignment.plan_id.in_(plans)))
    session.execute(delete(PlanApproval).where(PlanApproval.plan_id.in_(plans)))
    session.execute(delete(PlanVersion).where(PlanVersion.plan_id.in_(plans)))
    session.execute(delete(Plan).where(Plan.city_id == city_id))
    session.execute(delete(Organiser).where(Organiser.city_id == city_id))
    session.execute(update(City).where(City.id == city_id).values(current_layer_id=None))
    session.execute(delete(Ward).where(Ward.layer_id.in_(layers)))
    session.execute(delete(WardLayer).where(WardLayer.city_id == city_id))
    session.execute(delete(Zone).where(Zone.city_id == city_id))
    district_id = session.scalar(select(City.district_id).where(City.id == city_id))
    session.execute(delete(City).where(City.id == city_id))
    # and its place when nothing else is there (a committed "TS" would clash with later tests)
    state_id = session.scalar(select(District.state_id).where(District.id == district_id))
    if not session.scalar(select(func.count()).where(City.district_id == district_id)):
        session.execute(delete(District).where(District.id == district_id))
    if not session.scalar(select(func.count()).where(District.state_id == state_id)):
        session.execute(delete(State).where(State.id == state_id))


@dataclass(frozen=True)
class Live:
    url: str
    log: Path  # the server's access log: one line per request

    def requests(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"the API server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the API server did not answer {url}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def live(
    migrated_engine: Engine,
    database_url: str,
    shared_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Live]:
    """The city committed, and ``uvicorn app.main:create_app`` serving it in a subprocess (GDAL's
    reads hold the GIL, so the server cannot share this process)."""
    factory = sessionmaker(bind=migrated_engine, expire_on_commit=False)
    with session_scope(factory) as session:
        delete_city(session, CITY)
        states_before = set(session.scalars(select(State.id)))
    try:
        with session_scope(factory) as session:
            load_small_city(session, shared_data, CITY, approve=True)
        port = _free_port()
        log = tmp_path_factory.mktemp("server") / "access.log"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**os.environ, "WARDPLAN_DB_URL": database_url},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(process, f"{base}/health", log)
            yield Live(f"{base}/ogc", log)
        finally:
            process.terminate()
            process.wait(timeout=30)
    finally:
        with session_scope(factory) as session:
            delete_city(session, CITY)
            # the test state and district, when this fixture's upload made them
            made = select(State.id).where(State.id.not_in(states_before))
            session.execute(delete(District).where(District.state_id.in_(made)))
            session.execute(delete(State).where(State.id.in_(made)))
            assert session.scalar(select(func.count()).where(City.code == CITY)) == 0
            assert set(session.scalars(select(State.id))) == states_before


def _db_wards(engine: Engine) -> dict[str, tuple[str | None, int, str]]:
    """``{ward_id: (name, population, organiser_id)}`` of the city's approved plan, from the DB."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Ward.ward_id, Ward.name, Ward.population, Organiser.organiser_id)
            .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
            .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
            .join(Plan, PlanAssignment.plan_id == Plan.id)
            .join(City, Plan.city_id == City.id)
            .where(City.code == CITY, Plan.approved_at.is_not(None))
        ).all()
    return {w: (name, population, oid) for w, name, population, oid in rows}


def test_gdal_lists_the_collections(live: Live) -> None:
    layers = [name for name, _ in pyogrio.list_layers(f"OAPIF:{live.url}")]
    assert {f"{CITY}-wards", f"{CITY}-plan-areas", f"{CITY}-plan-wards"} <= set(layers)


def test_gdal_pages_through_the_wards(live: Live, migrated_engine: Engine) -> None:
    expected = _db_wards(migrated_engine)
    assert len(expected) == 26
    before = len(live.requests())
    frame = pyogrio.read_dataframe(f"OAPIF:{live.url}", layer=f"{CITY}-plan-wards", PAGE_SIZE="10")
    assert len(frame) == 26
    got = {
        str(w): (name, int(pop), oid)
        for w, name, pop, oid in zip(
            frame["ward_id"],
            frame["ward_name"],
            frame["population"],
            frame["organiser_id"],
            strict=True,
        )
    }
    assert got == expected
    assert expected["1"][0] == WARD_NAME_HI
    assert set(frame.geometry.geom_type) == {"MultiPolygon"}
    assert frame.crs.to_epsg() == 4326
    pages = [
        line
        for line in live.requests()[before:]
        if f"/ogc/collections/{CITY}-plan-wards/items?" in line
    ]
    # 26 features in pages of 10: GDAL followed the next links to offsets 10 and 20
    assert any("limit=10&offset=20" in line for line in pages), pages


def test_gdal_reads_the_co_areas(live: Live) -> None:
    frame = pyogrio.read_dataframe(f"OAPIF:{live.url}", layer=f"{CITY}-plan-areas")
    assert sorted(frame["organiser_id"]) == ["CO-1", "CO-2", "CO-3", "CO-4"]
    by_id = frame.set_index("organiser_id")
    assert by_id.loc["CO-1", "name"] == ORGANISER_NAME_HI
    assert int(frame["wards"].sum()) == 26
