from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from geoalchemy2.shape import to_shape

from app.api.deps import CityCode, GisCell, Reader, SessionDep
from app.api.layers import read_upload
from app.api.schemas import (
    PROBLEM_RESPONSES,
    HomePoint,
    OrganiserBody,
    OrganiserImport,
    OrganiserOut,
)
from app.db.models import Organiser
from app.services import organisers as service
from app.services.keys import Principal

router = APIRouter(tags=["organisers"], responses=PROBLEM_RESPONSES)


def organiser_out(row: Organiser, caller: Principal) -> OrganiserOut:
    """The CO as ``caller`` may see it: the exact home only for roles that need it."""
    home = None
    if caller.sees_exact_homes() and row.home is not None:
        point = to_shape(row.home)
        home = HomePoint(lat=point.y, lon=point.x)
    return OrganiserOut(
        organiser_id=row.organiser_id,
        name=row.name,
        home_ward=row.home_ward,
        home=home,
        home_precision="exact" if home is not None else "ward",
        phone=row.phone,
        email=row.email,
        active=row.active,
    )


@router.post("/cities/{city}/organisers", status_code=201, response_model=OrganiserImport)
def import_organisers(
    city: CityCode,
    session: SessionDep,
    caller: GisCell,
    file: Annotated[
        UploadFile,
        File(description="CSV: organiser_id, name, lat+lon or home_ward; optional phone, email"),
    ],
) -> OrganiserImport:
    """Make the CSV the city's roster of active COs (missing ones are retired, not deleted)."""
    upload = read_upload(file, "organisers.csv")
    result = service.import_organisers(session, city, upload, actor=caller.name)
    return OrganiserImport(
        city=city,
        imported=result.imported,
        retired=result.retired,
        active=len(result.active),
        warnings=result.warnings,
        organisers=[organiser_out(o, caller) for o in result.active],
    )


@router.get("/cities/{city}/organisers", response_model=list[OrganiserOut])
def list_organisers(
    city: CityCode,
    session: SessionDep,
    caller: Reader,
    include_retired: Annotated[bool, Query()] = False,
) -> list[OrganiserOut]:
    """The city's COs; exact homes only for GIS cell, CMMU and admin keys (else the home ward)."""
    rows = service.list_organisers(session, city, include_retired=include_retired)
    return [organiser_out(o, caller) for o in rows]


@router.put("/cities/{city}/organisers/{organiser_id}", response_model=OrganiserOut)
def save_organiser(
    city: CityCode,
    organiser_id: Annotated[str, Path(min_length=1, max_length=100)],
    body: OrganiserBody,
    session: SessionDep,
    caller: GisCell,
    response: Response,
) -> OrganiserOut:
    """Add a CO (201) or change one's name or home (200), making it active; checked as a CSV
    row of an import is (the home in the city, or a ward of the current layer)."""
    edit = service.OrganiserEdit(organiser_id, body.name, body.lat, body.lon, body.home_ward)
    row, created = service.save_organiser(session, city, edit, actor=caller.name)
    response.status_code = 201 if created else 200
    return organiser_out(row, caller)


@router.delete("/cities/{city}/organisers/{organiser_id}", response_model=OrganiserOut)
def retire_organiser(
    city: CityCode,
    organiser_id: Annotated[str, Path(min_length=1, max_length=100)],
    session: SessionDep,
    caller: GisCell,
) -> OrganiserOut:
    """Retire a CO: no longer planned for, but kept (plans refer to it). Re-add it with PUT."""
    return organiser_out(
        service.retire_organiser(session, city, organiser_id, actor=caller.name), caller
    )
