"""Dependencies shared by the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import session_scope
from app.schemas import CITY_CODE_PATTERN
from app.settings import Settings


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

#: Who the request acts for. There is no authentication yet; every write is recorded as this.
ACTOR = "api"
