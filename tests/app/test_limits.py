"""Fair use: a request rate per client (429 + Retry-After) and a cap on the jobs one key may have
waiting or running (429), on the real PostGIS."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.core.settings import Settings, get_settings
from app.db.models import SolveJob
from app.db.session import session_scope
from app.main import create_app
from tests.app.apihelp import expect_problem, issue_key
from tests.app.plandata import load_small_city


def _app(factory: sessionmaker[Session], settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.session_factory = factory
    return app


def test_a_client_over_its_rate_gets_429_and_others_do_not(
    session_factory: sessionmaker[Session],
) -> None:
    base = get_settings()
    settings = base.model_copy(update={"api": base.api.model_copy(update={"rate_per_minute": 5})})
    app = _app(session_factory, settings)
    first = issue_key(session_factory, "limits-a", "admin")
    second = issue_key(session_factory, "limits-b", "admin")
    with TestClient(app) as client:
        answered = [client.get("/cities/nowhere/jobs", headers=first).status_code for _ in range(5)]
        assert answered == [404] * 5  # through the gate: the city is unknown
        limited = client.get("/cities/nowhere/jobs", headers=first)
        problem = expect_problem(limited, 429)
        assert problem.type == "/problems/rate-limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Another key has a bucket of its own; the health check is never limited.
        assert client.get("/cities/nowhere/jobs", headers=second).status_code == 404
        assert all(client.get("/health").status_code == 200 for _ in range(10))


def test_a_key_may_have_only_its_share_of_jobs_waiting(
    session_factory: sessionmaker[Session], shared_data: Path
) -> None:
    with session_scope(session_factory) as session:
        load_small_city(session, shared_data, "fairshare", approve=False)
    base = get_settings()
    settings = base.model_copy(
        update={"jobs": base.jobs.model_copy(update={"max_active_per_key": 2})}
    )
    app = _app(session_factory, settings)
    busy = issue_key(session_factory, "limits-busy", "cmmu", "fairshare")
    other = issue_key(session_factory, "limits-other", "cmmu", "fairshare")
    body = {"tolerance": 0.5, "time_limit": 10}
    with TestClient(app) as client:
        for _ in range(2):
            made = client.post("/cities/fairshare/plans", json=body, headers=busy)
            assert made.status_code == 202, made.text
        refused = expect_problem(
            client.post("/cities/fairshare/plans", json=body, headers=busy), 429
        )
        assert refused.type == "/problems/too-many-requests"
        assert "limits-busy" in refused.detail
        assert client.post("/cities/fairshare/plans", json=body, headers=other).status_code == 202
        # Cancelling one frees a place.
        first = client.get("/cities/fairshare/jobs", headers=busy).json()[-1]
        assert client.post(f"{first['url']}/cancel", headers=busy).status_code == 200
        assert client.post("/cities/fairshare/plans", json=body, headers=busy).status_code == 202
    with session_scope(session_factory) as session:
        queued = session.scalar(
            select(func.count()).select_from(SolveJob).where(SolveJob.status == "queued")
        )
    assert queued == 3  # 2 + 1 (other), 1 cancelled, 1 after it; the refused one stored nothing
