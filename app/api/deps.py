"""Dependencies shared by the routes: settings, the request's session, and who is asking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Final

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas import CITY_CODE_PATTERN
from app.core.errors import Forbidden, NotFound, Unauthorized
from app.core.settings import Settings
from app.db.session import session_scope
from app.services import keys
from app.services.cities import city_state_code
from app.services.keys import Principal, Role


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_session(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    """One session per request: committed when the route returns, before the response is sent;
    rolled back when it raises."""
    with session_scope(factory) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CityCode = Annotated[
    str, Path(pattern=CITY_CODE_PATTERN, description="the city's short name, e.g. lucknow")
]


# -- who is asking ---------------------------------------------------------------------------------

API_KEY_HEADER: Final = "x-api-key"
#: Declared for the OpenAPI description (the "Authorize" button of /docs, clients, fuzzers); the
#: header itself is read by :func:`presented_token`.
_BEARER = HTTPBearer(auto_error=False, description="an API key (`wardplan keys issue`)")
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key")


def presented_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` or ``X-API-Key: <token>``; None when the
    request sends neither. Any other ``Authorization`` scheme is refused (401), not ignored."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "unsupported authorization", "send the API key as Authorization: Bearer <key>"
            )
        return token.strip()
    key = request.headers.get(API_KEY_HEADER)
    return None if key is None else key.strip()


def get_principal(
    request: Request,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    _api_key: Annotated[str | None, Depends(_API_KEY)],
) -> Principal | None:
    """The key the request presents (None without one; 401 for an unknown or revoked key).

    Looked up in a short transaction of its own, so ``last_used_at`` is never held locked for the
    length of a slow request.
    """
    token = presented_token(request)
    if token is None:
        return None
    with session_scope(factory) as session:
        principal = keys.authenticate(session, token)
    if principal is None:
        raise Unauthorized("invalid API key", "the API key is unknown or has been revoked")
    return principal


def require(*roles: Role, anonymous: bool = False) -> Callable[..., Principal | None]:
    """A dependency admitting ``roles`` (and admin, always); ``anonymous``: anyone, no key needed.

    Without a key: 401. A key of another role: 403. A key of another city than the path's
    ``{city}``: 404 with the body a missing city gets, so a key never learns what other cities
    exist.
    """

    def dependency(
        request: Request,
        principal: Annotated[Principal | None, Depends(get_principal)],
        factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
    ) -> Principal | None:
        if principal is None:
            if anonymous:
                return None
            raise Unauthorized(
                "API key required", "send an API key: Authorization: Bearer <key> (or X-API-Key)"
            )
        admitted = anonymous or principal.role is Role.ADMIN or principal.role in roles
        if not admitted:
            raise Forbidden(
                "not allowed for this key",
                f"a {principal.role.value} key may not do this",
            )
        city = request.path_params.get("city")
        if isinstance(city, str) and not principal.reaches(city):
            raise NotFound("city not found", f"there is no city {city!r}")
        if principal.role is Role.STATE:
            _within_state(principal, request.path_params, factory)
        return principal

    return dependency


def _within_state(
    principal: Principal, params: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A state key reaches its own state and that state's cities only: 404 for any other (the
    body a missing one gets), so a state key never learns what other states' objects exist."""
    state = params.get("state")
    if state is not None and state.upper() != principal.state:
        raise NotFound("state not found", f"there is no state {state!r}")
    city = params.get("city")
    if city is not None:
        with session_scope(factory) as session:
            found = city_state_code(session, city)
        if found is None or found != principal.state:
            raise NotFound("city not found", f"there is no city {city!r}")


#: Any key: reads of a city's layers, plans, jobs (organisers' homes coarsened, see HomeReader).
Reader = Annotated[Principal, Depends(require(Role.GIS, Role.CMMU, Role.API_CLIENT, Role.STATE))]
#: Any key, or none (None): routes with another way in (the map page's signed links).
MaybeReader = Annotated[
    Principal | None,
    Depends(require(Role.GIS, Role.CMMU, Role.API_CLIENT, Role.STATE, anonymous=True)),
]
#: Keys that see organisers' exact homes (personal data).
HomeReader = Annotated[Principal, Depends(require(Role.GIS, Role.CMMU))]
#: The city's GIS cell: ward layers and the CO roster.
GisCell = Annotated[Principal, Depends(require(Role.GIS))]
#: The city's CMMU: plan requests, cancellations, approvals, comparisons.
Cmmu = Annotated[Principal, Depends(require(Role.CMMU))]
#: A state's officers (their own state only) and admins: the state's lists and dashboard.
StateOfficer = Annotated[Principal, Depends(require(Role.STATE))]
#: Admins only: the hierarchy's changes, imports, state plan batches, the national roll-up.
Admin = Annotated[Principal, Depends(require())]
#: Stateless allocation for other systems.
ApiClient = Annotated[Principal, Depends(require(Role.API_CLIENT))]
