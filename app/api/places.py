"""States, districts and cities: created and renamed by an admin, listed for admins and state keys.

A state key sees its own state and that state's cities only (another state's: 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select

from app.api.deps import Admin, CityCode, Reader, SessionDep, StateOfficer
from app.api.schemas import PROBLEM_RESPONSES
from app.api.schemas.state import (
    CityIn,
    CityOut,
    CityPatch,
    DistrictIn,
    DistrictOut,
    DistrictPatch,
    StateIn,
    StateOut,
    StatePatch,
)
from app.core.errors import NotFound
from app.db.models import City, District, State
from app.services import cities as service
from app.services.keys import Role

router = APIRouter(tags=["places"], responses=PROBLEM_RESPONSES)

StateCode = Annotated[
    str, Path(pattern=r"^[A-Za-z][A-Za-z0-9]{1,9}$", description="the state's code, e.g. UP")
]
DistrictCode = Annotated[str, Path(min_length=1, max_length=200, description="code or name")]


def state_out(session: SessionDep, state: State) -> StateOut:
    districts = session.scalar(
        select(func.count()).select_from(District).where(District.state_id == state.id)
    )
    cities = session.scalar(
        select(func.count(City.id))
        .join(District, City.district_id == District.id)
        .where(District.state_id == state.id)
    )
    return StateOut(
        code=state.code,
        name=state.name,
        lgd_code=state.lgd_code,
        districts=districts or 0,
        cities=cities or 0,
    )


def district_out(state: State, district: District) -> DistrictOut:
    return DistrictOut(
        state=state.code, code=district.code, name=district.name, lgd_code=district.lgd_code
    )


def city_out(city: City, district: District, state: State) -> CityOut:
    return CityOut(
        code=city.code,
        name=city.name,
        lgd_code=city.lgd_code,
        state=state.code,
        state_name=state.name,
        district=district.code,
        district_name=district.name,
        cos_in_post=city.cos_in_post,
        cmms_in_post=city.cmms_in_post,
        has_layer=city.current_layer_id is not None,
    )


def _city_row(session: SessionDep, code: str) -> CityOut:
    city = service.get_city(session, code)
    district = session.get_one(District, city.district_id)
    return city_out(city, district, session.get_one(State, district.state_id))


# -- states -----------------------------------------------------------------------------------------


@router.get("/states", response_model=list[StateOut])
def list_states(session: SessionDep, caller: StateOfficer) -> list[StateOut]:
    """Every state (admin); a state key gets its own state only."""
    rows = service.list_states(session)
    if caller.role is Role.STATE:
        rows = [s for s in rows if s.code == caller.state]
    return [state_out(session, s) for s in rows]


@router.post("/states", status_code=201, response_model=StateOut)
def create_state(body: StateIn, session: SessionDep, caller: Admin) -> StateOut:
    state = service.create_state(session, body.code, body.name, body.lgd_code, actor=caller.name)
    return state_out(session, state)


@router.get("/states/{state}", response_model=StateOut)
def get_state(state: StateCode, session: SessionDep, _caller: StateOfficer) -> StateOut:
    return state_out(session, service.get_state(session, state))


@router.patch("/states/{state}", response_model=StateOut)
def update_state(
    state: StateCode, body: StatePatch, session: SessionDep, caller: Admin
) -> StateOut:
    """Rename a state or set its LGD code."""
    found = service.update_state(
        session, state, name=body.name, lgd_code=body.lgd_code, actor=caller.name
    )
    return state_out(session, found)


# -- districts -------------------------------------------------------------------------------------


@router.get("/states/{state}/districts", response_model=list[DistrictOut])
def list_districts(
    state: StateCode, session: SessionDep, _caller: StateOfficer
) -> list[DistrictOut]:
    found = service.get_state(session, state)
    return [district_out(found, d) for d in service.list_districts(session, state)]


@router.post("/states/{state}/districts", status_code=201, response_model=DistrictOut)
def create_district(
    state: StateCode, body: DistrictIn, session: SessionDep, caller: Admin
) -> DistrictOut:
    district = service.create_district(
        session, state, body.name, body.code, body.lgd_code, actor=caller.name
    )
    return district_out(service.get_state(session, state), district)


@router.patch("/states/{state}/districts/{district}", response_model=DistrictOut)
def update_district(
    state: StateCode,
    district: DistrictCode,
    body: DistrictPatch,
    session: SessionDep,
    caller: Admin,
) -> DistrictOut:
    """Rename a district or set its LGD code (its code stays)."""
    found = service.update_district(
        session, state, district, name=body.name, lgd_code=body.lgd_code, actor=caller.name
    )
    return district_out(service.get_state(session, state), found)


# -- cities ------------------------------------------------------------------------------------------


@router.get("/cities", response_model=list[CityOut])
def list_cities(
    session: SessionDep,
    caller: StateOfficer,
    state: Annotated[str | None, Query(max_length=10)] = None,
    district: Annotated[str | None, Query(max_length=200)] = None,
) -> list[CityOut]:
    """Cities with their district and state; a state key gets its own state's only."""
    if caller.role is Role.STATE:
        if state is not None and state.upper() != caller.state:
            raise NotFound("state not found", f"there is no state {state!r}")
        state = caller.state
    if district is not None and state is None:
        raise NotFound("district not found", "name the district's state too (?state=)")
    return [city_out(*row) for row in service.list_cities(session, state, district)]


@router.post("/cities", status_code=201, response_model=CityOut)
def create_city(body: CityIn, session: SessionDep, caller: Admin) -> CityOut:
    """A new city (ULB) in a district of an existing state (the district is made if missing)."""
    fields = service.CityFields(body.name, body.lgd_code, body.cos_in_post, body.cmms_in_post)
    place = service.Place(body.state, body.district, body.name)
    service.create_city(session, body.code, place, fields, actor=caller.name)
    return _city_row(session, body.code)


@router.get("/cities/{city}", response_model=CityOut)
def get_city(city: CityCode, session: SessionDep, _caller: Reader) -> CityOut:
    return _city_row(session, city)


@router.patch("/cities/{city}", response_model=CityOut)
def update_city(city: CityCode, body: CityPatch, session: SessionDep, caller: Admin) -> CityOut:
    """Rename a city, set its LGD code or posts in post, or move it (``state`` + ``district``)."""
    fields = service.CityFields(body.name, body.lgd_code, body.cos_in_post, body.cmms_in_post)
    move = None
    if body.state is not None or body.district is not None:
        if body.state is None or body.district is None:
            raise service.InvalidPlace("state and district go together", "name both to move")
        move = service.Place(body.state, body.district)
    service.update_city(session, city, fields, move_to=move, actor=caller.name)
    return _city_row(session, city)
