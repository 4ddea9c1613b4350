"""A city's pinned wards ("ward 57 stays with CO-04"): read by every reader of the city, set by
the CMMU (the whole list, one pin, or one removed). Every fresh plan and re-plan of the city keeps
them, or says which pin makes the plan impossible (``app.services.pins``, ``solver.pins``)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from app.api.deps import CityCode, Cmmu, Reader, SessionDep
from app.api.schemas import PROBLEM_RESPONSES
from app.api.schemas.pins import PinIn, PinList, PinOut, PinsOut
from app.db.models import WardPin
from app.services import pins as service

router = APIRouter(tags=["pins"], responses=PROBLEM_RESPONSES)


def _out(row: WardPin) -> PinOut:
    return PinOut(
        ward_id=row.ward_id,
        organiser_id=row.organiser_id,
        reason=row.reason,
        set_by=row.set_by,
        set_at=row.set_at,
    )


def _all(city: str, rows: Sequence[WardPin]) -> PinsOut:
    return PinsOut(city=city, pins=[_out(r) for r in rows])


def _pin(p: PinIn) -> service.PinIn:
    return service.PinIn(p.ward_id.strip(), p.organiser_id.strip(), p.reason or None)


@router.get("/cities/{city}/pins", response_model=PinsOut)
def list_pins(city: CityCode, session: SessionDep, caller: Reader) -> PinsOut:
    """The city's pins, by ward."""
    return _all(city, service.list_pins(session, city))


@router.put("/cities/{city}/pins", response_model=PinsOut)
def replace_pins(city: CityCode, body: PinList, session: SessionDep, caller: Cmmu) -> PinsOut:
    """Make the list the city's pins (checked whole: a refused list stores nothing)."""
    rows = service.replace_pins(session, city, [_pin(p) for p in body.pins], actor=caller.name)
    return _all(city, rows)


@router.post("/cities/{city}/pins", response_model=PinOut, status_code=201)
def add_pin(city: CityCode, body: PinIn, session: SessionDep, caller: Cmmu) -> PinOut:
    """Pin one more ward (a ward pinned already: 409, naming its pin)."""
    return _out(service.add_pin(session, city, _pin(body), actor=caller.name))


@router.delete("/cities/{city}/pins/{ward_id}", response_model=PinOut)
def remove_pin(city: CityCode, ward_id: str, session: SessionDep, caller: Cmmu) -> PinOut:
    """Remove one ward's pin; answers the pin removed."""
    return _out(service.remove_pin(session, city, ward_id, actor=caller.name))
