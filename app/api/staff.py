"""The city's City Mission Managers: read by every reader of the city, replaced by the CMMU (a
CSV like the CO roster's, or JSON); the allocation order prints their names and contacts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile

from app.api.deps import CityCode, Cmmu, Reader, SessionDep
from app.api.layers import read_upload
from app.api.schemas import PROBLEM_RESPONSES
from app.api.schemas.staff import CmmList, CmmOne, CmmOut, CmmReplace
from app.db.models import CityMissionManager
from app.services import staff as service
from app.services.layers import safe_name
from gis.staff import Cmm, check_cmms, read_cmms_csv

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


def _values(
    cmm_id: str,
    name: str,
    phone: str | None,
    email: str | None,
    components: Sequence[int] | None,
) -> dict[str, str]:
    """A CMM's cells as :func:`gis.staff.check_cmms` reads them (components 1–7)."""
    return {
        "cmm_id": cmm_id,
        "name": name,
        "phone": phone or "",
        "email": email or "",
        "components": " ".join(str(n) for n in components or []),
    }


@router.put("/cities/{city}/cmms", response_model=CmmReplace)
def replace_cmms(city: CityCode, body: CmmList, session: SessionDep, caller: Cmmu) -> CmmReplace:
    """Make the list the city's CMMs (those left out are retired, not deleted); checked whole,
    a refused list stores nothing."""
    rows = [
        (f"cmms[{k}]", _values(c.cmm_id, c.name, c.phone, c.email, c.components))
        for k, c in enumerate(body.cmms)
    ]
    cmms = check_cmms(rows)
    return _replaced(city, service.replace_cmms(session, city, cmms, actor=caller.name))


def _stored(c: Cmm) -> dict[str, str]:
    components = None if c.components is None else [k + 1 for k in c.components]
    return _values(c.cmm_id, c.name, c.phone, c.email, components)


@router.put("/cities/{city}/cmms/{cmm_id}", response_model=CmmOut)
def put_cmm(
    city: CityCode,
    cmm_id: Annotated[str, Path(min_length=1, max_length=100)],
    body: CmmOne,
    session: SessionDep,
    caller: Cmmu,
) -> CmmOut:
    """One CMM, the others kept: a new one joins the end of the list, a listed or retired one
    is changed (and active). Checked with the whole list (e.g. a component another CMM holds is
    refused); a refused CMM stores nothing."""
    current, at = service.with_one(session, city, cmm_id)
    rows = [(f"cmm {c.cmm_id}", _stored(c)) for c in current]
    mine = (f"cmm {cmm_id}", _values(cmm_id, body.name, body.phone, body.email, body.components))
    rows[at : at + 1] = [mine]
    cmms = check_cmms(rows)
    result = service.replace_cmms(session, city, cmms, actor=caller.name, action="cmm.put")
    return _out(next(r for r in result.active if r.cmm_id == cmm_id))


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
