"""Cities: found by their code, created on first upload, locked while a new version is numbered."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.models import City, District, State
from app.errors import Conflict, NotFound

#: Cities created through the API before anyone names their state and district.
UNASSIGNED = "Unassigned"


def get_city(session: Session, code: str, *, lock: bool = False) -> City:
    """The city with ``code``; ``NotFound`` if there is none. ``lock``: SELECT … FOR UPDATE."""
    query = select(City).where(City.code == code)
    if lock:
        query = query.with_for_update()
    city = session.scalars(query).one_or_none()
    if city is None:
        raise NotFound("city not found", f"there is no city {code!r}")
    return city


def ensure_city(session: Session, code: str, name: str | None = None) -> City:
    """The city with ``code``, created (under an unassigned state and district) when missing, and
    locked for the rest of the transaction so concurrent uploads number their versions in turn."""
    session.execute(
        insert(State)
        .values(code=UNASSIGNED.upper(), name=UNASSIGNED)
        .on_conflict_do_nothing(index_elements=["code"])
    )
    state_id = session.scalars(select(State.id).where(State.code == UNASSIGNED.upper())).one()
    session.execute(
        insert(District)
        .values(state_id=state_id, name=UNASSIGNED)
        .on_conflict_do_nothing(index_elements=["state_id", "name"])
    )
    district_id = session.scalars(
        select(District.id).where(District.state_id == state_id, District.name == UNASSIGNED)
    ).one()
    session.execute(
        insert(City)
        .values(district_id=district_id, code=code, name=name or code)
        .on_conflict_do_nothing()
    )
    return get_city(session, code, lock=True)


def require_current_layer(city: City) -> int:
    if city.current_layer_id is None:
        raise Conflict(
            "the city has no ward layer",
            f"upload a ward layer for {city.code!r} first (POST /cities/{city.code}/layers)",
            code="no-ward-layer",
        )
    return city.current_layer_id
