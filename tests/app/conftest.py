"""Fixtures of the API tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gis.io import read_ward_layer
from gis.organisers import illustrative_organisers, write_organisers_csv
from tests.app.apihelp import close_app_engines, issue_key, make_app


@pytest.fixture
def client(session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """The API on the test's session factory, sending an admin key (``tests-admin``)."""
    headers = issue_key(session_factory, "tests-admin", "admin")
    with TestClient(make_app(session_factory), headers=headers) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def lucknow_files(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> dict[str, Path]:
    raw = shared_data / "lucknow" / "raw" / "Lucknow_ward_boundary-SHP.zip"
    census = shared_data / "lucknow" / "census2011_wards.csv"
    wards = read_ward_layer(raw, exclude_ids=["0"]).wards
    organisers = illustrative_organisers(wards, 10, seed=2017)
    csv_path = write_organisers_csv(organisers, tmp_path_factory.mktemp("cos") / "organisers.csv")
    return {"raw": raw, "census": census, "organisers": csv_path}


REPO = Path(__file__).resolve().parents[2]
#: A database whose rows are committed, for tests with real server and worker processes (which
#: only see committed rows); made by scripts/postgres.sh.
JOBS_DATABASE = "wardplan_jobs_test"


@pytest.fixture(scope="module")
def jobs_db(database_url: str) -> Iterator[str]:
    """``wardplan_jobs_test``, emptied by migrating down and up (and down again after the module)."""
    url = make_url(database_url).set(database=JOBS_DATABASE).render_as_string(hide_password=False)

    def alembic(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "alembic", *args],
            cwd=REPO,
            env={**os.environ, "WARDPLAN_DB_URL": url},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    alembic("downgrade", "base")
    alembic("upgrade", "head")
    yield url
    alembic("downgrade", "base")


@pytest.fixture(autouse=True)
def _close_app_engines() -> Iterator[None]:
    """After each test, the pools of the apps it made are closed (see ``APP_ENGINES``)."""
    yield
    close_app_engines()
