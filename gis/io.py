"""Reading the ward layers GIS cells upload: zipped shapefile, GeoJSON, KML or GeoPackage.

The pipeline, each step reported as a warning when it changes anything:

1. structural checks before parsing: size, format sniffed from the bytes, archive safety
   (``gis.archive``), GeoJSON ``crs`` links and KML DTDs / network links refused;
2. the file is copied (or extracted) into a server-made temporary directory under a fixed name
   whose extension matches the sniffed format, so GDAL only ever sees paths we made;
3. CRS: the file's own, or the one the user names (which must not contradict the file's);
4. columns recognised (``gis.fields``), ids normalised ("2.0" -> "2"), excluded ids dropped,
   multi-feature wards merged on request, attributes and geometries checked — every problem of
   the file is collected and raised together as one ``InputError``;
5. Z/M dropped, reprojected to EPSG:4326, checked to lie in India, invalid polygons repaired.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.attributes import (
    ValueProblem,
    clean_text,
    echo,
    mojibake,
    parse_count,
    text_problem,
)
from gis.errors import InputError, Issue, cut
from gis.fields import FieldMapping, ResolvedFields, id_key, normalise_id, resolve_fields

# The file side lives in gis.formats; its public names (and ``_read_source``, which gis.sandbox's
# child runs as ``gis.io._read_source``) stay importable from here.
from gis.formats import ALLOWED_DRIVERS as ALLOWED_DRIVERS
from gis.formats import MAX_UPLOAD_BYTES as MAX_UPLOAD_BYTES
from gis.formats import NO_NETWORK_GDAL_CONFIG as NO_NETWORK_GDAL_CONFIG
from gis.formats import _raise_text_issues, _read_sandboxed, _sha256, _Source
from gis.formats import _read_source as _read_source
from gis.formats import file_error as file_error
from gis.formats import sniff_format as sniff_format
from gis.geometry import drop_z, geometry_problem, polygonal, repair_invalid
from gis.layer import STORAGE_CRS, WARD_COLUMNS, FileBytes, SourceFile, WardLayer
from gis.text import frame_text_issues
from gis.unnumbered import UnnumberedRule, absorb, set_aside, unnumbered_report

#: Largest number of vertices in one layer (a city's wards need far fewer).
MAX_VERTICES = 5_000_000
#: lon/lat box every ward must lie in: (min lon, min lat, max lon, max lat).
INDIA_BOUNDS = (68.0, 6.0, 98.0, 38.0)
#: CRS names a user may give: authority codes only (never URLs, files or PROJ strings).
USER_CRS = re.compile(r"^(?:(?:EPSG|ESRI):\d{4,6}|OGC:CRS84)$", re.IGNORECASE)

COUNT_FIELDS = ("population", "households", "poor_households")


def read_ward_layer(
    path: Path | FileBytes,
    *,
    mapping: FieldMapping = FieldMapping(),  # noqa: B008 - frozen dataclass, immutable default
    crs: str | None = None,
    exclude_ids: Collection[str] = (),
    merge_ids: Collection[str] = (),
    unnumbered: UnnumberedRule = UnnumberedRule(),  # noqa: B008 - frozen dataclass, immutable default
) -> WardLayer:
    """Read an uploaded ward layer into a normalised ``WardLayer`` (EPSG:4326, ``WARD_COLUMNS``).

    ``path`` is a file, or the bytes as received (an upload's, a request's), named for messages.

    ``crs`` names the CRS ("EPSG:32644") when the file has none; it must agree with a CRS the file
    declares. ``exclude_ids`` drops features that are not wards (airport, cantonment, "reserve").
    ``merge_ids`` joins several features carrying the same id into one ward (a ward digitised as
    main part + exclave); differing attributes of the parts are left empty with a warning.
    ``unnumbered`` says what happens to features without an id (``gis.unnumbered``).
    Raises ``InputError`` listing every problem found.
    """
    label = path.name
    user_crs = _parse_user_crs(crs, label)
    digest = _sha256(path, label)
    source = _read_sandboxed(path, label, crs_given=user_crs is not None)
    _raise_text_issues(frame_text_issues(source.frame, label), label)
    notes = list(source.warnings)
    pending: list[Issue] = []  # whole-file problems, reported with every other problem at once
    frame, source_crs = _apply_crs(source, user_crs, label, notes, pending)
    resolved = resolve_fields(frame, mapping, exclude_ids=exclude_ids, source=label)
    notes.extend(resolved.warnings)
    work = _attributes(frame, resolved, label, notes)
    work = _exclude(work, exclude_ids, notes)
    aside = set_aside(work, unnumbered, label, notes)
    work = aside.work
    if source_crs is not None:
        pending.extend(_bounds_issues(_early_bounds(work), label, source_crs))
    _check_features(work, resolved, label, merge_ids, [*pending, *aside.issues])
    work = _merge(work, merge_ids, notes)
    wards = _to_storage(work, label, notes)
    absorbed: list[dict[str, object]] = []
    wards = absorb(wards, aside.slivers, work.crs, label, aside.limit_m2, notes, absorbed)
    assert source_crs is not None  # a missing CRS was refused with the other problems
    return WardLayer(
        wards=wards,
        sources=[SourceFile(label, digest)],
        source_crs=crs_label(source_crs),
        warnings=notes,
        unnumbered=unnumbered_report(aside, absorbed),
    )


def _parse_user_crs(crs: str | None, label: str) -> CRS | None:
    if crs is None:
        return None
    if not USER_CRS.match(crs.strip()):
        raise file_error(
            label,
            f"the CRS {echo(crs)} is not accepted: give an authority code such as 'EPSG:32644'",
            "bad-crs",
        )
    try:
        return CRS.from_user_input(crs.strip().upper())
    except CRSError:
        raise file_error(label, f"unknown CRS {echo(crs)}", "bad-crs") from None


def crs_label(crs: CRS) -> str:
    """A short name for a CRS: "EPSG:32644", "OGC:CRS84", or its name."""
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    authority = crs.to_authority()
    return ":".join(authority) if authority else str(crs.name)


def _apply_crs(
    source: _Source, user_crs: CRS | None, label: str, notes: list[str], pending: list[Issue]
) -> tuple[gpd.GeoDataFrame, CRS | None]:
    """The frame with the CRS it is really in, and that CRS (``None`` when it is unknown; the
    problem is added to ``pending``, to be reported with the file's other problems)."""
    frame = source.frame
    declared = CRS.from_user_input(frame.crs) if source.declares_crs and frame.crs else None
    if user_crs is None:
        if frame.crs is None:
            message = "the file declares no CRS; name it (e.g. crs='EPSG:4326')"
            pending.append(Issue("missing-crs", message, file=label))
            return frame, None
        return frame, CRS.from_user_input(frame.crs)
    if declared is not None:
        if not declared.equals(user_crs, ignore_axis_order=True):
            message = (
                f"the file declares {crs_label(declared)} but {crs_label(user_crs)} was given; "
                "leave the CRS out to use the file's, or fix the file"
            )
            pending.append(Issue("crs-mismatch", message, file=label))
            return frame, None
        return frame, declared
    notes.append(f"the file declares no CRS; using {crs_label(user_crs)} as given")
    return frame.set_crs(user_crs, allow_override=True), user_crs


# --- attributes ---------------------------------------------------------------------------------


def _attributes(
    frame: gpd.GeoDataFrame, resolved: ResolvedFields, label: str, notes: list[str]
) -> gpd.GeoDataFrame:
    """A working frame: feature index, normalised id, name, zone, raw counts, geometry."""
    id_column = resolved["ward_id"]
    assert id_column is not None  # resolve_fields guarantees an id column
    raw_ids = frame[id_column].tolist()
    ids = [normalise_id(v) for v in raw_ids]
    changed = sum(
        1
        for raw, new in zip(raw_ids, ids, strict=True)
        if new is not None and isinstance(raw, float | str) and str(raw).strip() != new
    )
    if changed:
        example = next(
            (str(r).strip(), n)
            for r, n in zip(raw_ids, ids, strict=True)
            if n is not None and isinstance(r, float | str) and str(r).strip() != n
        )
        notes.append(
            f"normalised {changed} ward id(s) written as decimals, e.g. {example[0]!r} → "
            f"{example[1]!r}"
        )
    data: dict[str, Any] = {
        "feature": range(len(frame)),
        "ward_id": pd.Series(ids, dtype=object),
        "ward_name": pd.Series(_column(frame, resolved["ward_name"], clean_text), dtype=object),
        "zone": pd.Series(_column(frame, resolved["zone"], normalise_id), dtype=object),
    }
    for name in COUNT_FIELDS:
        data[name] = pd.Series(_column(frame, resolved[name], lambda v: v), dtype=object)
    return gpd.GeoDataFrame(data, geometry=frame.geometry.to_numpy(), crs=frame.crs)


def _column(frame: pd.DataFrame, column: str | None, convert: Any) -> list[Any]:
    if column is None:
        return [None] * len(frame)
    return [convert(v) for v in frame[column].tolist()]


def _exclude(
    work: gpd.GeoDataFrame, exclude_ids: Collection[str], notes: list[str]
) -> gpd.GeoDataFrame:
    wanted = {id_key(i) for i in (normalise_id(x) for x in exclude_ids) if i is not None}
    if not wanted:
        return work
    keys = work["ward_id"].map(lambda v: id_key(v) if v is not None else None)
    dropped = work[keys.isin(wanted)]
    if len(dropped):
        listed = ", ".join(_describe(row) for row in dropped.itertuples())
        notes.append(f"excluded {len(dropped)} feature(s) by id: {listed}")
    unmatched = sorted(wanted - set(keys.dropna()))
    if unmatched:
        notes.append(f"the ids to exclude matched no feature: {', '.join(unmatched)}")
    return work[~keys.isin(wanted)].reset_index(drop=True)


def _describe(row: Any) -> str:
    name = f" {cut(row.ward_name, 80)}" if row.ward_name else ""
    return f"{cut(row.ward_id, 80)}{name} (feature {row.feature})"


def _check_features(
    work: gpd.GeoDataFrame,
    resolved: ResolvedFields,
    label: str,
    merge_ids: Collection[str],
    found: Collection[Issue] = (),
) -> None:
    """Raise one ``InputError`` for every bad id, text, count, geometry and duplicate id (and
    the problems ``found`` before)."""
    issues: list[Issue] = list(found)
    for row in work.itertuples():
        issues.extend(_row_issues(row, resolved, label))
    issues.extend(_duplicate_issues(work, label, merge_ids))
    if shapely.get_num_coordinates(work.geometry.to_numpy()).sum() > MAX_VERTICES:
        issues.append(Issue("too-complex", f"more than {MAX_VERTICES} vertices", file=label))
    if issues:
        raise _all_problems(issues, label)
    for name in COUNT_FIELDS:
        work[name] = [parse_count(v) for v in work[name]]


#: Whole-file problems that, alone, keep the title and code they always had.
_FILE_PROBLEMS = {
    "missing-crs": "the file declares no CRS",
    "crs-mismatch": "the CRS given contradicts the file's",
    "outside-india": "the wards do not lie in India",
}


def _all_problems(issues: list[Issue], label: str) -> InputError:
    """One error for every problem of the file (a CRS problem alone keeps its own code)."""
    codes = {i.code for i in issues}
    if len(codes) == 1 and (code := codes.pop()) in _FILE_PROBLEMS:
        if code == "outside-india":
            return InputError(f"{label}: {_FILE_PROBLEMS[code]}", issues, code=code)
        return file_error(label, issues[0].message, code)
    return InputError(
        f"{label}: {len(issues)} problem(s) in the ward layer", issues, code="invalid-layer"
    )


def _row_issues(row: Any, resolved: ResolvedFields, label: str) -> list[Issue]:
    where: dict[str, Any] = {"file": label, "feature": row.feature, "ward_id": row.ward_id}
    issues: list[Issue] = []
    if row.ward_id is None:
        issues.append(Issue("missing-id", "has no ward id", field=resolved["ward_id"], **where))
    for name in ("ward_id", "ward_name", "zone"):
        text = getattr(row, name)
        if text is None:
            continue
        fixed = mojibake(text)
        if fixed is not None:
            issues.append(
                Issue(
                    "bad-encoding",
                    f"{name} looks like UTF-8 read as Latin-1 (mojibake): {echo(text)} would read "
                    f"{echo(fixed)}; save the file as UTF-8 (for a shapefile, add a .cpg file "
                    "containing 'UTF-8' beside the .dbf)",
                    field=resolved[name],
                    value=echo(text),
                    **where,
                )
            )
            continue
        problem = text_problem(text)
        if problem:
            issues.append(
                Issue(
                    "bad-text",
                    f"{name} {problem}: {echo(text)}",
                    field=resolved[name],
                    value=echo(text),
                    **where,
                )
            )
    for name in COUNT_FIELDS:
        try:
            parse_count(getattr(row, name))
        except ValueProblem as exc:
            value = echo(getattr(row, name))
            issues.append(
                Issue("bad-number", f"{name} {exc}", field=resolved[name], value=value, **where)
            )
    problem = geometry_problem(row.geometry)
    if problem:
        issues.append(Issue("bad-geometry", problem, **where))
    return issues


def _duplicate_issues(
    work: gpd.GeoDataFrame, label: str, merge_ids: Collection[str]
) -> list[Issue]:
    merging = {id_key(i) for i in (normalise_id(x) for x in merge_ids) if i is not None}
    groups: dict[str, list[Any]] = {}
    for row in work.itertuples():
        if row.ward_id is not None and id_key(row.ward_id) not in merging:
            groups.setdefault(id_key(row.ward_id), []).append(row)
    issues = [
        Issue(
            "duplicate-id",
            f"ward id {cut(rows[0].ward_id, 80)!r} is used by {len(rows)} features: "
            + ", ".join(_describe(r) for r in rows),
            file=label,
            ward_id=rows[0].ward_id,
        )
        for rows in groups.values()
        if len(rows) > 1
    ]
    if issues:
        issues.append(
            Issue(
                "duplicate-id",
                "features that are not wards (airport, cantonment…) can be left out with the "
                "upload's `exclude` field (`--exclude` on the command line); parts of one ward "
                "can be joined with `merge` (`--merge`)",
                file=label,
            )
        )
    return issues


def _merge(
    work: gpd.GeoDataFrame, merge_ids: Collection[str], notes: list[str]
) -> gpd.GeoDataFrame:
    """Join the features of each id in ``merge_ids`` into one ward."""
    wanted = {i for i in (normalise_id(x) for x in merge_ids) if i is not None}
    for ward_id in sorted(wanted):
        mask = work["ward_id"].map(lambda v, w=ward_id: v is not None and id_key(v) == id_key(w))
        parts = work[mask]
        if len(parts) < 2:
            notes.append(f"merge_ids: ward {ward_id} has {len(parts)} feature(s); nothing merged")
            continue
        merged = _merged_row(parts, notes)
        work = pd.concat([work[~mask], merged]).sort_values("feature").reset_index(drop=True)
    return work


def _merged_row(parts: gpd.GeoDataFrame, notes: list[str]) -> gpd.GeoDataFrame:
    first = parts.iloc[[0]].copy()
    ward_id = first["ward_id"].iloc[0]
    features = ", ".join(str(f) for f in parts["feature"])
    notes.append(f"merged {len(parts)} features of ward {ward_id} (features {features}) into one")
    first.loc[first.index[0], first.geometry.name] = polygonal(
        shapely.union_all(parts.geometry.to_numpy())
    )
    for name in ("ward_name", "zone", *COUNT_FIELDS):
        values = parts[name].tolist()
        known = {v for v in values if v is not None and v == v}
        if len(known) > 1:
            shown = ", ".join(echo(v) for v in values)
            notes.append(
                f"ward {ward_id}: the merged parts disagree on {name} ({shown}); left empty"
            )
            first[name] = [None] if name in ("ward_name", "zone") else [float("nan")]
        elif known:
            first[name] = [known.pop()]
    return first


# --- geometry and storage -----------------------------------------------------------------------


def _to_storage(work: gpd.GeoDataFrame, label: str, notes: list[str]) -> gpd.GeoDataFrame:
    work = work.copy()
    flattened = drop_z(work)
    if flattened:
        notes.append(f"dropped Z/M values from {flattened} feature(s)")
    work["geometry"] = [polygonal(g) for g in work.geometry]
    source = CRS.from_user_input(work.crs)
    if not source.equals(CRS.from_user_input(STORAGE_CRS), ignore_axis_order=True):
        work = work.to_crs(STORAGE_CRS)
        notes.append(f"reprojected {crs_label(source)} → {STORAGE_CRS}")
    work = work.set_crs(STORAGE_CRS, allow_override=True)
    _check_bounds(work, label, source)
    repair = repair_invalid(work)
    if repair.collapsed:
        raise InputError(
            f"{label}: geometry cannot be repaired",
            [
                Issue(
                    "bad-geometry",
                    "is invalid and has no area left once repaired",
                    file=label,
                    feature=int(work["feature"].iloc[pos]),
                    ward_id=str(work["ward_id"].iloc[pos]),
                )
                for pos in repair.collapsed
            ],
            code="invalid-layer",
        )
    if repair.ward_ids:
        notes.append(
            f"repaired {len(repair.ward_ids)} invalid geometry(ies) (wards "
            f"{', '.join(repair.ward_ids)}), area change {repair.area_change_percent:.2g} %"
        )
    columns: dict[str, pd.Series[Any]] = {
        name: pd.Series([_none(v) for v in work[name]], dtype=object)
        for name in ("ward_id", "ward_name", "zone")
    }
    for name in COUNT_FIELDS:
        columns[name] = pd.Series(work[name].to_numpy(), dtype="float64")
    out = gpd.GeoDataFrame(columns, geometry=work.geometry.to_numpy(), crs=STORAGE_CRS)
    return out[list(WARD_COLUMNS)]


def _none(value: object) -> object:
    """Missing text as ``None`` (never NaN or pandas.NA)."""
    return None if value is None or value is pd.NA or value != value else value


def _early_bounds(work: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The usable features (``feature``, geometry) in the storage CRS, to check their place
    before the file's other problems are reported; empty when they cannot be projected."""
    usable = work[[geometry_problem(g) is None for g in work.geometry]][["feature", "geometry"]]
    try:
        return usable.to_crs(STORAGE_CRS)
    except (ValueError, RuntimeError):
        return usable.iloc[0:0]


def _check_bounds(work: gpd.GeoDataFrame, label: str, source: CRS) -> None:
    """Refuse a layer that does not lie in India, with a hint at the likely cause."""
    issues = _bounds_issues(work, label, source)
    if issues:
        raise InputError(f"{label}: the wards do not lie in India", issues, code="outside-india")


def _bounds_issues(work: gpd.GeoDataFrame, label: str, source: CRS) -> list[Issue]:
    """Why ``work`` (in the storage CRS) does not lie in India; empty when it does."""
    if work.empty:
        return []
    bounds = work.geometry.bounds
    lon0, lat0, lon1, lat1 = INDIA_BOUNDS
    finite = bounds.notna().all(axis=1) & bounds.abs().lt(float("inf")).all(axis=1)
    inside = (
        finite
        & bounds["minx"].ge(lon0)
        & bounds["maxx"].le(lon1)
        & bounds["miny"].ge(lat0)
        & bounds["maxy"].le(lat1)
    )
    if inside.all():
        return []
    outside = work.loc[~inside, "feature"].tolist()
    minx, miny, maxx, maxy = work.total_bounds
    issues = [
        Issue(
            "outside-india",
            f"{len(outside)} feature(s) lie outside India (lon {lon0:g}–{lon1:g}, lat "
            f"{lat0:g}–{lat1:g}), e.g. features {', '.join(map(str, outside[:5]))}; layer bounds "
            f"lon {minx:.6g}…{maxx:.6g}, lat {miny:.6g}…{maxy:.6g} (read as {crs_label(source)})",
            file=label,
        ),
        Issue("outside-india", _bounds_hint(minx, miny, maxx, maxy), file=label),
    ]
    return issues


def _bounds_hint(minx: float, miny: float, maxx: float, maxy: float) -> str:
    lon0, lat0, lon1, lat1 = INDIA_BOUNDS
    if lat0 <= minx and maxx <= lat1 and lon0 <= miny and maxy <= lon1:
        return "longitude and latitude look swapped: check the axis order of the file or its CRS"
    if max(abs(minx), abs(maxx), abs(miny), abs(maxy)) > 180:
        return (
            "the coordinates look like metres, not degrees: the CRS the file declares (or was "
            "given) is wrong — name the right one, e.g. crs='EPSG:32644'"
        )
    return "check the CRS: the file must be a ward layer of a city in India"
