"""States, districts and cities (urban local bodies): created, renamed, listed, and found by code.

The mission runs on four levels (nation, state, district, city). Every city belongs to a district
of a state; a ward layer is uploaded for a city that exists, or names the state and district that
the new city is filed under. Codes: a state's short code (``UP``), a district's code within its
state (``lucknow``), a city's code (``lucknow``, as in the URLs), and each one's Local Government
Directory (LGD) code when known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.codes import CITY_CODE_PATTERN
from app.core.errors import Conflict, DomainError, NotFound
from app.db.models import City, District, State
from app.services import audit

#: A state's short code, e.g. UP, KA, CH, MH.
STATE_CODE_PATTERN: Final = r"^[A-Z][A-Z0-9]{1,9}$"
#: A district's code within its state (as a city code).
DISTRICT_CODE_PATTERN: Final = CITY_CODE_PATTERN

T = TypeVar("T")


class InvalidPlace(DomainError):
    code = "invalid-place"


@dataclass(frozen=True)
class Place:
    """Where a new city goes: its state's code, its district (code or name), and its own name.
    ``state_name``: create the state too when there is none with that code."""

    state: str
    district: str
    city_name: str | None = None
    state_name: str | None = None


def slug(text: str) -> str:
    """A code made from a name: lowercase ASCII letters and digits joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63]


def _check(value: str, pattern: str, what: str) -> str:
    if not re.fullmatch(pattern, value):
        raise InvalidPlace(f"bad {what} code", f"{what} code {value!r} does not match {pattern}")
    return value


def _name(value: str, what: str) -> str:
    name = value.strip()
    if not name or len(name) > 200:
        raise InvalidPlace(f"bad {what} name", f"a {what} name has 1–200 characters: {value!r}")
    return name


def _lgd(value: int | None, what: str) -> int | None:
    if value is not None and not 0 < value < 2**31:
        raise InvalidPlace("bad LGD code", f"the {what}'s LGD code must be positive: {value}")
    return value


def _posts(value: int | None, what: str) -> int | None:
    if value is not None and not 0 <= value < 100_000:
        raise InvalidPlace(f"bad {what} count", f"{what} in post must be 0–99,999: {value}")
    return value


def _unique(session: Session, add: Callable[[], T], what: str) -> T:
    """Run ``add`` in a savepoint; a unique-constraint clash becomes a ``Conflict`` naming it."""
    try:
        with session.begin_nested():
            result = add()
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"{what} already exists", f"{what}: the code, name or LGD code is taken"
        ) from exc
    return result


# -- states --------------------------------------------------------------------------------------------


def get_state(session: Session, code: str) -> State:
    state = session.scalars(select(State).where(State.code == code.upper())).one_or_none()
    if state is None:
        raise NotFound("state not found", f"there is no state {code!r}")
    return state


def list_states(session: Session) -> list[State]:
    return list(session.scalars(select(State).order_by(State.code)))


def create_state(
    session: Session, code: str, name: str, lgd_code: int | None = None, *, actor: str
) -> State:
    state = State(
        code=_check(code.upper(), STATE_CODE_PATTERN, "state"),
        name=_name(name, "state"),
        lgd_code=_lgd(lgd_code, "state"),
    )
    _unique(session, lambda: session.add(state), f"state {state.code!r}")
    audit.record(session, actor, "state.create", "state", state.id, code=state.code, name=name)
    return state


def ensure_state(
    session: Session, code: str, name: str, lgd_code: int | None = None, *, actor: str
) -> State:
    """The state with ``code``, created (with ``name``) when there is none."""
    found = session.scalars(select(State).where(State.code == code.upper())).one_or_none()
    return found or create_state(session, code, name, lgd_code, actor=actor)


def update_state(
    session: Session, code: str, *, name: str | None = None, lgd_code: int | None = None, actor: str
) -> State:
    """Rename a state or set its LGD code (its short code stays: keys and URLs name it)."""
    state = get_state(session, code)
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _name(name, "state")
    if lgd_code is not None:
        changes["lgd_code"] = _lgd(lgd_code, "state")

    def apply() -> None:
        for key, value in changes.items():
            setattr(state, key, value)

    _unique(session, apply, f"state {state.code!r}")
    audit.record(session, actor, "state.update", "state", state.id, code=state.code, **changes)
    return state


# -- districts -----------------------------------------------------------------------------------------


def find_district(session: Session, state: State, code_or_name: str) -> District | None:
    """The state's district whose code or name (case-insensitive) is ``code_or_name``."""
    wanted = code_or_name.strip()
    return session.scalars(
        select(District).where(
            District.state_id == state.id,
            (District.code == slug(wanted)) | (func.lower(District.name) == wanted.lower()),
        )
    ).first()


def get_district(session: Session, state_code: str, code: str) -> District:
    state = get_state(session, state_code)
    district = find_district(session, state, code)
    if district is None:
        raise NotFound("district not found", f"state {state.code!r} has no district {code!r}")
    return district


def list_districts(session: Session, state_code: str) -> list[District]:
    state = get_state(session, state_code)
    return list(
        session.scalars(
            select(District).where(District.state_id == state.id).order_by(District.name)
        )
    )


def create_district(
    session: Session,
    state_code: str,
    name: str,
    code: str | None = None,
    lgd_code: int | None = None,
    *,
    actor: str,
) -> District:
    state = get_state(session, state_code)
    name = _name(name, "district")
    district = District(
        state_id=state.id,
        name=name,
        code=_check(code or slug(name), DISTRICT_CODE_PATTERN, "district"),
        lgd_code=_lgd(lgd_code, "district"),
    )
    _unique(session, lambda: session.add(district), f"district {district.code!r} of {state.code}")
    audit.record(
        session, actor, "district.create", "district", district.id, state=state.code, name=name
    )
    return district


def update_district(
    session: Session,
    state_code: str,
    code: str,
    *,
    name: str | None = None,
    lgd_code: int | None = None,
    actor: str,
) -> District:
    district = get_district(session, state_code, code)
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = _name(name, "district")
    if lgd_code is not None:
        changes["lgd_code"] = _lgd(lgd_code, "district")

    def apply() -> None:
        for key, value in changes.items():
            setattr(district, key, value)

    _unique(session, apply, f"district {district.code!r}")
    audit.record(session, actor, "district.update", "district", district.id, **changes)
    return district


def ensure_district(session: Session, state_code: str, district: str, *, actor: str) -> District:
    """The state's district named (or coded) ``district``, created when the state has none."""
    state = get_state(session, state_code)
    found = find_district(session, state, district)
    return found or create_district(session, state.code, district, actor=actor)


# -- cities --------------------------------------------------------------------------------------------


def get_city(session: Session, code: str, *, lock: bool = False) -> City:
    """The city with ``code``; ``NotFound`` if there is none. ``lock``: SELECT … FOR UPDATE."""
    query = select(City).where(City.code == code)
    if lock:
        query = query.with_for_update()
    city = session.scalars(query).one_or_none()
    if city is None:
        raise NotFound("city not found", f"there is no city {code!r}")
    return city


def city_state_code(session: Session, code: str) -> str | None:
    """The code of the state the city is in; None when there is no such city."""
    return session.scalar(
        select(State.code)
        .join(District, District.state_id == State.id)
        .join(City, City.district_id == District.id)
        .where(City.code == code)
    )


def list_cities(
    session: Session, state_code: str | None = None, district: str | None = None
) -> list[tuple[City, District, State]]:
    """Cities with their district and state, by state, district and city code."""
    query = (
        select(City, District, State)
        .join(District, City.district_id == District.id)
        .join(State, District.state_id == State.id)
        .order_by(State.code, District.name, City.code)
    )
    if state_code is not None:
        state = get_state(session, state_code)
        query = query.where(State.id == state.id)
        if district is not None:
            found = get_district(session, state.code, district)
            query = query.where(District.id == found.id)
    return [(c, d, s) for c, d, s in session.execute(query).all()]


@dataclass(frozen=True)
class CityFields:
    """What may be set on a city besides its code and place (None: leave as it is)."""

    name: str | None = None
    lgd_code: int | None = None
    cos_in_post: int | None = None
    cmms_in_post: int | None = None


def create_city(
    session: Session, code: str, place: Place, fields: CityFields = CityFields(), *, actor: str
) -> City:
    """A new city in ``place``'s district (created when the state has no such district; the state
    too when ``place`` names it)."""
    if place.state_name is not None:
        ensure_state(session, place.state, place.state_name, actor=actor)
    district = ensure_district(session, place.state, place.district, actor=actor)
    city = City(
        district_id=district.id,
        code=_check(code, CITY_CODE_PATTERN, "city"),
        name=_name(fields.name or place.city_name or code, "city"),
        lgd_code=_lgd(fields.lgd_code, "city"),
        cos_in_post=_posts(fields.cos_in_post, "COs"),
        cmms_in_post=_posts(fields.cmms_in_post, "CMMs"),
    )
    _unique(session, lambda: session.add(city), f"city {code!r}")
    audit.record(session, actor, "city.create", "city", city.id, code=code, district=district.code)
    return city


def update_city(
    session: Session,
    code: str,
    fields: CityFields,
    *,
    move_to: Place | None = None,
    actor: str,
) -> City:
    """Rename a city, set its LGD code or posts, or move it to another district."""
    city = get_city(session, code, lock=True)
    changes: dict[str, object] = {}
    if fields.name is not None:
        changes["name"] = _name(fields.name, "city")
    if fields.lgd_code is not None:
        changes["lgd_code"] = _lgd(fields.lgd_code, "city")
    if fields.cos_in_post is not None:
        changes["cos_in_post"] = _posts(fields.cos_in_post, "COs")
    if fields.cmms_in_post is not None:
        changes["cmms_in_post"] = _posts(fields.cmms_in_post, "CMMs")
    if move_to is not None:
        changes["district_id"] = ensure_district(
            session, move_to.state, move_to.district, actor=actor
        ).id

    def apply() -> None:
        for key, value in changes.items():
            setattr(city, key, value)

    _unique(session, apply, f"city {code!r}")
    audit.record(session, actor, "city.update", "city", city.id, code=code, **changes)
    return city


def ensure_city(session: Session, code: str, place: Place | None = None, *, actor: str) -> City:
    """The city with ``code``, locked for the rest of the transaction so concurrent uploads number
    their versions in turn; created in ``place`` when missing. A missing city without a place, or
    a place other than the existing city's, is refused."""
    existing = session.scalars(select(City).where(City.code == code)).one_or_none()
    if existing is None:
        if place is None:
            raise NotFound(
                "city not found",
                f"there is no city {code!r}: create it first (POST /cities, `wardplan places "
                "add-city`) or name its state and district with the upload",
            )
        create_city(session, code, place, actor=actor)
    elif place is not None:
        _same_place(session, existing, place)
    return get_city(session, code, lock=True)


def check_place(session: Session, code: str, place: Place | None) -> None:
    """Refuse ``place`` when the city exists elsewhere (nothing to check for a new city)."""
    existing = session.scalars(select(City).where(City.code == code)).one_or_none()
    if existing is not None and place is not None:
        _same_place(session, existing, place)


def _same_place(session: Session, city: City, place: Place) -> None:
    district = session.get_one(District, city.district_id)
    state = session.get_one(State, district.state_id)
    found = find_district(session, state, place.district)
    if state.code != place.state.upper() or found is None or found.id != district.id:
        raise Conflict(
            "the city is elsewhere",
            f"city {city.code!r} is in {district.name}, {state.name} ({state.code}), not in "
            f"{place.district}, {place.state}; move it first",
            code="city-elsewhere",
        )


def require_current_layer(city: City) -> int:
    if city.current_layer_id is None:
        raise Conflict(
            "the city has no ward layer",
            f"upload a ward layer for {city.code!r} first (POST /cities/{city.code}/layers)",
            code="no-ward-layer",
        )
    return city.current_layer_id
