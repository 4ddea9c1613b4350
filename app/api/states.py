"""The state level: import a state's cities in one step, plan them all, and the state dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from app.api.deps import Admin, SessionDep, SettingsDep, StateOfficer
from app.api.layers import read_upload
from app.api.places import StateCode
from app.api.schemas import PROBLEM_RESPONSES
from app.api.schemas.state import BatchCityOut, BatchIn, BatchOut, CityImportOut, StateImportOut
from app.services import batches, imports

router = APIRouter(tags=["states"], responses=PROBLEM_RESPONSES)


def import_out(result: imports.StateImport) -> StateImportOut:
    rows = [
        CityImportOut(
            row=o.row,
            city=o.city,
            status=o.status,
            stored=o.stored,
            repaired=o.repaired,
            refused=o.refused,
        )
        for o in result.cities
    ]
    return StateImportOut(
        state=result.state,
        manifest=result.manifest,
        cities=rows,
        stored=sum(r.status == "stored" for r in rows),
        refused=sum(r.status == "refused" for r in rows),
    )


@router.post("/states/{state}/import", response_model=StateImportOut)
def import_state(
    state: StateCode,
    session: SessionDep,
    caller: Admin,
    bundle: Annotated[UploadFile, File(description="zip of the files the manifest names")],
    manifest: Annotated[
        UploadFile | None, File(description="CSV or XLSX; default: manifest.csv in the zip")
    ] = None,
    state_name: Annotated[
        str | None, Form(max_length=200, description="create the state when it does not exist")
    ] = None,
) -> StateImportOut:
    """Store every city of the manifest that can be stored, each all or nothing; the answer says
    per city what was stored, repaired and refused (200 even when some cities were refused)."""
    files = imports.Files.archive(read_upload(bundle, "bundle.zip").data, bundle.filename or "zip")
    given = read_upload(manifest, "manifest.csv") if manifest is not None else None
    result = imports.import_state(
        session,
        state,
        imports.manifest_in(files, given),
        files,
        state_name=state_name or None,
        actor=caller.name,
    )
    return import_out(result)


# -- plan a whole state -----------------------------------------------------------------------------


def batch_out(view: batches.BatchView) -> BatchOut:
    return BatchOut(
        id=view.batch.id,
        state=view.state,
        created_at=view.batch.created_at,
        created_by=view.batch.created_by,
        cancelled_at=view.batch.cancelled_at,
        counts=view.counts,
        done=view.done,
        cities=[
            BatchCityOut(
                city=c.city,
                job_id=None if c.job is None else c.job.id,
                status="refused" if c.job is None else c.job.status,
                error=c.refused if c.job is None else c.job.error,
                plan_id=None if c.job is None else c.job.plan_id,
                progress={} if c.job is None else c.job.progress,
            )
            for c in view.cities
        ],
    )


@router.post("/states/{state}/plans", status_code=202, response_model=BatchOut)
def plan_state(
    state: StateCode, body: BatchIn, session: SessionDep, settings: SettingsDep, caller: Admin
) -> BatchOut:
    """Queue one plan job per city (the same parameters, or per-city overrides); cities that
    cannot be planned are listed as refused with the reason, the others are queued."""
    request = batches.BatchRequest(
        body.parameters.model_dump(mode="json"),
        body.overrides,
        body.cities,
        per_city=body.city_parameters(),
    )
    return batch_out(batches.submit_batch(session, state, request, settings, actor=caller.name))


@router.get("/states/{state}/plans", response_model=list[BatchOut])
def list_state_plans(
    state: StateCode, session: SessionDep, _caller: StateOfficer
) -> list[BatchOut]:
    """The state's plan batches, newest first."""
    return [batch_out(v) for v in batches.list_batches(session, state)]


@router.get("/states/{state}/plans/{batch_id}", response_model=BatchOut)
def get_state_plan(
    state: StateCode, batch_id: int, session: SessionDep, _caller: StateOfficer
) -> BatchOut:
    """Progress per city and for the whole batch."""
    return batch_out(batches.get_batch(session, state, batch_id))


@router.post("/states/{state}/plans/{batch_id}/cancel", response_model=BatchOut)
def cancel_state_plan(
    state: StateCode, batch_id: int, session: SessionDep, caller: Admin
) -> BatchOut:
    """Cancel every unfinished job of the batch; finished cities keep their plans."""
    return batch_out(batches.cancel_batch(session, state, batch_id, actor=caller.name))
