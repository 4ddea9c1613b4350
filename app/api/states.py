"""The state level: import a state's cities in one step, plan them all, and the state dashboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from app.api.deps import Admin, SessionDep
from app.api.layers import read_upload
from app.api.places import StateCode
from app.schemas import PROBLEM_RESPONSES
from app.schemas_state import CityImportOut, StateImportOut
from app.services import imports

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
