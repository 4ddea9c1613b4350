"""Solve jobs: submit a plan request, follow it, cancel it, and run it once.

A job's life: ``queued`` (submitted and on procrastinate's queue, in one transaction) → ``running``
(a worker claimed it; ``attempts`` counts the claims) → ``succeeded`` (its plan stored), ``failed``
or ``cancelled``. The plan and the ``succeeded`` status are committed together, and only by an
attempt that still finds the job ``running`` and not cancelled: a job whose worker died is run
again, and a job never has two plans.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import Conflict, NotFound, TooManyRequests
from app.core.settings import Settings
from app.db import queue
from app.db.models import JOB_FINAL, City, JobStatus, SolveJob
from app.db.session import session_scope
from app.services import allocate, audit, camp_jobs, pins, plans, solving
from app.services.cities import get_city, require_current_layer
from app.services.organisers import active_organisers
from solver.problem import Progress

log = logging.getLogger("wardplan.jobs")


class JobSuperseded(Exception):
    """The job was cancelled or finished by another attempt while this one solved."""


@dataclass(frozen=True)
class StoredJob:
    job: SolveJob
    city: City | None  # None for a stateless allocation
    queue_position: int | None


def config_for(request: Mapping[str, Any], time_limit: float, solver: str) -> solving.SolveConfig:
    """The solve configuration of a job, as resolved when it was submitted."""
    return solving.solve_config(
        request,
        default_time_limit=time_limit,
        max_time_limit=time_limit,
        solver=solver,
    )


def fair_share(session: Session, settings: Settings, actor: str) -> None:
    """Refuse (429) a key that already has its share of jobs waiting or running."""
    active = session.scalar(
        select(func.count())
        .select_from(SolveJob)
        .where(
            SolveJob.created_by == actor, SolveJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))
        )
    )
    limit = settings.jobs.max_active_per_key
    if (active or 0) >= limit:
        raise TooManyRequests(
            "too many jobs waiting",
            f"{actor!r} already has {active} job(s) queued or running (at most {limit}); "
            "wait for one to finish or cancel one",
        )


def submit(
    session: Session,
    city_code: str,
    params: Mapping[str, Any],
    settings: Settings,
    *,
    actor: str,
    batch_id: int | None = None,
) -> SolveJob:
    """Check that the city can be planned, store the job and queue it, all in ``session``.

    ``params``: the plan parameters as asked (JSON, as the API's body has them); the job keeps
    them and resolves them with the time limit and solver fixed here when it runs.

    Everything a solve would refuse at once (unknown city, no layer, no COs, a time limit above
    the server's) is refused here, before anything is queued. A job of a state's plan batch
    (``batch_id``, ``app.services.batches``) is not counted against its key's fair share.
    """
    config = solving.server_config(params, settings)
    city = get_city(session, city_code)
    if batch_id is None:
        fair_share(session, settings, actor)
    layer_id = require_current_layer(city)
    if not active_organisers(session, city.id):
        raise Conflict(
            "the city has no active organisers",
            f"import organisers first (POST /cities/{city.code}/organisers)",
            code="no-organisers",
        )
    kept = pins.for_plan(session, city, layer_id)  # a stale pin is refused before queueing
    pins.check_options(city, kept, frontier=config.frontier is not None)
    job = SolveJob(
        city_id=city.id,
        layer_id=layer_id,
        request=dict(params),
        time_limit=config.solve.time_limit,
        solver=config.solver,
        created_by=actor,
        batch_id=batch_id,
    )
    session.add(job)
    session.flush()
    job.queue_job_id = queue.defer_solve(session, job.id)
    audit.record(session, actor, "plan.request", "solve_job", job.id, city=city.code)
    session.flush()
    return job


def submit_allocation(
    session: Session, request: allocate.Allocation, settings: Settings, *, actor: str
) -> SolveJob:
    """Queue a stateless allocation whose wards and organisers have been read without error
    (from memory); the job's payload holds the request, which it is run from."""
    config = solving.server_config(request.parameters, settings)
    fair_share(session, settings, actor)
    allocate.check_request(request)
    job = SolveJob(
        kind="allocate",
        request=request.payload(),
        time_limit=config.solve.time_limit,
        solver=config.solver,
        created_by=actor,
    )
    session.add(job)
    session.flush()
    job.queue_job_id = queue.defer_solve(session, job.id)
    audit.record(session, actor, "allocate.request", "solve_job", job.id)
    session.flush()
    return job


def get_job(session: Session, city_code: str | None, job_id: int) -> StoredJob:
    """A job of this city, or a stateless one when ``city_code`` is None (``NotFound`` for
    another city's job, as for a missing one)."""
    if city_code is None:
        job = session.scalars(
            select(SolveJob).where(SolveJob.id == job_id, SolveJob.kind == "allocate")
        ).one_or_none()
        city = None
    else:
        row = session.execute(
            select(SolveJob, City)
            .join(City, SolveJob.city_id == City.id)
            .where(City.code == city_code, SolveJob.id == job_id)
        ).one_or_none()
        job, city = (None, None) if row is None else row
    if job is None:
        owner = "there is" if city_code is None else f"{city_code!r} has"
        raise NotFound("job not found", f"{owner} no job {job_id}")
    position = None
    if job.status == JobStatus.QUEUED:
        position = session.scalar(
            select(func.count())
            .select_from(SolveJob)
            .where(SolveJob.status == JobStatus.QUEUED, SolveJob.id <= job.id)
        )
    return StoredJob(job, city, position)


def list_jobs(session: Session, city_code: str, *, limit: int, offset: int) -> list[SolveJob]:
    city = get_city(session, city_code)
    return list(
        session.scalars(
            select(SolveJob)
            .where(SolveJob.city_id == city.id)
            .order_by(SolveJob.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def cancel(session: Session, city_code: str | None, job_id: int, *, actor: str) -> StoredJob:
    """Cancel a job: a queued one at once, a running one by asking its worker's watchdog."""
    found = get_job(session, city_code, job_id)
    job = found.job
    if job.status in JOB_FINAL:
        raise Conflict("the job has finished", f"job {job_id} is {job.status}", code="job-finished")
    if job.status == JobStatus.QUEUED:
        if job.queue_job_id is not None:
            queue.cancel_queued(session, job.queue_job_id)
        job.status, job.finished_at = JobStatus.CANCELLED, func.clock_timestamp()
    else:
        job.cancel_requested = True
    audit.record(session, actor, "plan.cancel", "solve_job", job.id, city=city_code)
    session.flush()
    session.refresh(job)
    return get_job(session, city_code, job_id)


# --- What a worker does -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    job_id: int
    time_limit: float
    attempt: int


def claim(session: Session, job_id: int, queue_job_id: int | None = None) -> Claim | None:
    """Mark the job running (again, if an earlier worker died); None when there is nothing to run.

    ``queue_job_id`` is the queue entry that delivered the job: an entry the job was queued
    under before it was queued again (e.g. one recovered as stalled after a database outage
    while its worker had already requeued the job) runs nothing, so one job never has two
    attempts at once.
    """
    conditions = [
        SolveJob.id == job_id,
        SolveJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        SolveJob.cancel_requested.is_(False),
    ]
    if queue_job_id is not None:
        conditions.append(SolveJob.queue_job_id == queue_job_id)
    row = session.execute(
        update(SolveJob)
        .where(*conditions)
        .values(
            status=JobStatus.RUNNING,
            attempts=SolveJob.attempts + 1,
            started_at=func.clock_timestamp(),
            progress={},
        )
        .returning(SolveJob.time_limit, SolveJob.attempts)
    ).one_or_none()
    if row is None:
        return None
    return Claim(job_id, float(row.time_limit), int(row.attempts))


def finish(session: Session, job_id: int, status: str, error: str | None = None) -> bool:
    """End a running job as ``failed`` or ``cancelled``; False when it had already ended."""
    assert status in (JobStatus.FAILED, JobStatus.CANCELLED)
    done = session.execute(
        update(SolveJob)
        .where(SolveJob.id == job_id, SolveJob.status == JobStatus.RUNNING)
        .values(status=status, error=error, finished_at=func.clock_timestamp())
        .returning(SolveJob.id)
    ).one_or_none()
    return done is not None


def requeue(session: Session, job_id: int) -> bool:
    """Put a running job back on the queue (its worker is shutting down); False if it ended."""
    job = session.get(SolveJob, job_id)
    if job is None or job.status != JobStatus.RUNNING:
        return False
    job.status = JobStatus.QUEUED
    job.queue_job_id = queue.defer_solve(session, job_id)
    return True


def cancel_requested(session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(SolveJob.cancel_requested).where(SolveJob.id == job_id)))


def run_claimed(
    factory: sessionmaker[Session],
    job_id: int,
    on_progress: Callable[[Progress], None] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Solve a claimed job and store its plan (or, for a stateless one, its answer).

    Raises :class:`JobSuperseded` (storing nothing) when the job was cancelled or finished by
    another attempt meanwhile. A refusal the service explains (``DomainError``) ends the job as
    ``failed`` with that explanation. ``before_commit`` runs once the plan is written and the
    job marked, before their transaction commits (the fault tests hold the job there).
    """
    with session_scope(factory) as session:
        job = session.get_one(SolveJob, job_id)
        answer: dict[str, Any]
        if job.kind == "camps":
            answer = camp_jobs.run(session, job, on_progress)
        elif job.kind == "allocate":
            request = allocate.Allocation.from_payload(job.request)
            config = config_for(request.parameters, job.time_limit, job.solver)
            out = allocate.allocate(
                session, request, config, actor=job.created_by, on_progress=on_progress
            )
            answer = {"result": out.as_json()}
        elif job.kind == "replan":
            from app.services import replans  # it submits through this module

            answer = {"plan_id": replans.run(session, job, on_progress)}
        else:
            assert job.city_id is not None
            assert job.layer_id is not None
            city = session.get_one(City, job.city_id)
            stored = plans.create_plan(
                session,
                city.code,
                config_for(job.request, job.time_limit, job.solver),
                layer_version=plans.layer_version_of(session, job.layer_id),
                actor=job.created_by,
                on_progress=on_progress,
            )
            answer = {"plan_id": stored.plan.id}
        done = session.execute(
            update(SolveJob)
            .where(
                SolveJob.id == job_id,
                SolveJob.status == JobStatus.RUNNING,
                SolveJob.cancel_requested.is_(False),
            )
            .values(status=JobStatus.SUCCEEDED, finished_at=func.clock_timestamp(), **answer)
            .returning(SolveJob.id)
        ).one_or_none()
        if done is None:
            raise JobSuperseded(f"job {job_id} was cancelled or finished while it ran")
        if before_commit is not None:
            before_commit()


class ProgressWriter:
    """Writes a running job's latest progress on its own connection, at most every ``every_s``;
    a database that is briefly away costs a report, never the solve."""

    def __init__(self, engine: Engine, job_id: int, every_s: float = 1.0):
        self._engine = engine
        self._job_id = job_id
        self._every_s = every_s
        self._last = float("-inf")
        self._known: dict[str, Any] = {}

    def __call__(self, progress: Progress) -> None:
        # The last bound and gap a solver reported stay shown when a later report (the final
        # one, a phase without a bound) carries none.
        report = keep_last_bound(progress_dict(progress), self._known)
        now = time.monotonic()
        if now - self._last < self._every_s:
            return
        self._last = now
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    update(SolveJob)
                    .where(SolveJob.id == self._job_id, SolveJob.status == JobStatus.RUNNING)
                    .values(progress=report)
                )
        except (OperationalError, InterfaceError) as exc:  # progress is best effort: solve on
            log.warning("job %s: progress not written: %s", self._job_id, exc)


def keep_last_bound(report: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """``report`` with the last bound and gap seen (kept in ``known``) where it has none."""
    for key in ("bound", "gap"):
        if report[key] is None:
            report[key] = known.get(key)
        else:
            known[key] = report[key]
    return report


def progress_dict(progress: Progress) -> dict[str, Any]:
    return {
        "elapsed_s": round(progress.elapsed_s, 1),
        "incumbent": progress.incumbent,
        "bound": progress.bound,
        "gap": progress.gap,
        "phase": progress.phase,
        "message": progress.message,
    }
