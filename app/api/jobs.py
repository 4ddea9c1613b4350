"""Solve jobs: follow a plan request to its plan, or cancel it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ApiClient, CityCode, Cmmu, Reader, SessionDep
from app.api.schemas import PROBLEM_RESPONSES, AllocateOut, JobOut, JobProgress
from app.core.errors import NotFound
from app.services import jobs as service
from app.services.keys import Principal, Role

router = APIRouter(tags=["jobs"], responses=PROBLEM_RESPONSES)


def job_url(city: str | None, job_id: int) -> str:
    return f"/jobs/{job_id}" if city is None else f"/cities/{city}/jobs/{job_id}"


def job_out(found: service.StoredJob) -> JobOut:
    job, city = found.job, None if found.city is None else found.city.code
    return JobOut(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]  # the table's CHECK constraint
        city=city,
        status=job.status,  # type: ignore[arg-type]  # the table's CHECK constraint
        queue_position=found.queue_position,
        attempts=job.attempts,
        progress=JobProgress.model_validate(job.progress),
        cancel_requested=job.cancel_requested,
        error=job.error,
        plan_id=job.plan_id,
        plan_url=None if job.plan_id is None else f"/cities/{city}/plans/{job.plan_id}",
        result=None
        if job.kind != "allocate" or job.result is None
        else AllocateOut.model_validate(job.result),
        url=job_url(city, job.id),
        request=job.request,
        time_limit=job.time_limit,
        solver=job.solver,
        created_at=job.created_at,
        created_by=job.created_by,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@router.get("/cities/{city}/jobs", response_model=list[JobOut])
def list_jobs(
    city: CityCode,
    session: SessionDep,
    _caller: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[JobOut]:
    """The city's plan requests, newest first."""
    return [
        job_out(service.get_job(session, city, job.id))
        for job in service.list_jobs(session, city, limit=limit, offset=offset)
    ]


@router.get("/cities/{city}/jobs/{job_id}", response_model=JobOut)
def get_job(city: CityCode, job_id: int, session: SessionDep, _caller: Reader) -> JobOut:
    """Status, queue position, live progress (incumbent, bound, gap) and, when done, the plan."""
    return job_out(service.get_job(session, city, job_id))


@router.post("/cities/{city}/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_job(city: CityCode, job_id: int, session: SessionDep, caller: Cmmu) -> JobOut:
    """Cancel: a queued job at once; a running one within a second (its solver is stopped)."""
    return job_out(service.cancel(session, city, job_id, actor=caller.name))


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_allocation_job(job_id: int, session: SessionDep, caller: ApiClient) -> JobOut:
    """A queued stateless allocation (``POST /allocate`` with a long time limit); ``result`` is
    the allocation's answer once ``status`` is ``succeeded``. Only the key that asked for it (or
    an admin) sees it: the request holds the caller's organisers and their homes."""
    return job_out(own_allocation(service.get_job(session, None, job_id), caller))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut)
def cancel_allocation_job(job_id: int, session: SessionDep, caller: ApiClient) -> JobOut:
    own_allocation(service.get_job(session, None, job_id), caller)
    return job_out(service.cancel(session, None, job_id, actor=caller.name))


def own_allocation(found: service.StoredJob, caller: Principal) -> service.StoredJob:
    """The stateless job if ``caller`` asked for it (or is an admin); else 404, as for a
    missing job, so keys cannot probe each other's job ids."""
    if caller.role is not Role.ADMIN and found.job.created_by != caller.name:
        raise NotFound("job not found", f"there is no job {found.job.id}")
    return found
