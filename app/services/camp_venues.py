"""Inputs of an API camp request read from uploads.

Candidate venues: the uploaded file, or else the city's stored community centres (kept for CO
areas; each is a candidate with the campaign's capacity and no closed days), read and placed in the
wards by :mod:`gis.camps`. Expected registrants per ward: an uploaded ward table, joined by
:mod:`gis.camp_registrants`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import City
from app.services.centres import city_centres
from app.services.layers import Upload, safe_name
from gis.camp_registrants import WardRegistrants, read_ward_registrants
from gis.camps import POINT_SUFFIXES, Venue, place_venues, read_venues
from gis.errors import InputError, Issue
from gis.layer import FileBytes, WardLayer

#: ``venue_source`` of a request planned with the stored community centres.
CENTRES_SOURCE = "community centres"
#: The name the community centres' problems and warnings go by (as rows of a venues CSV).
CENTRES_LABEL = "community_centres.csv"
#: Venue uploads the API reads: a CSV, or a GIS point file (read in the parsing sandbox).
VENUE_SUFFIXES = (".csv", ".txt", *POINT_SUFFIXES)


def venues_for(
    session: Session, city: City, layer: WardLayer, upload: Upload | None, notes: list[str]
) -> tuple[list[Venue], str]:
    """The venues of ``upload`` (CSV or GIS point file, read from its bytes), or the city's
    community centres (placed in the wards as they are, no file)."""
    if upload is not None:
        name = safe_name(upload.filename, "venues.csv")
        if Path(name).suffix.lower() not in VENUE_SUFFIXES:
            raise InputError(
                f"{name}: venues must be a CSV or a GIS point file",
                [
                    Issue(
                        "bad-file",
                        "venues are a CSV (name, lat, lon[, venue_id][, capacity_per_day]"
                        f"[, unavailable]) or a GIS point file ({', '.join(POINT_SUFFIXES)})",
                        name,
                        field="venues",
                        value=name,
                    )
                ],
                code="bad-file",
            )
        return read_venues(FileBytes(name, upload.data), layer.wards, warnings=notes), name
    centres = city_centres(session, city)
    if centres.empty:
        raise InputError(
            "no candidate venues",
            [
                Issue(
                    "no-venues",
                    f"upload a venues file, or import {city.code}'s community centres "
                    f"(POST /cities/{city.code}/community-centres) to use them as venues",
                    field="venues",
                    value="",
                )
            ],
            code="no-venues",
        )
    width = max(2, len(str(len(centres))))
    listed = [
        Venue(f"CC-{str(k).zfill(width)}", str(row.name), row.geometry.x, row.geometry.y, "")
        for k, row in enumerate(centres.itertuples(), start=1)
    ]
    placed = place_venues(listed, layer.wards, label=CENTRES_LABEL, warnings=notes)
    return placed, CENTRES_SOURCE


def venue_json(v: Venue) -> dict[str, Any]:
    return {
        "venue_id": v.venue_id,
        "name": v.name,
        "lon": v.lon,
        "lat": v.lat,
        "ward_id": v.ward_id,
        "inside": v.inside,
        "capacity_per_day": v.capacity_per_day,
        "unavailable": sorted(d.isoformat() for d in v.unavailable),
    }


def venue_of(data: dict[str, Any]) -> Venue:
    capacity = data.get("capacity_per_day")
    return Venue(
        venue_id=str(data["venue_id"]),
        name=str(data["name"]),
        lon=float(data["lon"]),
        lat=float(data["lat"]),
        ward_id=str(data["ward_id"]),
        inside=bool(data["inside"]),
        capacity_per_day=None if capacity is None else float(capacity),
        unavailable=frozenset(date.fromisoformat(d) for d in data.get("unavailable", [])),
    )


def ward_registrants(layer: WardLayer, upload: Upload, column: str | None) -> WardRegistrants:
    """Every ward's expected registrants from an uploaded ward table (CSV), read from its bytes."""
    table = FileBytes(safe_name(upload.filename, "registrants.csv"), upload.data)
    return read_ward_registrants(layer.wards, table, column=column)
