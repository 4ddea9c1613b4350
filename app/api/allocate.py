from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ApiClient, SessionDep, SettingsDep
from app.api.jobs import job_out
from app.api.schemas import PROBLEM_RESPONSES, AllocateOut, AllocateRequest, JobOut
from app.services import jobs, solving
from app.services.allocate import Allocation, OrganiserHome
from app.services.allocate import allocate as allocate_service

router = APIRouter(tags=["allocate"], responses=PROBLEM_RESPONSES)

QUEUED: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Queued: a time limit above the synchronous limit."}
}


def allocation(body: AllocateRequest) -> Allocation:
    """The request body as the service takes it (plain data; nulls left out, as a job stores it)."""
    return Allocation(
        wards=body.wards.model_dump(mode="json", exclude_none=True),
        organisers=tuple(
            OrganiserHome(
                organiser_id=o.organiser_id,
                name=o.name,
                lat=o.lat,
                lon=o.lon,
                home_ward=o.home_ward,
            )
            for o in body.organisers
        ),
        parameters=body.parameters.model_dump(mode="json", exclude_none=True),
    )


@router.post("/allocate", response_model=AllocateOut, responses=QUEUED)
def allocate(
    body: AllocateRequest, session: SessionDep, settings: SettingsDep, caller: ApiClient
) -> AllocateOut | JSONResponse:
    """Divide the wards in the body among its organisers; nothing is stored but an audit event.

    Answered at once when the time limit is at most ``WARDPLAN_API_SYNC_TIME_LIMIT`` (default 30 s);
    otherwise ``202`` with a job (``Location``) whose ``result`` holds this same answer when done.
    Unreadable wards or organisers are refused at once either way.
    """
    request = allocation(body)
    config = solving.server_config(request.parameters, settings)
    if config.solve.time_limit <= settings.api.sync_time_limit:
        answer = allocate_service(session, request, config, actor=caller.name)
        return AllocateOut.model_validate(answer.as_json())
    job = jobs.submit_allocation(session, request, settings, actor=caller.name)
    out = job_out(jobs.get_job(session, None, job.id))
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.url})
