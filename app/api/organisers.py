from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from geoalchemy2.shape import to_shape

from app.api.deps import CityCode, GisCell, Reader, SessionDep
from app.api.layers import read_upload
from app.db.models import Organiser
from app.schemas import PROBLEM_RESPONSES, HomePoint, OrganiserImport, OrganiserOut
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
        active=row.active,
    )


@router.post("/cities/{city}/organisers", status_code=201, response_model=OrganiserImport)
def import_organisers(
    city: CityCode,
    session: SessionDep,
    caller: GisCell,
    file: Annotated[
        UploadFile, File(description="CSV: organiser_id, name, and lat+lon or home_ward")
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
