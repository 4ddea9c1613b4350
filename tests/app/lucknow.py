"""The shared Lucknow fixture data: the city uploaded, its COs imported and one plan made.

``lucknow_files`` (tests/app/conftest.py) gives the files; ``lucknow_planned`` builds the stored,
planned city from them for the modules that need one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import PlanOut
from tests.app.apihelp import issue_key, make_app, plan_through_job, upload_lucknow


@dataclass
class LucknowPlanned:
    """Lucknow uploaded, its 10 illustrative COs imported and one plan made (``lucknow_planned``)."""

    client: TestClient
    uploaded: dict[str, Any]
    imported: dict[str, Any]
    plan: PlanOut
    connection: Connection
    factory: sessionmaker[Session]


@contextmanager
def lucknow_planned(
    migrated_engine: Engine, lucknow_files: dict[str, Path], **upload_form: str
) -> Iterator[LucknowPlanned]:
    """The Lucknow flow (upload → COs → plan, through a job run here) on its own connection,
    inside a transaction rolled back at the end: the one builder of the modules that need a stored,
    planned city (``test_api_flow``, ``test_api_sheets``). Each module builds it once, in its own
    module, so that no other test writes while that transaction holds its locks."""
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            headers = issue_key(factory, "tests-admin", "admin")
            with TestClient(make_app(factory), headers=headers) as client:
                uploaded = upload_lucknow(client, "lucknow", lucknow_files, **upload_form)
                assert uploaded.status_code == 201, uploaded.text
                with lucknow_files["organisers"].open("rb") as fh:
                    imported = client.post(
                        "/cities/lucknow/organisers",
                        files={"file": ("organisers.csv", fh, "text/csv")},
                    )
                assert imported.status_code == 201, imported.text
                _, plan = plan_through_job(
                    client, factory, "lucknow", {"tolerance": 0.5, "time_limit": 20}
                )
                yield LucknowPlanned(
                    client, uploaded.json(), imported.json(), plan, connection, factory
                )
        finally:
            outer.rollback()
