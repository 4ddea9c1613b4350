"""Helpers for the API tests: the app on a test session factory, problem+json checks, row counts."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import JobOut, PlanOut, ProblemDetails
from app.core.settings import get_settings
from app.db.models import (
    City,
    District,
    Organiser,
    Plan,
    PlanAssignment,
    State,
    Ward,
    WardLayer,
    Zone,
)
from app.db.session import session_scope
from app.main import create_app
from app.services import jobs, keys
from app.services.cities import Place

#: Where the tests' new cities go: the form fields of an upload, and the same as a Place.
PLACE_FORM = {"state": "TS", "state_name": "Test State", "district": "Test District"}
TEST_PLACE = Place("TS", "Test District", None, "Test State")

DOMAIN_TABLES = (State, District, City, Zone, WardLayer, Ward, Organiser, Plan, PlanAssignment)
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
ISSUE_KEYS = {"code", "message", "file", "feature", "ward_id", "field", "value"}


#: The request rate of apps made by :func:`make_app`. The limit is counted in the database, so
#: every app of a test run shares it, and the anonymous requests of many tests (all from
#: ``testclient``) would add up; the limit's own tests set theirs (test_limits.py,
#: test_rate_limit_shared.py).
TEST_RATE_PER_MINUTE = 100_000


#: The engines of the apps made here (their rate limit keeps a pool of its own): closed after
#: every test by ``close_app_engines`` (tests/app and tests/browser conftest), so no pooled
#: connection is left for the garbage collector to find open when a client skipped the lifespan.
APP_ENGINES: list[Engine] = []


def close_app_engines() -> None:
    for engine in APP_ENGINES:
        engine.dispose()


def make_app(factory: sessionmaker[Session]) -> FastAPI:
    base = get_settings()
    api = base.api.model_copy(update={"rate_per_minute": TEST_RATE_PER_MINUTE})
    app = create_app(base.model_copy(update={"api": api}))
    app.state.session_factory = factory
    APP_ENGINES.append(app.state.engine)
    return app


def issue_key(
    factory: sessionmaker[Session], name: str, role: str, city: str | None = None
) -> dict[str, str]:
    """A new key of ``role`` (stored through the real service); its request headers."""
    with session_scope(factory) as session:
        token = keys.issue(session, name, role, city).token
    return {"Authorization": f"Bearer {token}"}


def expect_problem(response: Any, status: int) -> ProblemDetails:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= PROBLEM_KEYS
    for issue in body["errors"]:
        assert set(issue) == ISSUE_KEYS
    return ProblemDetails.model_validate(body)


def counts(connection: Connection) -> dict[str, int]:
    return {
        t.__tablename__: connection.execute(select(func.count()).select_from(t)).scalar_one()
        for t in DOMAIN_TABLES
    }


def ward_to_co(assignment_csv: str) -> dict[str, str]:
    """ward_id → organiser_id from a plan's assignment.csv (which has more columns after them)."""
    return {
        row["ward_id"]: row["organiser_id"] for row in csv.DictReader(io.StringIO(assignment_csv))
    }


def upload_lucknow(client: TestClient, city: str, files: dict[str, Path], **form: str) -> Any:
    with files["raw"].open("rb") as raw, files["census"].open("rb") as census:
        return client.post(
            f"/cities/{city}/layers",
            files={
                "file": (files["raw"].name, raw, "application/zip"),
                "population_table": (files["census"].name, census, "text/csv"),
            },
            data={**PLACE_FORM, **form},
        )


def run_job_here(factory: sessionmaker[Session], job_id: int) -> None:
    """What a worker's job process does (claim, solve, store), in this process and transaction."""
    with session_scope(factory) as session:
        assert jobs.claim(session, job_id) is not None, f"job {job_id} could not be claimed"
    jobs.run_claimed(factory, job_id)


def plan_through_job(
    client: TestClient, factory: sessionmaker[Session], city: str, body: dict[str, Any]
) -> tuple[JobOut, PlanOut]:
    """POST a plan request (202 + job), run the job here, and read back the job and its plan."""
    made = client.post(f"/cities/{city}/plans", json=body)
    assert made.status_code == 202, made.text
    job = JobOut.model_validate(made.json())
    assert made.headers["location"] == job.url
    assert job.status == "queued"
    assert job.queue_position is not None
    run_job_here(factory, job.id)
    done = JobOut.model_validate(client.get(job.url).json())
    assert done.status == "succeeded", done
    assert done.plan_url is not None
    plan = client.get(done.plan_url)
    assert plan.status_code == 200, plan.text
    return done, PlanOut.model_validate(plan.json())
