from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from app.api.deps import ACTOR, CityCode, SessionDep
from app.api.layers import read_upload
from app.db.models import Organiser
from app.schemas import PROBLEM_RESPONSES, OrganiserImport, OrganiserOut
from app.services import organisers as service

router = APIRouter(tags=["organisers"], responses=PROBLEM_RESPONSES)


def organiser_out(row: Organiser) -> OrganiserOut:
    return OrganiserOut(
        organiser_id=row.organiser_id, name=row.name, home_ward=row.home_ward, active=row.active
    )


@router.post("/cities/{city}/organisers", status_code=201, response_model=OrganiserImport)
def import_organisers(
    city: CityCode,
    session: SessionDep,
    file: Annotated[
        UploadFile, File(description="CSV: organiser_id, name, and lat+lon or home_ward")
    ],
) -> OrganiserImport:
    """Make the CSV the city's roster of active COs (missing ones are retired, not deleted)."""
    upload = read_upload(file, "organisers.csv")
    result = service.import_organisers(session, city, upload, actor=ACTOR)
    return OrganiserImport(
        city=city,
        imported=result.imported,
        retired=result.retired,
        active=len(result.active),
        warnings=result.warnings,
        organisers=[organiser_out(o) for o in result.active],
    )


@router.get("/cities/{city}/organisers", response_model=list[OrganiserOut])
def list_organisers(
    city: CityCode,
    session: SessionDep,
    include_retired: Annotated[bool, Query()] = False,
) -> list[OrganiserOut]:
    """The city's COs (without their exact homes)."""
    rows = service.list_organisers(session, city, include_retired=include_retired)
    return [organiser_out(o) for o in rows]
