"""The statuses of plans and solve jobs, one spelling each, for the code and the database (the
tables' CHECK constraints are built from these; tests/app/test_statuses.py checks the migrated
database allows exactly them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from solver.problem import Status

#: The statuses a plan can have: what the solver proved (``solver.problem.Status``).
PLAN_STATUSES: Final = tuple(s.value for s in Status)


class JobStatus(StrEnum):
    """The life of a solve job: queued → running → succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


JOB_STATUSES: Final = tuple(s.value for s in JobStatus)
#: The statuses a job never leaves.
JOB_FINAL: Final = tuple(
    s.value for s in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
)
