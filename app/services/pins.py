"""A city's pinned wards: "ward 57 stays with CO-04". Set by the CMMU (a whole list, one pin, or
one removed), kept by every fresh plan (:mod:`app.services.plans`, by :mod:`solver.pins`) and every
re-plan (:mod:`app.services.replans`, with the request's own pins added) of the city.

A pin names the ward and the CO by their codes, so it carries over layer versions when the ward
ids do. A pin is checked when it is set (the ward in the current layer, the CO on the active
roster) and again before every plan: a pin gone stale since (the ward dropped by a new layer, the
CO retired) is refused, named, before anything is solved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import Conflict, DomainError, NotFound
from app.db.models import City, Organiser, Ward, WardPin
from app.services import audit
from app.services.cities import get_city, require_current_layer
from app.services.organisers import active_organisers
from solver.problem import Problem


class BadPin(DomainError):
    """A pin that cannot be set or kept: names the pin and why (422)."""

    code = "bad-pin"


@dataclass(frozen=True)
class PinIn:
    """A pin as asked for: ward code, CO code, and why (optional)."""

    ward_id: str
    organiser_id: str
    reason: str | None = None


def list_pins(session: Session, city_code: str) -> list[WardPin]:
    """The city's pins, by ward code."""
    return _rows(session, get_city(session, city_code).id)


def _rows(session: Session, city_id: int) -> list[WardPin]:
    query = select(WardPin).where(WardPin.city_id == city_id).order_by(WardPin.ward_id)
    return list(session.scalars(query))


def stored_pins(session: Session, city_id: int) -> dict[str, str]:
    """``{ward_id: organiser_id}`` of the city's pins."""
    return {p.ward_id: p.organiser_id for p in _rows(session, city_id)}


def replace_pins(
    session: Session, city_code: str, pins: Sequence[PinIn], *, actor: str
) -> list[WardPin]:
    """Make ``pins`` the city's pins (an empty list removes them all); checked whole, a refused
    list stores nothing. A pin asked again unchanged keeps who set it and when."""
    city = get_city(session, city_code, lock=True)
    twice = sorted(w for w, n in Counter(p.ward_id for p in pins).items() if n > 1)
    if twice:
        raise BadPin("a ward is pinned twice", f"ward(s) {', '.join(twice)} appear more than once")
    _check_new(session, city, pins)
    existing = {p.ward_id: p for p in _rows(session, city.id)}
    listed = {p.ward_id for p in pins}
    for ward_id, gone in existing.items():
        if ward_id not in listed:
            session.delete(gone)
    for pin in pins:
        row = existing.get(pin.ward_id)
        if row is None:
            session.add(_row(city, pin, actor))
        elif (row.organiser_id, row.reason) != (pin.organiser_id, pin.reason):
            row.organiser_id, row.reason = pin.organiser_id, pin.reason
            row.set_by, row.set_at = actor, func.now()
    audit.record(
        session, actor, "pins.replace", "city", city.id, city=city.code, pins=_as_dict(pins)
    )
    session.flush()
    return _rows(session, city.id)


def add_pin(session: Session, city_code: str, pin: PinIn, *, actor: str) -> WardPin:
    """Pin one more ward; a ward already pinned is refused (409) naming its pin."""
    city = get_city(session, city_code, lock=True)
    old = _find(session, city.id, pin.ward_id)
    if old is not None:
        raise Conflict(
            "the ward is pinned already",
            f"ward {pin.ward_id} is pinned to {old.organiser_id} (set by {old.set_by}); remove "
            f"that pin first (DELETE /cities/{city.code}/pins/{pin.ward_id}) or replace the list",
            code="pin-exists",
        )
    _check_new(session, city, [pin])
    row = _row(city, pin, actor)
    session.add(row)
    audit.record(session, actor, "pins.add", "city", city.id, city=city.code, pins=_as_dict([pin]))
    session.flush()
    return row


def remove_pin(session: Session, city_code: str, ward_id: str, *, actor: str) -> WardPin:
    """Remove the pin of ``ward_id`` (404 when the ward is not pinned); returns the removed pin."""
    city = get_city(session, city_code, lock=True)
    row = _find(session, city.id, ward_id)
    if row is None:
        raise NotFound("pin not found", f"ward {ward_id} of {city.code!r} is not pinned")
    session.delete(row)
    gone = {row.ward_id: row.organiser_id}
    audit.record(session, actor, "pins.remove", "city", city.id, city=city.code, pins=gone)
    session.flush()
    return row


def _find(session: Session, city_id: int, ward_id: str) -> WardPin | None:
    query = select(WardPin).where(WardPin.city_id == city_id, WardPin.ward_id == ward_id)
    return session.scalars(query).one_or_none()


def _row(city: City, pin: PinIn, actor: str) -> WardPin:
    return WardPin(
        city_id=city.id,
        ward_id=pin.ward_id,
        organiser_id=pin.organiser_id,
        reason=pin.reason,
        set_by=actor,
    )


def _as_dict(pins: Sequence[PinIn]) -> dict[str, str]:
    return {p.ward_id: p.organiser_id for p in pins}


def _check_new(session: Session, city: City, pins: Sequence[PinIn]) -> None:
    blank = [f"pins[{k}]" for k, p in enumerate(pins) if not (p.ward_id and p.organiser_id)]
    if blank:
        raise BadPin("a pin needs a ward and a CO", f"{', '.join(blank)}: ward_id or CO is blank")
    layer_id = require_current_layer(city)
    wrong = stale(session, city, layer_id, _as_dict(pins))
    if wrong:
        raise BadPin("a pin cannot be set", "; ".join(wrong))


def stale(session: Session, city: City, layer_id: int, pins: Mapping[str, str]) -> list[str]:
    """One reason per pin naming a ward not in the layer ``layer_id`` or a CO not on the city's
    active roster."""
    wards = set(session.scalars(select(Ward.ward_id).where(Ward.layer_id == layer_id)))
    roster = {o.organiser_id for o in active_organisers(session, city.id)}
    wrong = []
    for w, o in sorted(pins.items()):
        if w not in wards:
            wrong.append(f"pin {w}={o}: ward {w} is not in the current layer of {city.code}")
        if o not in roster:
            wrong.append(f"pin {w}={o}: {o} is not an active CO of {city.code}")
    return wrong


def for_plan(
    session: Session,
    city: City,
    layer_id: int,
    asked: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The pins a plan of the city keeps: the stored ones and those ``asked`` by the request (a
    re-plan's). Refused, naming the pins, when an asked pin contradicts a stored one (422) or a
    pin names a ward not in the layer or a CO no longer active (409 for a stored pin)."""
    kept = stored_pins(session, city.id)
    extra = {str(w): str(o) for w, o in (asked or {}).items()}
    clash = [
        f"pin {w}={o} asked, but ward {w} is pinned to {kept[w]} for {city.code} "
        f"(remove the stored pin {w}={kept[w]} first)"
        for w, o in sorted(extra.items())
        if w in kept and kept[w] != o
    ]
    if clash:
        raise BadPin("a pin contradicts a stored pin", "; ".join(clash))
    wrong_asked = stale(session, city, layer_id, {w: o for w, o in extra.items() if w not in kept})
    if wrong_asked:
        raise BadPin("a pin cannot be kept", "; ".join(wrong_asked))
    wrong = stale(session, city, layer_id, kept)
    if wrong:
        raise Conflict(
            "a stored pin cannot be kept",
            "; ".join(wrong) + f" (change the pins: /cities/{city.code}/pins)",
            code="stale-pin",
        )
    return {**kept, **extra}


def home_notes(session: Session, city: City, pins: Mapping[str, str]) -> list[str]:
    """A note for each pin giving a ward that is another CO's home ward (allowed: a CO's area need
    not hold their home, but the CMMU should know)."""
    homes = {
        o.home_ward: o.organiser_id
        for o in session.scalars(
            select(Organiser).where(Organiser.city_id == city.id, Organiser.active)
        )
        if o.home_ward is not None
    }
    return [
        f"pin {w}={o}: ward {w} is the home ward of {homes[w]}, who will work from outside "
        "their area"
        for w, o in sorted(pins.items())
        if w in homes and homes[w] != o
    ]


def check_options(city: City, pins: Mapping[str, str], *, frontier: bool) -> None:
    """Refuse (409) what cannot keep the pins: the balance–distance frontier solves its points
    without them."""
    if pins and frontier:
        raise Conflict(
            "the frontier does not keep pins",
            f"{city.code} has {len(pins)} pinned ward(s) and the frontier's points are solved "
            f"without pins; plan without 'frontier', or remove the pins (/cities/{city.code}/pins)",
            code="pins-with-frontier",
        )


def report(
    session: Session,
    city: City,
    pins: Mapping[str, str],
    problem: Problem,
    assignment: Sequence[int] | None,
) -> dict[str, Any]:
    """The plan report's ``pins``: those kept (read back from the plan itself), those the plan
    could not keep (all, when there is no plan: its explanation says which make it impossible),
    and notes on pins that give away another CO's home ward."""
    unit = {u: i for i, u in enumerate(problem.unit_ids)}
    given = {}
    if assignment is not None:
        given = {w: problem.organiser_ids[assignment[unit[w]]] for w in pins if w in unit}
    kept = {w: o for w, o in sorted(pins.items()) if given.get(w) == o}
    return {
        "kept": kept,
        "not_kept": {w: o for w, o in sorted(pins.items()) if w not in kept},
        "notes": home_notes(session, city, pins),
    }
