"""Community centres: the contact points a CO's area can use (shown on the map and CO sheets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from app.api.deps import CityCode, GisCell, Reader, SessionDep
from app.api.layers import read_upload
from app.api.schemas import PROBLEM_RESPONSES, CentreOut
from app.services import centres as service

router = APIRouter(tags=["community centres"], responses=PROBLEM_RESPONSES)


def _out(frame: object) -> list[CentreOut]:
    return [
        CentreOut(
            name=str(r.name),
            lat=r.geometry.y,
            lon=r.geometry.x,
            ward_id=r.ward_id if isinstance(r.ward_id, str) else None,  # pandas: None → NaN
        )
        for r in frame.itertuples()  # type: ignore[attr-defined]
    ]


@router.post("/cities/{city}/community-centres", status_code=201, response_model=list[CentreOut])
def import_centres(
    city: CityCode,
    session: SessionDep,
    caller: GisCell,
    file: Annotated[UploadFile, File(description="CSV: name, lat, lon (WGS 84)")],
) -> list[CentreOut]:
    """Make the CSV the city's community centres (all or nothing; each must be in a ward)."""
    upload = read_upload(file, "community_centres.csv")
    return _out(service.replace_centres(session, city, upload, actor=caller.name))


@router.get("/cities/{city}/community-centres", response_model=list[CentreOut])
def list_centres(city: CityCode, session: SessionDep, _caller: Reader) -> list[CentreOut]:
    """The city's community centres and the ward each lies in."""
    return _out(service.list_centres(session, city))
