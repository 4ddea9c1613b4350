"""The optional inputs of the sheets: bilingual ward names and community centres, from CSV files."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from gis.errors import InputError, Issue
from gis.layer import FileBytes

WARD_NAME_COLUMNS = ("ward_id", "name_en", "name_hi")
CENTRE_COLUMNS = ("name", "lat", "lon")


def _read_csv(path: Path | FileBytes, required: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV (a BOM is allowed) with the ``required`` columns, or ``InputError``."""
    try:
        if isinstance(path, FileBytes):
            text = path.data.decode("utf-8-sig")
        else:
            text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name} is not UTF-8 text",
            [Issue("bad-encoding", f"byte {exc.start} is not UTF-8", file=path.name)],
            code="bad-encoding",
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{path.name} lacks column(s) {', '.join(missing)}",
            [
                Issue(
                    "missing-column",
                    f"needs columns {', '.join(required)}; it has {', '.join(header) or 'none'}",
                    file=path.name,
                    field=c,
                )
                for c in missing
            ],
            code="missing-column",
        )
    return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]


def read_ward_names(path: Path | FileBytes, ward_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Bilingual ward names from a CSV ``ward_id,name_en,name_hi`` (as municipal templates carry
    them), indexed by ``ward_id``. A ward missing from the file keeps its layer name; a ward named
    twice is refused, and so is a row for a ward not in ``ward_ids`` (when given)."""
    rows = _read_csv(path, WARD_NAME_COLUMNS)
    known = None if ward_ids is None else set(ward_ids)
    issues: list[Issue] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        ward = row["ward_id"]
        problem = (
            ("duplicate-id", "ward named twice")
            if ward in seen
            else ("unknown-ward", "no such ward in the layer")
            if known is not None and ward not in known
            else None
        )
        if problem is not None:
            code, message = problem
            issues.append(
                Issue(code, f"line {line}: {message}", path.name, None, ward, "ward_id", ward)
            )
        seen.add(ward)
    if issues:
        raise InputError(f"{path.name}: {len(issues)} bad ward name row(s)", issues)
    records = [{k: row[k] or None for k in WARD_NAME_COLUMNS} for row in rows]
    return pd.DataFrame(records, columns=list(WARD_NAME_COLUMNS), dtype=object).set_index("ward_id")


def read_centres(path: Path | FileBytes) -> gpd.GeoDataFrame:
    """Community centres (the letter's contact points) from a CSV ``name,lat,lon`` (WGS 84): a
    file, or its bytes as received (``FileBytes``, named by its name in messages)."""
    rows = _read_csv(path, CENTRE_COLUMNS)
    issues: list[Issue] = []
    points = []
    for line, row in enumerate(rows, start=2):
        try:
            lat, lon = float(row["lat"]), float(row["lon"])
        except ValueError:
            issues.append(
                Issue(
                    "bad-number",
                    f"line {line}: lat/lon must be numbers, got {row['lat']!r}, {row['lon']!r}",
                    path.name,
                    field="lat/lon",
                    value=f"{row['lat']},{row['lon']}",
                )
            )
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            issues.append(
                Issue(
                    "out-of-range",
                    f"line {line}: {row['lat']}, {row['lon']} is not a WGS 84 position",
                    path.name,
                    field="lat/lon",
                    value=f"{row['lat']},{row['lon']}",
                )
            )
            continue
        points.append({"name": row["name"], "geometry": Point(lon, lat)})
    if issues:
        raise InputError(f"{path.name}: {len(issues)} bad community centre row(s)", issues)
    return gpd.GeoDataFrame(
        points, columns=["name", "geometry"], geometry="geometry", crs="EPSG:4326"
    )
