"""The HTTP API on the real PostGIS, through FastAPI's TestClient.

Every test runs inside a transaction that is rolled back afterwards (``session_factory``). The Lucknow
flow (upload → organisers → plan → outputs) is in ``test_api_flow.py``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import (
    AllocateOut,
    Health,
    JobOut,
)
from app.core.settings import get_settings
from app.db.models import (
    PLAN_STATUSES,
    Organiser,
    Plan,
    PlanAssignment,
    SolveJob,
)
from app.db.session import session_scope
from app.main import create_app
from app.services import jobs
from app.services.demo import load_demo
from tests.app.apihelp import counts, expect_problem, make_app, run_job_here, upload_lucknow

pytestmark = pytest.mark.slow

# --- health and errors ------------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    health = Health.model_validate(response.json())
    assert health.postgis_version


def test_unknown_route_and_city_are_problems(client: TestClient) -> None:
    assert expect_problem(client.get("/nowhere"), 404).type == "/problems/not-found"
    problem = expect_problem(client.get("/cities/atlantis/layers"), 404)
    assert "atlantis" in (problem.detail or "")


def test_malformed_body_is_a_problem_in_the_same_shape(client: TestClient) -> None:
    response = client.post(
        "/cities/lucknow/plans", json={"tolerance": "tight", "time_limit": -1, "extra": 1}
    )
    problem = expect_problem(response, 422)
    assert problem.type == "/problems/invalid-request"
    fields = {e.field for e in problem.errors}
    assert {"body.time_limit", "body.extra"} <= fields
    assert any(f and f.startswith("body.tolerance") for f in fields)

    broken = client.post(
        "/allocate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert expect_problem(broken, 422).type == "/problems/invalid-request"


def test_bad_city_code_and_long_values_are_refused(client: TestClient) -> None:
    problem = expect_problem(client.get("/cities/Bad%20City!/layers"), 422)
    assert problem.errors[0].field == "path.city"
    huge = "x" * 5000
    problem = expect_problem(client.get(f"/cities/{'a' * 70}/layers", params={"q": huge}), 422)
    assert all(len(e.value or "") <= 200 for e in problem.errors)


def test_time_limit_above_the_server_maximum_is_refused(client: TestClient) -> None:
    limit = get_settings().solver.time_limit
    response = client.post("/cities/lucknow/plans", json={"time_limit": limit + 1})
    assert expect_problem(response, 422).type == "/problems/time-limit-too-long"


def test_body_over_the_limit_is_refused_before_it_is_read(
    session_factory: sessionmaker[Session],
) -> None:
    settings = get_settings()
    small = settings.model_copy(
        update={"api": settings.api.model_copy(update={"max_upload_bytes": 1000})}
    )
    app = create_app(small)
    app.state.session_factory = session_factory
    with TestClient(app) as small_client:
        response = small_client.post(
            "/cities/lucknow/layers", files={"file": ("big.zip", b"PK\x03\x04" + b"0" * 5000)}
        )
        assert expect_problem(response, 413).type == "/problems/too-large"
        assert small_client.get("/health").status_code == 200


# --- uploads ----------------------------------------------------------------------------------------


def test_upload_with_non_wards_is_refused_and_nothing_is_stored(
    client: TestClient, db_connection: Connection, lucknow_files: dict[str, Path]
) -> None:
    before = counts(db_connection)
    problem = expect_problem(upload_lucknow(client, "lucknow", lucknow_files), 422)
    assert problem.type == "/problems/duplicate-id"
    assert "Airport" in (problem.detail or "")
    assert any("Airport" in (e.message or "") for e in problem.errors)
    assert any(e.ward_id == "0" for e in problem.errors)
    assert "/tmp" not in json.dumps(problem.model_dump())
    assert counts(db_connection) == before
    assert client.get("/health").status_code == 200


def test_unreadable_file_is_a_400(client: TestClient, db_connection: Connection) -> None:
    before = counts(db_connection)
    response = client.post(
        "/cities/lucknow/layers",
        files={"file": ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")},
    )
    problem = expect_problem(response, 400)
    assert problem.type == "/problems/unsupported-format"
    assert problem.errors[0].file == "passwd"
    assert counts(db_connection) == before


def test_organisers_refused_without_a_layer(client: TestClient, tmp_path: Path) -> None:
    csv_file = tmp_path / "cos.csv"
    csv_file.write_text("organiser_id,name,home_ward\nCO-1,A,1\n", encoding="utf-8")
    with csv_file.open("rb") as fh:
        response = client.post("/cities/nowhere/organisers", files={"file": ("cos.csv", fh)})
    expect_problem(response, 404)


# --- stateless allocation -----------------------------------------------------------------------------


def test_allocate_stateless(
    client: TestClient, db_connection: Connection, shared_data: Path
) -> None:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    assert len(fc["features"]) == 26
    body = {
        "wards": fc,
        "organisers": [
            {"organiser_id": f"CO-{k}", "name": f"CO {k}", "home_ward": ward}
            for k, ward in enumerate(("1", "8", "15", "22"), start=1)
        ],
        "parameters": {"tolerance": "auto", "time_limit": 20},
    }
    before = counts(db_connection)
    response = client.post("/allocate", json=body)
    assert response.status_code == 200, response.text
    out = AllocateOut.model_validate(response.json())
    assert out.status in ("optimal", "feasible")
    assert out.check.passed
    assert len(out.assignment) == 26
    assert set(out.assignment.values()) == {"CO-1", "CO-2", "CO-3", "CO-4"}
    assert out.areas is not None
    assert len(out.areas.features) == 4
    assert counts(db_connection) == before  # only an audit event


def test_allocate_with_a_long_time_limit_is_a_job(
    client: TestClient,
    db_connection: Connection,
    session_factory: sessionmaker[Session],
    shared_data: Path,
) -> None:
    """Above the synchronous limit the answer is a job (202) whose result is the same answer."""
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    limit = get_settings().api.sync_time_limit + 1
    body = {
        "wards": fc,
        "organisers": [
            {"organiser_id": f"CO-{k}", "name": f"CO {k}", "home_ward": ward}
            for k, ward in enumerate(("1", "8", "15"), start=1)
        ],
        "parameters": {"tolerance": 0.1, "time_limit": limit},
    }
    before = counts(db_connection)
    response = client.post("/allocate", json=body)
    assert response.status_code == 202, response.text
    job = JobOut.model_validate(response.json())
    assert job.kind == "allocate"
    assert job.city is None
    assert response.headers["location"] == job.url == f"/jobs/{job.id}"
    assert job.status == "queued"
    assert job.result is None

    run_job_here(session_factory, job.id)
    done = JobOut.model_validate(client.get(job.url).json())
    assert done.status == "succeeded", done
    assert done.result is not None
    assert done.result.check.passed
    assert len(done.result.assignment) == 26
    assert set(done.result.assignment.values()) == {"CO-1", "CO-2", "CO-3"}
    assert counts(db_connection) == before  # the job and audit rows only
    # A stateless job is not a city's: the city routes do not know it.
    expect_problem(client.get(f"/cities/chandigarh/jobs/{job.id}"), 404)
    assert client.post(f"{job.url}/cancel").status_code == 409


def test_a_job_queued_again_runs_only_from_its_newest_queue_entry(
    client: TestClient, session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    """A worker queued the job again (its job process lost the database); the old queue entry,
    delivered once more (recovered as stalled after the outage), claims nothing, so the job never
    runs twice at once. The new entry claims it."""
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    body = {
        "wards": fc,
        "organisers": [{"organiser_id": "CO-1", "name": "CO 1", "home_ward": "1"}],
        "parameters": {"tolerance": 0.1, "time_limit": get_settings().api.sync_time_limit + 1},
    }
    made = client.post("/allocate", json=body)
    assert made.status_code == 202, made.text
    job_id = JobOut.model_validate(made.json()).id
    with session_scope(session_factory) as session:
        first = session.get_one(SolveJob, job_id).queue_job_id
        assert first is not None
        assert jobs.claim(session, job_id, first + 1000) is None  # not the job's entry
        assert jobs.claim(session, job_id, first) is not None
        assert jobs.requeue(session, job_id)
        second = session.get_one(SolveJob, job_id).queue_job_id
    assert second is not None
    assert second != first
    with session_scope(session_factory) as session:
        assert jobs.claim(session, job_id, first) is None
        claimed = jobs.claim(session, job_id, second)
    assert claimed is not None
    assert claimed.attempt == 2


def test_allocate_job_refuses_bad_wards_before_queueing(
    client: TestClient, db_connection: Connection
) -> None:
    square = [[[76.7, 30.7], [76.71, 30.7], [76.71, 30.71], [76.7, 30.71], [76.7, 30.7]]]
    feature = {
        "type": "Feature",
        "properties": {"ward_id": "1", "population": 1000},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    body = {
        "wards": {"type": "FeatureCollection", "features": [feature, feature]},
        "organisers": [{"organiser_id": "CO-1", "name": "A", "home_ward": "1"}],
        "parameters": {"time_limit": get_settings().api.sync_time_limit + 1},
    }
    problem = expect_problem(client.post("/allocate", json=body), 422)
    assert problem.type == "/problems/duplicate-id"
    queued = db_connection.execute(text("SELECT count(*) FROM solve_job")).scalar_one()
    assert queued == 0


def test_allocate_refuses_bad_wards_like_anupload_lucknow(client: TestClient) -> None:
    square = [[[76.7, 30.7], [76.71, 30.7], [76.71, 30.71], [76.7, 30.71], [76.7, 30.7]]]
    feature = {
        "type": "Feature",
        "properties": {"ward_id": "1", "population": 1000},
        "geometry": {"type": "Polygon", "coordinates": square},
    }
    body = {
        "wards": {"type": "FeatureCollection", "features": [feature, feature]},
        "organisers": [{"organiser_id": "CO-1", "name": "A", "home_ward": "1"}],
    }
    problem = expect_problem(client.post("/allocate", json=body), 422)
    assert problem.type == "/problems/duplicate-id"
    assert problem.errors[0].file == "wards.geojson"

    body["wards"] = {"type": "FeatureCollection", "features": [feature]}
    body["organisers"] = [{"organiser_id": "CO-1", "name": "A", "home_ward": "99"}]
    problem = expect_problem(client.post("/allocate", json=body), 422)
    assert "99" in json.dumps(problem.model_dump())


def test_unexpected_errors_are_generic_problems(session_factory: sessionmaker[Session]) -> None:
    app = make_app(session_factory)

    def boom() -> None:
        raise RuntimeError("SELECT secret FROM /srv/wardplan/config")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        problem = expect_problem(test_client.get("/boom"), 500)
        assert problem.type == "/problems/internal-error"
        assert "secret" not in test_client.get("/boom").text
        assert test_client.get("/health").status_code == 200


def test_refused_uploads_leave_no_temp_files(
    client: TestClient,
    lucknow_files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A temp dir of the test's own: the machine's is shared with other processes' parses.
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    expect_problem(upload_lucknow(client, "lucknow", lucknow_files), 422)
    expect_problem(client.post("/cities/lucknow/layers", files={"file": ("a.kml", b"<kml/>")}), 400)
    assert list(tmp.iterdir()) == []


def test_load_demo(session_factory: sessionmaker[Session], shared_data: Path) -> None:
    with session_scope(session_factory) as session:
        plan_id = load_demo(session, shared_data, time_limit=15)
        plan = session.get_one(Plan, plan_id)
        assert plan.status in PLAN_STATUSES
        organisers = session.scalars(select(Organiser).where(Organiser.active)).all()
        assert len(organisers) == 20
        if plan.status in ("optimal", "feasible"):
            assigned = session.scalar(select(func.count()).where(PlanAssignment.plan_id == plan_id))
            assert assigned == 110
