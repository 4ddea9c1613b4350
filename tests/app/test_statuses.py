"""One status vocabulary from the solver to the database (issue 16): the solver's ``Status`` (as
``PLAN_STATUSES``) and ``app.db.models.JobStatus`` are what the migrated database's CHECK
constraints and the API's schemas allow."""

from __future__ import annotations

import re
from typing import get_args

from sqlalchemy import Engine, text

from app.api.schemas import AllocateOut, JobOut, PlanOut
from app.db.models import JOB_FINAL, JOB_STATUSES, PLAN_STATUSES, JobStatus


def _allowed(engine: Engine, constraint: str) -> set[str]:
    """The values a live ``status IN (...)`` CHECK constraint allows."""
    with engine.connect() as connection:
        definition = connection.execute(
            text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
            {"name": constraint},
        ).scalar_one()
    return set(re.findall(r"'([a-z_]+)'::text", definition))


def test_the_database_allows_exactly_the_code_statuses(migrated_engine: Engine) -> None:
    assert _allowed(migrated_engine, "ck_plan_status_known") == set(PLAN_STATUSES)
    assert _allowed(migrated_engine, "ck_camp_plan_status_known") == set(PLAN_STATUSES)
    assert _allowed(migrated_engine, "ck_solve_job_status_known") == set(JOB_STATUSES)
    assert _allowed(migrated_engine, "ck_solve_job_finished_iff_final") == set(JOB_FINAL)
    assert set(JOB_FINAL) == {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


def test_the_api_answers_the_same_statuses() -> None:
    assert set(get_args(JobOut.model_fields["status"].annotation)) == set(JOB_STATUSES)
    assert set(get_args(PlanOut.model_fields["status"].annotation)) == set(PLAN_STATUSES)
    assert set(get_args(AllocateOut.model_fields["status"].annotation)) == set(PLAN_STATUSES)
