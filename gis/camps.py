"""Candidate venues for registration camps: read from a CSV or a GIS point file, or drawn for demos.

CSV columns (header names matched without regard to case or spaces): ``name``, ``lat``, ``lon``
(WGS 84), optional ``venue_id`` (default ``V-<line>``), ``capacity_per_day`` (registrations the
venue can take in a day; empty: the campaign's figure) and ``unavailable`` (dates the venue is
closed, ISO ``YYYY-MM-DD`` separated by ``;``). A GIS point file (GeoJSON, GeoPackage, zipped
shapefile) carries the same attributes on point features. Each venue is placed in the ward it stands
in (a venue up to 5 km outside every ward goes with the nearest ward, with a warning); distances are
measured in the wards' metric CRS.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np

from gis.errors import InputError, Issue
from gis.io import ALLOWED_DRIVERS, sniff_format
from gis.layer import STORAGE_CRS, FileBytes
from gis.organisers import (
    Organiser,
    _HomeFinder,
    _Issues,
    _parse_lat_lon,
    _random_point_in,
    _read_csv,
    _Row,
    organiser_distances_km,
)
from gis.sandbox import parse_in_sandbox

VENUE_COLUMNS = ("venue_id", "name", "lat", "lon", "capacity_per_day", "unavailable")
POINT_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp")


@dataclass(frozen=True)
class Venue:
    """A candidate camp venue. ``ward_id``: the ward it stands in (or the nearest, ``inside`` False)."""

    venue_id: str
    name: str
    lon: float
    lat: float
    ward_id: str
    inside: bool = True
    capacity_per_day: float | None = None
    unavailable: frozenset[date] = frozenset()


def read_venues(
    path: Path | FileBytes, wards: gpd.GeoDataFrame, *, warnings: list[str] | None = None
) -> list[Venue]:
    """The venues of a CSV or GIS point file (or its bytes as received, ``FileBytes``: a point
    file goes to the parsing sandbox as bytes, as ward files do), placed in ``wards``. Raises
    ``InputError`` listing every problem (file, line or feature, field and value)."""
    issues = _Issues(path.name)
    if Path(path.name).suffix.lower() in POINT_SUFFIXES:
        rows = _point_rows(path, issues)
    else:
        if isinstance(path, FileBytes):
            header, rows = _read_csv(Path(path.name), issues, path.data)
        else:
            header, rows = _read_csv(path, issues)
        if header is not None:
            missing = [c for c in ("name", "lat", "lon") if c not in header]
            if missing:
                issues.add(
                    "missing-columns",
                    None,
                    f"missing column(s): {', '.join(missing)}; the columns found are "
                    f"{', '.join(repr(h) for h in header) or 'none'}",
                )
    if issues.items:
        raise InputError(f"{path.name}: cannot read venues", issues.items, code="invalid-csv")
    return _placed(rows, wards, issues, warnings)


def place_venues(
    venues: Sequence[Venue],
    wards: gpd.GeoDataFrame,
    *,
    label: str,
    warnings: list[str] | None = None,
) -> list[Venue]:
    """``venues`` as given (ids, names, points, capacities, closed days) placed in ``wards`` and
    checked exactly as the rows of a venues CSV ``label`` written by :func:`write_venues_csv`
    are (the k-th on line k + 1), with no file: the same refusals and warnings."""
    rows = [
        _Row(line, {c: text.strip() for c, text in _csv_values(v).items()})
        for line, v in enumerate(venues, start=2)
    ]
    return _placed(rows, wards, _Issues(label), warnings)


def _placed(
    rows: list[_Row], wards: gpd.GeoDataFrame, issues: _Issues, warnings: list[str] | None
) -> list[Venue]:
    """The venues of ``rows`` placed in ``wards``, or ``InputError`` listing every problem."""
    if not rows:
        issues.add("no-venues", None, "the file lists no venues")
    finder = _HomeFinder(wards)
    found: list[str] = []
    venues = [v for row in rows if (v := _venue(row, finder, issues, found)) is not None]
    seen: dict[str, int] = {}
    for row, v in zip(rows, venues, strict=False):
        if v.venue_id in seen:
            issues.add(
                "duplicate-venue",
                row.line,
                f"venue_id {v.venue_id!r} is used twice",
                "venue_id",
                v.venue_id,
            )
        seen[v.venue_id] = row.line
    if issues.items:
        raise InputError(f"{issues.file}: venues refused", issues.items, code="invalid-venues")
    if warnings is not None:
        warnings.extend(f"{issues.file}, {w}" for w in found)
    return venues


def _point_rows(path: Path | FileBytes, issues: _Issues) -> list[_Row]:
    # Read in the sandbox like every upload (no network, GDAL limited to the format's drivers,
    # CPU, memory and time bounded); its refusals name the file and what is wrong.
    try:
        drivers = ALLOWED_DRIVERS[sniff_format(path, path.name)]
        frame = parse_in_sandbox(path, label=path.name, crs_given=False, drivers=drivers).frame
    except InputError as exc:
        for issue in exc.issues or [Issue("unreadable", str(exc), path.name)]:
            issues.add(issue.code, None, issue.message, issue.field, issue.value)
        return []
    if frame.crs is None:
        issues.add("missing-crs", None, "the file declares no coordinate system")
        return []
    frame = frame.to_crs(STORAGE_CRS)
    frame.columns = [str(c).strip().lower() if c != "geometry" else c for c in frame.columns]
    rows = []
    for k, row in enumerate(frame.itertuples(index=False)):
        geom = row.geometry
        if geom is None or geom.geom_type != "Point":
            kind = "no geometry" if geom is None else geom.geom_type
            issues.add("not-a-point", k, f"feature {k} is {kind}, not a point", "geometry", kind)
            continue
        values = {
            c: "" if _empty(getattr(row, c)) else str(getattr(row, c)).strip()
            for c in frame.columns
            if c != "geometry"
        }
        values["lat"], values["lon"] = repr(float(geom.y)), repr(float(geom.x))
        rows.append(_Row(k, values))
    return rows


def _empty(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _venue(row: _Row, finder: _HomeFinder, issues: _Issues, found: list[str]) -> Venue | None:
    before = len(issues.items)
    vals = row.values
    name = vals.get("name", "")
    if not name:
        issues.add("missing-value", row.line, "name is empty", "name", name)
    vid = vals.get("venue_id") or f"V-{row.line}"
    capacity = _capacity(row, issues)
    closed = _dates(row, issues)
    where = _parse_lat_lon(row.line, vals.get("lat", ""), vals.get("lon", ""), issues)
    if where is None or len(issues.items) > before:
        return None
    lon, lat = where
    ward = finder.locate(lon, lat, None, row.line, issues, found)
    if len(issues.items) > before:
        return None
    inside = ward is not None
    if ward is None:
        point = finder._to_metric(lon, lat)
        ward = finder.ids[int(finder.tree.query_nearest(point)[0])]
    return Venue(vid, name, lon, lat, ward, inside, capacity, closed)


def _capacity(row: _Row, issues: _Issues) -> float | None:
    text = row.values.get("capacity_per_day", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        issues.add(
            "bad-capacity",
            row.line,
            f"capacity_per_day {text!r} is not a number of registrations > 0",
            "capacity_per_day",
            text,
        )
        return None
    return value


def _dates(row: _Row, issues: _Issues) -> frozenset[date]:
    text = row.values.get("unavailable", "")
    out = set()
    for part in (p.strip() for p in text.replace(",", ";").split(";")):
        if not part:
            continue
        try:
            out.add(date.fromisoformat(part))
        except ValueError:
            issues.add(
                "bad-date",
                row.line,
                f"unavailable date {part!r} is not a date like 2027-04-14",
                "unavailable",
                part,
            )
    return frozenset(out)


def venue_distances_km(wards: gpd.GeoDataFrame, venues: Sequence[Venue]) -> list[list[float]]:
    """``d[i][v]``: km from ward ``i``'s representative point to venue ``v`` (metric CRS)."""
    points = [Organiser(v.venue_id, v.name, v.lon, v.lat, v.ward_id) for v in venues]
    return organiser_distances_km(wards, points)


def illustrative_venues(
    wards: gpd.GeoDataFrame,
    *,
    start: date,
    end: date,
    seed: int = 2018,
    limited_share: float = 0.2,
    limited_capacity: float = 150.0,
    closed_share: float = 0.2,
) -> list[Venue]:
    """One made-up candidate per ward, at a random point inside it (fixed ``seed``): a share of them
    with a limited capacity per day, another share closed on one to three dates of the window. No
    public list of camp venues exists; these are for trying the planner, not for use."""
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    rng = np.random.default_rng(seed)
    geoms = wards.to_crs(STORAGE_CRS).geometry.to_numpy()
    ids = [str(v) for v in wards["ward_id"]]
    span = (end - start).days + 1
    width = max(3, len(str(len(ids))))
    out = []
    for k, (wid, geom) in enumerate(zip(ids, geoms, strict=True), start=1):
        lon, lat = _random_point_in(geom, rng)
        capacity = limited_capacity if rng.random() < limited_share else None
        closed: frozenset[date] = frozenset()
        if rng.random() < closed_share:
            offsets = rng.choice(span, size=min(span, int(rng.integers(1, 4))), replace=False)
            closed = frozenset(start + timedelta(days=int(o)) for o in offsets)
        number = str(k).zfill(width)
        out.append(
            Venue(
                f"V-{number}",
                f"Community hall {number} (ward {wid})",
                lon,
                lat,
                wid,
                True,
                capacity,
                closed,
            )
        )
    return out


def write_venues_csv(venues: Sequence[Venue], path: Path) -> Path:
    """Write ``venues`` in the format :func:`read_venues` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(VENUE_COLUMNS)
        for v in venues:
            values = _csv_values(v)
            writer.writerow([values[c] for c in VENUE_COLUMNS])
    return path


def _csv_values(v: Venue) -> dict[str, str]:
    """A venue's cells in a venues CSV, by column (``VENUE_COLUMNS``)."""
    return {
        "venue_id": v.venue_id,
        "name": v.name,
        "lat": repr(round(v.lat, 7)),
        "lon": repr(round(v.lon, 7)),
        "capacity_per_day": "" if v.capacity_per_day is None else f"{v.capacity_per_day:g}",
        "unavailable": ";".join(d.isoformat() for d in sorted(v.unavailable)),
    }
