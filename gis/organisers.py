"""Community Organisers and their homes: read from a CSV, measured to wards, or drawn for demos.

A home is given either as WGS 84 ``lat``/``lon`` or as a ``home_ward`` (the home is then the ward's
representative point, which always lies inside the ward). Optional ``phone`` and ``email`` columns
give each CO's contact (checked as a CMM's is, ``gis.staff.check_contact``). Distances are measured in the wards'
metric CRS, never in degrees.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

import geopandas as gpd
import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import Point

from gis.crs import metric_crs, to_metric
from gis.errors import InputError, Issue
from gis.layer import STORAGE_CRS, FileBytes
from gis.staff import check_contact
from gis.text import client_text_problem

#: A home outside every ward but at most this far from one is accepted, with a warning.
MAX_OUTSIDE_M = 5_000.0

#: Rough bounds of India, to catch coordinates in the wrong order, system or country.
INDIA_LON = (68.0, 98.0)
INDIA_LAT = (6.0, 38.0)

CSV_COLUMNS = ("organiser_id", "name", "lat", "lon", "home_ward")
#: Optional columns: the CO's contact, printed on the allocation order.
CONTACT_COLUMNS = ("phone", "email")


@dataclass(frozen=True)
class Organiser:
    """A Community Organiser. ``home_ward`` is the ward the home lies in (``None``: outside all)."""

    organiser_id: str
    name: str
    lon: float
    lat: float
    home_ward: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


class _Issues:
    """Collects the problems of one file, each tied to its line number."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Issue] = []

    def add(
        self,
        code: str,
        line: int | None,
        message: str,
        field: str | None = None,
        value: str | None = None,
    ) -> None:
        text = f"line {line}: {message}" if line is not None else message
        self.items.append(Issue(code, text, file=self.file, field=field, value=value))


def read_organisers(
    path: Path | FileBytes,
    wards: gpd.GeoDataFrame,
    *,
    warnings: list[str] | None = None,
    data: bytes | None = None,
) -> list[Organiser]:
    """The organisers listed in a CSV, with their homes checked against ``wards``.

    Columns: ``organiser_id``, ``name`` and either ``lat`` + ``lon`` (WGS 84) or ``home_ward`` (a
    ``ward_id``); optionally ``phone`` and ``email``. Header names are matched without regard to
    case or surrounding spaces. Raises ``InputError`` listing every problem; accepted oddities
    are appended to ``warnings``.
    ``path``: the file, or its bytes as received (``FileBytes``: read in memory, named by its
    name); ``data``: the CSV's bytes, read instead of the file (``path`` then only names it).
    """
    if isinstance(path, FileBytes):
        data = path.data
        path = Path(path.name)
    issues = _Issues(path.name)
    header, rows = _read_csv(path, issues, data)
    if header is not None:
        _check_columns(header, issues)
    if issues.items:
        raise InputError(f"{path.name}: cannot read organisers", issues.items, code="invalid-csv")
    if not rows:
        issues.add("no-organisers", None, "the file lists no organisers")
    _check_duplicates(rows, issues)
    return _checked(rows, wards, issues, warnings)


def check_organiser(
    values: Mapping[str, str],
    wards: gpd.GeoDataFrame,
    *,
    label: str,
    warnings: list[str] | None = None,
) -> Organiser:
    """One CO given as the values of a CSV row (``CSV_COLUMNS`` and ``CONTACT_COLUMNS``; missing
    ones are blank), checked exactly as :func:`read_organisers` checks the row after a header
    (line 2 of ``label``), with no file: the same refusals, naming ``label``, field and value."""
    row = _Row(2, {c: values.get(c, "").strip() for c in (*CSV_COLUMNS, *CONTACT_COLUMNS)})
    (organiser,) = _checked([row], wards, _Issues(label), warnings)
    return organiser


def _checked(
    rows: list[_Row], wards: gpd.GeoDataFrame, issues: _Issues, warnings: list[str] | None
) -> list[Organiser]:
    """The organisers of ``rows`` with their homes found in ``wards``; ``InputError`` listing
    every problem (``issues`` already holds those of the file as a whole)."""
    homes = _HomeFinder(wards)
    organisers: list[Organiser] = []
    found: list[str] = []
    for row in rows:
        organiser = _parse_row(row, homes, issues, found)
        contact = _contact(row, issues)
        if organiser is not None and contact is not None:
            organisers.append(replace(organiser, phone=contact[0], email=contact[1]))
    if issues.items:
        raise InputError(
            f"{issues.file}: organisers refused", issues.items, code="invalid-organisers"
        )
    if warnings is not None:
        warnings.extend(f"{issues.file}, {w}" for w in found)
    return organisers


def _open(path: Path, data: bytes | None) -> TextIO:
    if data is None:
        return path.open(newline="", encoding="utf-8-sig")
    return io.StringIO(data.decode("utf-8-sig"), newline="")


def _read_csv(
    path: Path, issues: _Issues, data: bytes | None = None
) -> tuple[list[str] | None, list[_Row]]:
    try:
        with _open(path, data) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                issues.add("empty-file", None, "the file is empty")
                return None, []
            names = [h.strip().lower() for h in header]
            rows: list[_Row] = []
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) > len(names):
                    issues.add(
                        "extra-fields",
                        reader.line_num,
                        f"{len(record)} fields but the header has {len(names)} "
                        "(an unquoted comma in a name?)",
                    )
                    continue
                padded = [*record, *[""] * (len(names) - len(record))]
                values = {n: v.strip() for n, v in zip(names, padded, strict=True)}
                rows.append(_Row(reader.line_num, values))
            return names, rows
    except UnicodeDecodeError as exc:
        issues.add(
            "not-utf8",
            None,
            f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the sheet as 'CSV UTF-8'",
        )
    except OSError as exc:
        issues.add("unreadable", None, f"cannot be read: {exc.strerror or exc}")
    except csv.Error as exc:
        issues.add("bad-csv", None, f"is not a well-formed CSV: {exc}")
    return None, []


def _check_columns(header: list[str], issues: _Issues) -> None:
    have = set(header)
    missing = [c for c in ("organiser_id", "name") if c not in have]
    if not ({"lat", "lon"} <= have or "home_ward" in have):
        missing.append("lat and lon, or home_ward")
    if missing:
        shown = ", ".join(repr(h) for h in header) or "none"
        issues.add(
            "missing-columns",
            None,
            f"missing column(s): {', '.join(missing)}; the columns found are {shown}",
        )


def _check_duplicates(rows: list[_Row], issues: _Issues) -> None:
    first_line: dict[str, int] = {}
    for row in rows:
        oid = row.values.get("organiser_id", "")
        if oid in first_line:
            issues.add(
                "duplicate-organiser",
                row.line,
                f"organiser_id {oid!r} already used on line {first_line[oid]}",
                "organiser_id",
                oid,
            )
        elif oid:
            first_line[oid] = row.line


def _parse_row(
    row: _Row, homes: _HomeFinder, issues: _Issues, found: list[str]
) -> Organiser | None:
    before = len(issues.items)
    oid, name = row.values.get("organiser_id", ""), row.values.get("name", "")
    for field, value in (("organiser_id", oid), ("name", name)):
        if not value:
            issues.add("missing-value", row.line, f"{field} is empty", field, value)
        elif problem := client_text_problem(value):
            issues.add("bad-text", row.line, f"{field} {problem}", field, value)
    lat_txt, lon_txt = row.values.get("lat", ""), row.values.get("lon", "")
    ward_txt = row.values.get("home_ward", "")
    home_ward = homes.ward_id(ward_txt) if ward_txt else None
    if ward_txt and home_ward is None:
        issues.add(
            "unknown-ward",
            row.line,
            f"home_ward {ward_txt!r} is not a ward of the layer",
            "home_ward",
            ward_txt,
        )
    if lat_txt or lon_txt:
        home = _parse_lat_lon(row.line, lat_txt, lon_txt, issues)
        if home is None or len(issues.items) > before:
            return None
        lon, lat = home
        located = homes.locate(lon, lat, home_ward, row.line, issues, found)
        if len(issues.items) > before:
            return None
        return Organiser(oid, name, lon, lat, located)
    if not ward_txt:
        issues.add("missing-home", row.line, "give lat and lon, or home_ward", "home_ward", "")
    if len(issues.items) > before or home_ward is None:
        return None
    lon, lat = homes.representative_lon_lat(home_ward)
    return Organiser(oid, name, lon, lat, home_ward)


def _contact(row: _Row, issues: _Issues) -> tuple[str | None, str | None] | None:
    """The row's phone and e-mail (``None`` for a blank or missing column), or ``None`` if either
    is refused (the problem is added to ``issues``)."""
    phone, email = (row.values.get(c, "") for c in CONTACT_COLUMNS)
    before = len(issues.items)

    def bad(code: str, message: str, field: str, value: str) -> None:
        issues.add(code, row.line, message, field, value)

    check_contact(phone, email, bad)
    if len(issues.items) > before:
        return None
    return phone or None, email or None


def _parse_lat_lon(
    line: int, lat_txt: str, lon_txt: str, issues: _Issues
) -> tuple[float, float] | None:
    lat, lon = _number(line, "lat", lat_txt, issues), _number(line, "lon", lon_txt, issues)
    if lat is None or lon is None:
        return None
    lat_ok = INDIA_LAT[0] <= lat <= INDIA_LAT[1]
    lon_ok = INDIA_LON[0] <= lon <= INDIA_LON[1]
    if lat_ok and lon_ok:
        return lon, lat
    swapped = INDIA_LAT[0] <= lon <= INDIA_LAT[1] and INDIA_LON[0] <= lat <= INDIA_LON[1]
    hint = " — lat and lon look swapped" if swapped else ""
    if not lat_ok:
        issues.add(
            "outside-india",
            line,
            f"lat {lat_txt} is outside India ({INDIA_LAT[0]:g}–{INDIA_LAT[1]:g}){hint}",
            "lat",
            lat_txt,
        )
    if not lon_ok:
        issues.add(
            "outside-india",
            line,
            f"lon {lon_txt} is outside India ({INDIA_LON[0]:g}–{INDIA_LON[1]:g}){hint}",
            "lon",
            lon_txt,
        )
    return None


def _number(line: int, field: str, text: str, issues: _Issues) -> float | None:
    if not text:
        issues.add("missing-value", line, f"{field} is empty", field, text)
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        issues.add(
            "not-a-number",
            line,
            f"{field} {text!r} is not a number in decimal degrees",
            field,
            text,
        )
        return None
    return value


class _HomeFinder:
    """Ward look-ups for homes, in the metric CRS of the ward layer."""

    def __init__(self, wards: gpd.GeoDataFrame) -> None:
        self.crs = metric_crs(wards)
        self.ids = [str(v) for v in wards["ward_id"]]
        self.position = {ward_id: i for i, ward_id in enumerate(self.ids)}
        self.geoms = wards.to_crs(self.crs).geometry.to_numpy()
        self.tree = STRtree(self.geoms)
        self.points = representative_points(wards)

    def ward_id(self, text: str) -> str | None:
        """The layer's id for ``text`` ("12" also matches "12.0"), or ``None``."""
        if text in self.position:
            return text
        try:
            number = float(text)
        except ValueError:
            return None
        if number.is_integer() and str(int(number)) in self.position:
            return str(int(number))
        return None

    def representative_lon_lat(self, ward_id: str) -> tuple[float, float]:
        point = self.points.iloc[self.position[ward_id]]
        return float(point.x), float(point.y)

    def _to_metric(self, lon: float, lat: float) -> Point:
        series = gpd.GeoSeries([Point(lon, lat)], crs=STORAGE_CRS).to_crs(self.crs)
        point: Point = series.iloc[0]
        return point

    def locate(
        self,
        lon: float,
        lat: float,
        given: str | None,
        line: int,
        issues: _Issues,
        found: list[str],
    ) -> str | None:
        """The ward the home lies in; warns if it is not ``given``, refuses it if far outside."""
        point = self._to_metric(lon, lat)
        inside = sorted(int(i) for i in self.tree.query(point, predicate="intersects"))
        inside_ids = [self.ids[i] for i in inside]
        if given is not None:
            if given not in inside_ids:
                where = f"in ward {inside_ids[0]}" if inside_ids else "outside every ward"
                found.append(
                    f"line {line}: the home at lat {lat:g}, lon {lon:g} is {where}, "
                    f"not in home_ward {given}; the coordinates are used"
                )
                return inside_ids[0] if inside_ids else None
            return given
        if inside_ids:
            return inside_ids[0]
        nearest = int(self.tree.query_nearest(point)[0])
        distance = float(shapely.distance(point, self.geoms[nearest]))
        if distance > MAX_OUTSIDE_M:
            issues.add(
                "home-far-outside",
                line,
                f"the home at lat {lat:g}, lon {lon:g} is {distance / 1000:,.1f} km from the "
                f"nearest ward ({self.ids[nearest]}); at most "
                f"{MAX_OUTSIDE_M / 1000:g} km is accepted",
                "lat",
                f"{lat:g}",
            )
            return None
        found.append(
            f"line {line}: the home at lat {lat:g}, lon {lon:g} lies outside every ward, "
            f"{distance:,.0f} m from ward {self.ids[nearest]}; accepted"
        )
        return None


def representative_points(wards: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point inside each ward (chosen in the metric CRS), returned in EPSG:4326."""
    metric = wards.to_crs(metric_crs(wards))
    return metric.geometry.representative_point().to_crs(STORAGE_CRS)


def organiser_distances_km(
    wards: gpd.GeoDataFrame, organisers: Sequence[Organiser]
) -> list[list[float]]:
    """``d[i][j]``: km from ward ``i``'s representative point to organiser ``j``'s home. ``wards``
    may be in their metric CRS already (then they are not reprojected)."""
    metric = to_metric(wards)
    crs = metric.crs
    points = metric.geometry.representative_point()
    homes = gpd.GeoSeries([Point(o.lon, o.lat) for o in organisers], crs=STORAGE_CRS).to_crs(crs)
    px, py = points.x.to_numpy(), points.y.to_numpy()
    hx, hy = homes.x.to_numpy(), homes.y.to_numpy()
    metres = np.hypot(px[:, None] - hx[None, :], py[:, None] - hy[None, :])
    return [[float(d) for d in row] for row in metres / 1000.0]


def illustrative_organisers(
    wards: gpd.GeoDataFrame, n: int, *, seed: int = 2017
) -> list[Organiser]:
    """``n`` made-up organisers for demos, homes placed in proportion to ward population.

    Wards are drawn with probability ∝ population (without replacement while wards remain, then
    with), and each home is a uniformly random point inside its ward (rejection sampling with
    ``numpy.random.default_rng(seed)``; coordinates rounded to 6 decimals, still inside). The same
    ``seed`` and layer always give the same organisers.
    """
    if n < 1:
        raise ValueError(f"need at least one organiser, not {n}")
    rng = np.random.default_rng(seed)
    chosen = _draw_wards(wards, n, rng)
    geoms = wards.to_crs(STORAGE_CRS).geometry.to_numpy()
    ids = [str(v) for v in wards["ward_id"]]
    width = max(2, len(str(n)))
    organisers = []
    for k, position in enumerate(chosen, start=1):
        lon, lat = _random_point_in(geoms[position], rng)
        number = str(k).zfill(width)
        organisers.append(
            Organiser(f"CO-{number}", f"Illustrative CO {number}", lon, lat, ids[position])
        )
    return organisers


def _draw_wards(wards: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> list[int]:
    population = wards["population"].to_numpy(dtype=float) if "population" in wards else None
    if population is None or not np.any(np.nan_to_num(population) > 0):
        weights = np.ones(len(wards))
    else:
        weights = np.clip(np.nan_to_num(population), 0.0, None)
    p = weights / weights.sum()
    first = min(n, int(np.count_nonzero(weights)))
    chosen = rng.choice(len(wards), size=first, replace=False, p=p).tolist()
    if n > first:
        chosen += rng.choice(len(wards), size=n - first, replace=True, p=p).tolist()
    return [int(i) for i in chosen]


def _random_point_in(
    geom: shapely.Geometry, rng: np.random.Generator, batches: int = 200, batch: int = 64
) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(batches):
        xs = np.round(rng.uniform(minx, maxx, batch), 6)
        ys = np.round(rng.uniform(miny, maxy, batch), 6)
        hits = np.flatnonzero(shapely.contains_xy(geom, xs, ys))
        if hits.size:
            return float(xs[hits[0]]), float(ys[hits[0]])
    point = geom.representative_point()  # a sliver too thin to hit: fall back to a point inside
    return float(point.x), float(point.y)


def write_organisers_csv(organisers: Sequence[Organiser], path: Path) -> Path:
    """Write ``organisers`` in the format ``read_organisers`` reads (lat/lon and home_ward)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(organisers_csv(organisers))
    return path


def organisers_csv(organisers: Sequence[Organiser]) -> bytes:
    """``organisers`` as :func:`write_organisers_csv` writes them, made in memory (UTF-8)."""
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(CSV_COLUMNS)
    for o in organisers:
        writer.writerow([o.organiser_id, o.name, _coord(o.lat), _coord(o.lon), o.home_ward or ""])
    return text.getvalue().encode("utf-8")


def _coord(value: float) -> str:
    return repr(round(value, 9))
