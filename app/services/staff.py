"""The city's City Mission Managers: a list (CSV or JSON, checked by ``gis.staff``) replaces the
active ones; those it leaves out are retired, not deleted. The allocation order prints them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import CityMissionManager
from app.services import audit
from app.services.cities import get_city
from gis.staff import Cmm


@dataclass(frozen=True)
class Replaced:
    stored: int
    retired: int
    active: list[CityMissionManager]


def replace_cmms(
    session: Session,
    city_code: str,
    cmms: list[Cmm],
    *,
    actor: str = "api",
    action: str = "cmms.replace",
) -> Replaced:
    """Make ``cmms`` (already checked, in the list's order) the city's active CMMs."""
    city = get_city(session, city_code, lock=True)
    existing = {
        row.cmm_id: row
        for row in session.scalars(
            select(CityMissionManager).where(CityMissionManager.city_id == city.id)
        )
    }
    listed = {c.cmm_id for c in cmms}
    now = datetime.now(UTC)
    retired = 0
    for cmm_id, row in existing.items():
        if cmm_id not in listed and row.active:
            row.active, row.retired_at = False, now
            retired += 1
    for position, cmm in enumerate(cmms):
        row = existing.get(cmm.cmm_id) or CityMissionManager(city_id=city.id, cmm_id=cmm.cmm_id)
        session.add(row)
        row.name, row.phone, row.email = cmm.name, cmm.phone, cmm.email
        row.components = None if cmm.components is None else list(cmm.components)
        row.position = position
        row.active, row.retired_at = True, None
    audit.record(
        session,
        actor,
        action,
        "city",
        city.id,
        city=city.code,
        stored=len(cmms),
        retired=retired,
    )
    session.flush()
    return Replaced(len(cmms), retired, _rows(session, city.id, include_retired=False))


def with_one(session: Session, city_code: str, cmm_id: str) -> tuple[list[Cmm], int]:
    """The city's active CMMs, and where CMM ``cmm_id`` stands among them (their number: a new
    one, or a retired one, joins the end)."""
    current = active_cmms(session, get_city(session, city_code).id)
    ids = [c.cmm_id for c in current]
    return current, ids.index(cmm_id) if cmm_id in ids else len(ids)


def _rows(session: Session, city_id: int, *, include_retired: bool) -> list[CityMissionManager]:
    query = select(CityMissionManager).where(CityMissionManager.city_id == city_id)
    if not include_retired:
        query = query.where(CityMissionManager.active)
    order = (CityMissionManager.active.desc(), CityMissionManager.position)
    return list(session.scalars(query.order_by(*order, CityMissionManager.cmm_id)))


def list_cmms(
    session: Session, city_code: str, *, include_retired: bool = False
) -> list[CityMissionManager]:
    """The city's CMMs in the list's order (the retired after the active ones)."""
    return _rows(session, get_city(session, city_code).id, include_retired=include_retired)


def active_cmms(session: Session, city_id: int) -> list[Cmm]:
    """The city's active CMMs as the allocation order takes them, in the list's order."""
    return [
        Cmm(
            row.cmm_id,
            row.name,
            row.phone,
            row.email,
            None if row.components is None else tuple(int(k) for k in row.components),
        )
        for row in _rows(session, city_id, include_retired=False)
    ]
