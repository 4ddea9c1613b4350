"""A camp plan's files: the camps CSV, the wards CSV and the iCalendar file (RFC 5545, written with
the ``icalendar`` library: one all-day-free, timed event per camp day, in Indian Standard Time)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import icalendar

from gis.camps import Venue

IST = ZoneInfo("Asia/Kolkata")
#: A fixed namespace, so that the same camp on the same day keeps its event UID between exports.
UID_NAMESPACE = uuid.UUID("5b0d3c52-3f7e-4f0c-9d55-9a8e8d0c1a17")

CAMP_COLUMNS = (
    "camp_id",
    "venue_id",
    "venue_name",
    "venue_lat",
    "venue_lon",
    "venue_ward",
    "wards",
    "n_wards",
    "expected_registrants",
    "capacity_per_day",
    "days",
    "dates",
    "start_time",
    "end_time",
)
WARD_COLUMNS = (
    "ward_id",
    "ward_name",
    "camp_id",
    "venue_id",
    "expected_registrants",
    "km_to_venue",
)


@dataclass(frozen=True)
class Camp:
    """One camp of the plan: where, for which wards, how many people, on which dates."""

    camp_id: str
    venue: Venue
    ward_ids: tuple[str, ...]
    registrants: float
    capacity_per_day: float
    dates: tuple[date, ...]

    def wards_text(self) -> str:
        return ", ".join(self.ward_ids)


@dataclass(frozen=True)
class CampHours:
    start: time = time(10, 0)
    end: time = time(17, 0)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(
                f"camp hours end ({self.end:%H:%M}) before they start ({self.start:%H:%M})"
            )

    @classmethod
    def parse(cls, text: str) -> CampHours:
        """``"10:00-17:00"`` → hours; ``ValueError`` naming the text otherwise."""
        try:
            a, b = (part.strip() for part in text.replace("–", "-").split("-"))
            return cls(time.fromisoformat(a), time.fromisoformat(b))
        except ValueError as exc:
            raise ValueError(f"camp hours {text!r}: give them as 10:00-17:00 ({exc})") from None

    def text(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def write_camps_csv(camps: Sequence[Camp], hours: CampHours, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        _write_camps(handle, camps, hours)
    return path


def camps_csv(camps: Sequence[Camp], hours: CampHours) -> bytes:
    """The camps' CSV as :func:`write_camps_csv` writes it, made in memory (UTF-8)."""
    buffer = io.StringIO(newline="")
    _write_camps(buffer, camps, hours)
    return buffer.getvalue().encode("utf-8")


def _write_camps(handle: TextIO, camps: Sequence[Camp], hours: CampHours) -> None:
    writer = csv.writer(handle)
    writer.writerow(CAMP_COLUMNS)
    for c in camps:
        writer.writerow(
            [
                c.camp_id,
                c.venue.venue_id,
                c.venue.name,
                repr(round(c.venue.lat, 7)),
                repr(round(c.venue.lon, 7)),
                c.venue.ward_id,
                ";".join(c.ward_ids),
                len(c.ward_ids),
                f"{c.registrants:.0f}",
                f"{c.capacity_per_day:g}",
                len(c.dates),
                ";".join(d.isoformat() for d in c.dates),
                f"{hours.start:%H:%M}",
                f"{hours.end:%H:%M}",
            ]
        )


def write_wards_csv(rows: Sequence[Sequence[object]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(WARD_COLUMNS)
        writer.writerows(rows)
    return path


def camps_calendar(camps: Sequence[Camp], hours: CampHours, *, city: str) -> bytes:
    """The camps as an iCalendar file: one event per camp day, at the venue, with its wards."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Wardplan//registration camps//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{city}: registration camps / पंजीयन शिविर")
    cal.add("x-wr-timezone", "Asia/Kolkata")
    stamp = datetime.now(IST).replace(microsecond=0)
    for c in camps:
        for k, day in enumerate(c.dates, start=1):
            event = icalendar.Event()
            suffix = f" (day {k} of {len(c.dates)})" if len(c.dates) > 1 else ""
            event.add("uid", f"{uuid.uuid5(UID_NAMESPACE, f'{city}/{c.camp_id}/{day}')}@wardplan")
            event.add("dtstamp", stamp)
            event.add("dtstart", datetime.combine(day, hours.start, IST))
            event.add("dtend", datetime.combine(day, hours.end, IST))
            event.add(
                "summary", f"Registration camp {c.camp_id} / पंजीयन शिविर{suffix}: {c.venue.name}"
            )
            event.add("location", f"{c.venue.name} (ward {c.venue.ward_id})")
            event.add("geo", (round(c.venue.lat, 6), round(c.venue.lon, 6)))
            event.add(
                "description",
                f"Wards served / वार्ड: {c.wards_text()}\n"
                f"Expected registrants / अपेक्षित पंजीयन: {c.registrants:,.0f}",
            )
            event.add("categories", ["registration camp"])
            cal.add_component(event)
    cal.add_missing_timezones()
    data: bytes = cal.to_ical()
    return data
