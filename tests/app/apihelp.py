"""Helpers for the API tests: the app on a test session factory, problem+json checks, row counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session, sessionmaker

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
from app.main import create_app
from app.schemas import ProblemDetails
from app.settings import get_settings

DOMAIN_TABLES = (State, District, City, Zone, WardLayer, Ward, Organiser, Plan, PlanAssignment)
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
ISSUE_KEYS = {"code", "message", "file", "feature", "ward_id", "field", "value"}


def make_app(factory: sessionmaker[Session]) -> FastAPI:
    app = create_app(get_settings())
    app.state.session_factory = factory
    return app


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


def upload_lucknow(client: TestClient, city: str, files: dict[str, Path], **form: str) -> Any:
    with files["raw"].open("rb") as raw, files["census"].open("rb") as census:
        return client.post(
            f"/cities/{city}/layers",
            files={
                "file": (files["raw"].name, raw, "application/zip"),
                "population_table": (files["census"].name, census, "text/csv"),
            },
            data=form,
        )
