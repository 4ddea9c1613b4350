"""The city's City Mission Managers: read by every reader of the city, replaced by the CMMU (a
CSV like the CO roster's, or JSON); the allocation order prints their names and contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from app.api.deps import CityCode, Cmmu, Reader, SessionDep
from app.api.layers import read_upload
from app.db.models import CityMissionManager
from app.schemas import PROBLEM_RESPONSES
from app.schemas_staff import CmmList, CmmOut, CmmReplace
from app.services import staff as service
from app.services.layers import safe_name
from gis.staff import check_cmms, read_cmms_csv

router = APIRouter(tags=["staff"], responses=PROBLEM_RESPONSES)


def _out(row: CityMissionManager) -> CmmOut:
    components = None if row.components is None else [int(k) + 1 for k in row.components]
    return CmmOut(
        cmm_id=row.cmm_id,
        name=row.name,
        phone=row.phone,
        email=row.email,
        components=components,
        active=row.active,
    )


def _replaced(city: str, result: service.Replaced) -> CmmReplace:
    return CmmReplace(
        city=city,
        stored=result.stored,
        retired=result.retired,
        cmms=[_out(row) for row in result.active],
    )


@router.get("/cities/{city}/cmms", response_model=list[CmmOut])
def list_cmms(
    city: CityCode,
    session: SessionDep,
    caller: Reader,
    include_retired: Annotated[bool, Query()] = False,
) -> list[CmmOut]:
    """The city's City Mission Managers in order (CMM 1, 2, …)."""
    return [_out(r) for r in service.list_cmms(session, city, include_retired=include_retired)]


@router.put("/cities/{city}/cmms", response_model=CmmReplace)
def replace_cmms(city: CityCode, body: CmmList, session: SessionDep, caller: Cmmu) -> CmmReplace:
    """Make the list the city's CMMs (those left out are retired, not deleted); checked whole,
    a refused list stores nothing."""
    rows = [
        (
            f"cmms[{k}]",
            {
                "cmm_id": c.cmm_id,
                "name": c.name,
                "phone": c.phone or "",
                "email": c.email or "",
                "components": " ".join(str(n) for n in c.components or []),
            },
        )
        for k, c in enumerate(body.cmms)
    ]
    cmms = check_cmms(rows)
    return _replaced(city, service.replace_cmms(session, city, cmms, actor=caller.name))


@router.post("/cities/{city}/cmms", response_model=CmmReplace)
def import_cmms(
    city: CityCode,
    session: SessionDep,
    caller: Cmmu,
    file: Annotated[
        UploadFile, File(description="CSV: cmm_id, name, and optional phone, email, components")
    ],
) -> CmmReplace:
    """The same as PUT, from a CSV (``cmm_id,name,phone,email,components``)."""
    upload = read_upload(file, "cmms.csv")
    cmms = read_cmms_csv(safe_name(upload.filename, "cmms.csv"), upload.data)
    return _replaced(city, service.replace_cmms(session, city, cmms, actor=caller.name))
