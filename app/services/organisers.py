"""Organisers: a city's roster imported from a CSV, or one CO added, edited or retired; always
checked against the current layer's wards."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.db.models import Organiser, WardLayer
from app.services import audit
from app.services.cities import get_city, require_current_layer
from app.services.frames import point, stored_layer
from app.services.layers import Upload, safe_name
from gis.errors import InputError, Issue
from gis.layer import FileBytes
from gis.organisers import check_organiser, read_organisers
from gis.text import client_text_problem

_LINE = re.compile(r"^line \d+: ")


@dataclass(frozen=True)
class ImportResult:
    imported: int
    retired: int
    active: list[Organiser]
    warnings: list[str]


def import_organisers(
    session: Session, city_code: str, upload: Upload, *, actor: str = "api"
) -> ImportResult:
    """Make the CSV the city's roster of active COs.

    COs in the file are added or updated (name, home, and phone and e-mail: blank when the file
    has none) and active; active COs missing from the file are retired (kept, because plans refer
    to them). The file is checked completely first
    (``gis.organisers.read_organisers`` against the current layer's wards); a refused file changes
    nothing.
    """
    city = get_city(session, city_code, lock=True)
    layer = session.get_one(WardLayer, require_current_layer(city))
    wards = stored_layer(session, layer).wards
    warnings: list[str] = []
    data = FileBytes(safe_name(upload.filename, "organisers.csv"), upload.data)
    found = read_organisers(data, wards, warnings=warnings)

    existing = {
        o.organiser_id: o
        for o in session.scalars(select(Organiser).where(Organiser.city_id == city.id))
    }
    listed = {o.organiser_id for o in found}
    now = datetime.now(UTC)
    retired = 0
    for oid, row in existing.items():
        if oid not in listed and row.active:
            row.active, row.retired_at = False, now
            retired += 1
    for o in found:
        row = existing.get(o.organiser_id) or Organiser(
            city_id=city.id, organiser_id=o.organiser_id
        )
        session.add(row)
        row.name = o.name
        row.home = point(o.lon, o.lat)
        row.home_ward = o.home_ward
        row.phone, row.email = o.phone, o.email
        row.active, row.retired_at = True, None
    audit.record(
        session,
        actor,
        "organisers.import",
        "city",
        city.id,
        city=city.code,
        imported=len(found),
        retired=retired,
    )
    session.flush()
    return ImportResult(len(found), retired, active_organisers(session, city.id), warnings)


@dataclass(frozen=True)
class OrganiserEdit:
    """One CO as a client sends it: a home (``lat`` + ``lon``, WGS 84) or a home ward."""

    organiser_id: str
    name: str
    lat: float | None = None
    lon: float | None = None
    home_ward: str | None = None


def save_organiser(
    session: Session, city_code: str, edit: OrganiserEdit, *, actor: str = "api"
) -> tuple[Organiser, bool]:
    """Add a CO or change one (name, home), making it active; returns the row and whether it is
    new. Checked exactly as a CSV row is (``check_organiser`` against the current layer), with
    no file."""
    _check_edit(edit)
    city = get_city(session, city_code, lock=True)
    layer = session.get_one(WardLayer, require_current_layer(city))
    wards = stored_layer(session, layer).wards
    values = {
        "organiser_id": edit.organiser_id,
        "name": edit.name,
        "lat": "" if edit.lat is None else repr(edit.lat),
        "lon": "" if edit.lon is None else repr(edit.lon),
        "home_ward": edit.home_ward or "",
    }
    try:
        found = check_organiser(values, wards, label="organiser.csv")
    except InputError as exc:
        raise _in_json_terms(exc, edit.organiser_id) from None
    row = session.scalars(
        select(Organiser).where(
            Organiser.city_id == city.id, Organiser.organiser_id == found.organiser_id
        )
    ).one_or_none()
    created = row is None
    if row is None:
        row = Organiser(city_id=city.id, organiser_id=found.organiser_id)
        session.add(row)
    row.name = found.name
    row.home = point(found.lon, found.lat)
    row.home_ward = found.home_ward
    row.active, row.retired_at = True, None
    action = "organiser.add" if created else "organiser.edit"
    audit.record(session, actor, action, "organiser", found.organiser_id, city=city.code)
    session.flush()
    return row, created


def _check_edit(edit: OrganiserEdit) -> None:
    """Refuse text an upload would refuse (NUL, surrogates, controls, bidi, U+FFFD), before it
    is written anywhere."""
    texts = (
        ("organiser_id", edit.organiser_id),
        ("name", edit.name),
        ("home_ward", edit.home_ward),
    )
    issues = [
        Issue("bad-text", f"{field} {problem}", field=field, value=value)
        for field, value in texts
        if value is not None and (problem := client_text_problem(value))
    ]
    if issues:
        raise InputError("the organiser was refused", issues, code="invalid-organisers")


def _in_json_terms(exc: InputError, organiser_id: str) -> InputError:
    """The checks of a CSV row, told about the JSON body they came from (no file, no line)."""
    issues = [replace(i, file=None, message=_LINE.sub("", i.message, count=1)) for i in exc.issues]
    return InputError(f"organiser {organiser_id!r} was refused", issues, code=exc.code)


def retire_organiser(
    session: Session, city_code: str, organiser_id: str, *, actor: str = "api"
) -> Organiser:
    """Retire a CO (kept: plans refer to it); retiring a retired CO changes nothing."""
    city = get_city(session, city_code, lock=True)
    row = session.scalars(
        select(Organiser).where(
            Organiser.city_id == city.id, Organiser.organiser_id == organiser_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound("organiser not found", f"{city_code!r} has no organiser {organiser_id!r}")
    if row.active:
        row.active, row.retired_at = False, datetime.now(UTC)
        audit.record(session, actor, "organiser.retire", "organiser", organiser_id, city=city.code)
        session.flush()
    return row


def active_organisers(session: Session, city_id: int) -> list[Organiser]:
    """A city's active COs, ordered by their id (the order plans use)."""
    return list(
        session.scalars(
            select(Organiser)
            .where(Organiser.city_id == city_id, Organiser.active)
            .order_by(Organiser.organiser_id)
        )
    )


def list_organisers(session: Session, city_code: str, *, include_retired: bool) -> list[Organiser]:
    city = get_city(session, city_code)
    query = select(Organiser).where(Organiser.city_id == city.id)
    if not include_retired:
        query = query.where(Organiser.active)
    return list(session.scalars(query.order_by(Organiser.organiser_id)))


def count_active(session: Session, city_id: int) -> int:
    return (
        session.scalar(
            select(func.count(Organiser.id)).where(Organiser.city_id == city_id, Organiser.active)
        )
        or 0
    )
