"""Fixtures of the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gis.io import read_ward_layer
from gis.organisers import illustrative_organisers, write_organisers_csv
from tests.app.apihelp import issue_key, make_app


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
