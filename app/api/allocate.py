from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ApiClient, SessionDep, SettingsDep
from app.api.jobs import job_out
from app.schemas import PROBLEM_RESPONSES, AllocateOut, AllocateRequest, JobOut
from app.services import jobs, solving
from app.services.allocate import allocate as allocate_service

router = APIRouter(tags=["allocate"], responses=PROBLEM_RESPONSES)

QUEUED: dict[int | str, dict[str, Any]] = {
    202: {"model": JobOut, "description": "Queued: a time limit above the synchronous limit."}
}


@router.post("/allocate", response_model=AllocateOut, responses=QUEUED)
def allocate(
    body: AllocateRequest, session: SessionDep, settings: SettingsDep, caller: ApiClient
) -> AllocateOut | JSONResponse:
    """Divide the wards in the body among its organisers; nothing is stored but an audit event.

    Answered at once when the time limit is at most ``WARDPLAN_API_SYNC_TIME_LIMIT`` (default 30 s);
    otherwise ``202`` with a job (``Location``) whose ``result`` holds this same answer when done.
    Unreadable wards or organisers are refused at once either way.
    """
    config = solving.server_config(body.parameters.model_dump(mode="json"), settings)
    if config.solve.time_limit <= settings.api.sync_time_limit:
        return allocate_service(session, body, config, actor=caller.name)
    job = jobs.submit_allocation(session, body, settings, actor=caller.name)
    out = job_out(jobs.get_job(session, None, job.id))
    return JSONResponse(out.model_dump(mode="json"), status_code=202, headers={"Location": out.url})
