"""Plan outputs: wards tagged with their organiser, one dissolved area per organiser, and files.

The caller computes every number (loads, deviations, estimates) and puts it in the frames; this
module joins, dissolves geometry and writes. Files: ``plan.geojson`` (one feature per ward),
``areas.geojson`` (one feature per organiser) and ``assignment.csv`` (``ward_id,organiser_id``);
and the files GIS cells open directly, each with a ward layer and an area layer
(:data:`WARDS_LAYER`, :data:`AREAS_LAYER`): ``plan.gpkg`` (GeoPackage), ``plan.kml`` (one folder per
layer) and ``plan-shp.zip`` (two shapefiles, UTF-8 with a ``.cpg``, field names shortened by
:data:`SHP_FIELD_NAMES`).
"""

from __future__ import annotations

import csv
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import metric_crs
from gis.layer import STORAGE_CRS
from gis.organisers import Organiser
from solver.problem import Problem, Solution

PLAN_FILE = "plan.geojson"
AREAS_FILE = "areas.geojson"
ASSIGNMENT_FILE = "assignment.csv"
GPKG_FILE = "plan.gpkg"
KML_FILE = "plan.kml"
SHP_ZIP_FILE = "plan-shp.zip"

#: Layer names in the GeoPackage, KML folders and shapefile names inside the zip.
WARDS_LAYER: Final = "plan_wards"
AREAS_LAYER: Final = "plan_areas"

#: dBASE field names hold at most 10 characters. Longer column names are renamed as listed here
#: (a longer name not listed is refused rather than cut by GDAL into something ambiguous).
SHP_FIELD_NAMES: Final[Mapping[str, str]] = {
    "organiser_id": "org_id",
    "plan_version": "plan_ver",
    "poor_households": "poor_hh_in",  # the ward-level figure of the input file
    "poor_households_est": "poor_hh",
    "poor_households_at_25pct": "poor_hh_25",
    "poor_households_at_30pct": "poor_hh_30",
    "deviation_from_mean_pct": "dev_pct",
    "mean_km_from_home": "mean_km",
    "poverty_source": "pov_source",  # where the ward's poor households figure came from
}
#: Longest dBASE text value in bytes; longer texts (e.g. a long ``ward_ids`` list) end in "…".
SHP_MAX_TEXT_BYTES: Final = 254


def assignment_mapping(problem: Problem, solution: Solution) -> dict[str, str]:
    """``{ward_id: organiser_id}`` from a solved problem; ``ValueError`` if there is no plan."""
    if solution.assignment is None:
        raise ValueError(f"the solve produced no plan: {solution.describe()}")
    if len(solution.assignment) != problem.n_units:
        raise ValueError(f"{len(solution.assignment)} assignments for {problem.n_units} units")
    return {
        unit: problem.organiser_ids[k]
        for unit, k in zip(problem.unit_ids, solution.assignment, strict=True)
    }


def plan_wards(wards: gpd.GeoDataFrame, assignment: Mapping[str, str]) -> gpd.GeoDataFrame:
    """A copy of ``wards`` with an ``organiser_id`` column; each ward must be assigned once.

    Raises ``ValueError`` naming unassigned wards or assignments to wards not in the layer.
    """
    ids = [str(v) for v in wards["ward_id"]]
    unassigned = [w for w in ids if w not in assignment]
    unknown = sorted(set(assignment) - set(ids))
    problems = []
    if unassigned:
        problems.append(f"ward(s) without an organiser: {', '.join(unassigned[:20])}")
    if unknown:
        problems.append(f"assignment names ward(s) not in the layer: {', '.join(unknown[:20])}")
    if problems:
        raise ValueError("; ".join(problems))
    plan = wards.copy()
    plan["organiser_id"] = [assignment[w] for w in ids]
    return plan


def dissolve_areas(
    wards: gpd.GeoDataFrame,
    assignment: Mapping[str, str],
    *,
    organisers: Sequence[Organiser] = (),
    sum_columns: Sequence[str] = (),
    close_gaps_m: float = 5.0,
    fill_holes_m2: float = 10_000.0,
) -> gpd.GeoDataFrame:
    """One row per organiser: the union of its wards, in EPSG:4326.

    The union is taken in the metric CRS and closed by ``close_gaps_m`` (buffer out by half, union,
    buffer back), so sliver gaps between neighbouring wards leave no cracks; holes smaller than
    ``fill_holes_m2`` are filled. Columns: ``organiser_id``, ``n_wards``, ``ward_ids`` (comma-
    separated), ``n_parts`` (polygons in the area: 1 for a contiguous area), ``area_km2``, then
    ``name``/``home_lon``/``home_lat`` when ``organisers`` are given (organisers without wards get
    an empty area), then the sum of each of ``sum_columns`` over the area's wards. Rows follow the
    order of ``organisers``, else of first appearance in ``wards``.
    """
    if close_gaps_m < 0 or fill_holes_m2 < 0:
        raise ValueError("close_gaps_m and fill_holes_m2 must be ≥ 0")
    plan = plan_wards(wards, assignment)
    order = _organiser_order(plan, organisers)
    crs = metric_crs(plan)
    metric = plan.to_crs(crs)
    rows = []
    for oid in order:
        members = metric[metric["organiser_id"] == oid]
        geom = _closed_union(members.geometry.to_numpy(), close_gaps_m, fill_holes_m2)
        row: dict[str, object] = {
            "organiser_id": oid,
            "n_wards": len(members),
            "ward_ids": ",".join(str(w) for w in members["ward_id"]),
            "n_parts": len(_polygons(geom)),
            "area_km2": geom.area / 1e6,
        }
        row.update({c: float(members[c].sum(min_count=1)) for c in sum_columns})
        row["geometry"] = geom
        rows.append(row)
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_crs(STORAGE_CRS)
    areas["geometry"] = [valid_polygonal(g) for g in areas.geometry]
    return _with_homes(areas, organisers)


def valid_polygonal(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` if valid, else its valid polygonal part (``make_valid``, polygons kept).

    Reprojecting a valid union back to degrees can leave a near-duplicate vertex that makes a
    ring touch itself (seen on Bangalore); GIS formats such as KML refuse such a polygon.
    """
    if geom.is_valid:
        return geom
    polygons = _polygons(shapely.make_valid(geom))
    if not polygons:
        return shapely.Polygon()
    return shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]


def _organiser_order(plan: gpd.GeoDataFrame, organisers: Sequence[Organiser]) -> list[str]:
    assigned = list(dict.fromkeys(str(o) for o in plan["organiser_id"]))
    if not organisers:
        return assigned
    known = [o.organiser_id for o in organisers]
    strangers = sorted(set(assigned) - set(known))
    if strangers:
        raise ValueError(f"wards assigned to unknown organiser(s): {', '.join(strangers)}")
    return known


def _closed_union(geoms: Sequence[BaseGeometry], close_m: float, hole_m2: float) -> BaseGeometry:
    if len(geoms) == 0:
        return shapely.Polygon()
    half = close_m / 2.0
    grown = shapely.buffer(geoms, half, join_style="mitre", mitre_limit=2.0)
    union = shapely.union_all(grown)
    closed = shapely.make_valid(shapely.buffer(union, -half, join_style="mitre", mitre_limit=2.0))
    closed = _bridge_parts(closed, close_m)
    polygons = [_fill_small_holes(p, hole_m2) for p in _polygons(closed)]
    return shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]


#: Width (metres) of the strip that joins two parts of an area closer than the closing distance.
BRIDGE_M = 1.0


def _bridge_parts(geom: BaseGeometry, close_m: float) -> BaseGeometry:
    """Join parts that lie within ``close_m`` of each other by a strip along their shortest gap.

    Closing (grow, union, shrink) fills gaps along shared edges, but where two wards come close at
    a single point (a corner 1.24 m from another ward) the neck it grows is shrunk away again and
    the area falls into two parts although the plan counts its wards as neighbours (within the
    snapping distance). Such parts are joined, so a connected area is written as one polygon.
    """
    parts = _polygons(geom)
    while len(parts) > 1:
        pair = next(
            (
                (i, j)
                for i in range(len(parts))
                for j in range(i + 1, len(parts))
                if parts[i].distance(parts[j]) <= close_m + 1e-9
            ),
            None,
        )
        if pair is None:
            break
        i, j = pair
        strip = shapely.shortest_line(parts[i], parts[j]).buffer(BRIDGE_M / 2, cap_style="square")
        joined = shapely.make_valid(shapely.union_all([parts[i], parts[j], strip]))
        parts = [p for k, p in enumerate(parts) if k not in pair] + _polygons(joined)
    return shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else geom)


def _polygons(geom: BaseGeometry) -> list[shapely.Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, shapely.Polygon):
        return [geom]
    parts = getattr(geom, "geoms", [])
    return [p for part in parts for p in _polygons(part)]


def _fill_small_holes(polygon: shapely.Polygon, hole_m2: float) -> shapely.Polygon:
    kept = [ring for ring in polygon.interiors if shapely.Polygon(ring).area >= hole_m2]
    return shapely.Polygon(polygon.exterior, kept)


def _with_homes(areas: gpd.GeoDataFrame, organisers: Sequence[Organiser]) -> gpd.GeoDataFrame:
    if not organisers:
        return areas
    by_id = {o.organiser_id: o for o in organisers}
    position = areas.columns.get_loc("area_km2") + 1
    areas.insert(position, "name", [by_id[o].name for o in areas["organiser_id"]])
    areas.insert(position + 1, "home_lon", [by_id[o].lon for o in areas["organiser_id"]])
    areas.insert(position + 2, "home_lat", [by_id[o].lat for o in areas["organiser_id"]])
    return areas


def write_plan_files(
    out_dir: Path,
    plan_wards: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    stamp: Mapping[str, object] | None = None,
) -> list[Path]:
    """Write ``plan.geojson``, ``areas.geojson`` and ``assignment.csv`` into ``out_dir``.

    Frames are written as given (reprojected to EPSG:4326); each file is written to a temporary
    name first and then moved into place, so a failed export never leaves half a file.
    ``stamp`` (``id``, ``version``, ``approval``): which plan it is, on every row of
    ``assignment.csv`` after its two columns, as a stored plan's export has them.
    Returns the paths written.
    """
    for frame, name in ((plan_wards, "plan_wards"), (areas, "areas")):
        if "organiser_id" not in frame.columns:
            raise ValueError(f"{name} has no 'organiser_id' column")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _write_geojson(plan_wards, out_dir / PLAN_FILE),
        _write_geojson(areas, out_dir / AREAS_FILE),
        _write_assignment(plan_wards, out_dir / ASSIGNMENT_FILE, stamp),
    ]


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    out = frame.to_crs(STORAGE_CRS) if frame.crs is not None else frame
    out = export_schema(out.reset_index(drop=True))
    out.to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946=True)
    os.replace(tmp, path)
    return path


#: Integers up to this magnitude are written as 32-bit fields: KML (LIBKML) has no 64-bit integer
#: type and writes one as a string, and GeoJSON readers infer 32-bit integers.
_INT32_MAX: Final = 2**31 - 1


def export_schema(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The one schema every file of a plan is written with, whatever the format or entry point:
    non-scalar values as text, integers as 32-bit integers where they fit, and a column with no
    value at all as text (a file without values cannot say whether they were numbers; GeoJSON
    readers call such a column text, so the GeoPackage, KML and shapefile say the same)."""
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        values = out[column]
        if _needs_text(values):
            out[column] = values.astype(str)
        elif values.isna().all():
            out[column] = pd.Series([None] * len(out), index=out.index, dtype=object)
        elif pd.api.types.is_integer_dtype(values) and values.abs().max() <= _INT32_MAX:
            out[column] = values.astype("int32")
    return out


def _needs_text(column: pd.Series) -> bool:
    """Object columns holding lists, sets or other non-scalars are written as text."""
    if column.dtype != object or column.name == "geometry":
        return False
    return any(v is not None and not isinstance(v, (str, int, float, bool)) for v in column)


#: The columns ``assignment.csv`` carries after ``ward_id, organiser_id`` with a stamp.
STAMP_COLUMNS: Final = ("plan_id", "plan_version", "approval")


def _write_assignment(
    plan: gpd.GeoDataFrame, path: Path, stamp: Mapping[str, object] | None = None
) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    extra = [] if stamp is None else [stamp.get(k) for k in ("id", "version", "approval")]
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ward_id", "organiser_id", *(STAMP_COLUMNS if stamp else ())])
        for ward, organiser in zip(plan["ward_id"], plan["organiser_id"], strict=True):
            writer.writerow([ward, organiser, *extra])
    os.replace(tmp, path)
    return path


def write_gis_files(
    out_dir: Path, plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> list[Path]:
    """Write ``plan.gpkg``, ``plan.kml`` and ``plan-shp.zip`` into ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        write_gpkg(out_dir / GPKG_FILE, plan_wards, areas),
        write_kml(out_dir / KML_FILE, plan_wards, areas),
        write_shapefile_zip(out_dir / SHP_ZIP_FILE, plan_wards, areas),
    ]


def write_gpkg(path: Path, plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> Path:
    """A GeoPackage with the layers ``plan_wards`` and ``plan_areas`` (EPSG:4326)."""
    tmp = _fresh_tmp(path)
    for frame, layer in _layers(plan_wards, areas):
        frame.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio", append=tmp.exists())
    os.replace(tmp, path)
    return path


def write_kml(path: Path, plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> Path:
    """KML with two folders, ``plan_wards`` and ``plan_areas``; every attribute is kept as
    ExtendedData. A placemark's name is the CO's name (areas) or "Ward <id>: <name>" (wards)."""
    tmp = _fresh_tmp(path)
    for frame, layer in _layers(plan_wards, areas):
        out = frame
        if layer == WARDS_LAYER and "name" not in frame.columns:
            out = frame.assign(name=[_ward_label(w) for w in frame.itertuples()])
        out.to_file(
            tmp,
            driver="LIBKML",
            layer=layer,
            engine="pyogrio",
            append=tmp.exists(),
            layer_options={"FOLDER": "YES"},
        )
    os.replace(tmp, path)
    return path


def write_shapefile_zip(path: Path, plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame) -> Path:
    """A zip of two shapefiles, ``plan_wards.*`` and ``plan_areas.*`` (.shp .shx .dbf .prj .cpg).

    Text is UTF-8 and the ``.cpg`` says so, so Devanagari names survive in QGIS and ArcGIS. Field
    names longer than 10 characters are renamed by :data:`SHP_FIELD_NAMES`; texts longer than
    :data:`SHP_MAX_TEXT_BYTES` bytes are cut and end in "…" (the GeoPackage keeps them whole).
    """
    tmp = _fresh_tmp(path)
    with tempfile.TemporaryDirectory(prefix="wardplan-shp-", dir=path.parent) as work:
        parts = Path(work)
        for frame, layer in _layers(plan_wards, areas):
            shp_frame(frame).to_file(
                parts / f"{layer}.shp", driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8"
            )
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(parts.iterdir()):
                archive.write(part, part.name)
    os.replace(tmp, path)
    return path


def shp_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with dBASE-safe field names and texts; ``ValueError`` naming a column that has
    no short name or two columns that would share one."""
    renamed = {c: SHP_FIELD_NAMES.get(str(c), str(c)) for c in frame.columns if c != "geometry"}
    too_long = [c for c, short in renamed.items() if len(short) > 10]
    if too_long:
        raise ValueError(
            f"column(s) {', '.join(too_long)} have no shapefile field name of ≤ 10 characters "
            "(add them to gis.export.SHP_FIELD_NAMES)"
        )
    shorts = list(renamed.values())
    clashes = sorted({s for s in shorts if shorts.count(s) > 1})
    if clashes:
        raise ValueError(f"several columns would become shapefile field(s) {', '.join(clashes)}")
    out = frame.rename(columns=renamed)
    for column in renamed.values():
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = [_cut(v) for v in out[column]]
    return out


def _cut(value: object) -> object:
    if not isinstance(value, str) or len(value.encode()) <= SHP_MAX_TEXT_BYTES:
        return value
    data = value.encode()[: SHP_MAX_TEXT_BYTES - len("…".encode())]
    return data.decode(errors="ignore") + "…"


def _layers(
    plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> list[tuple[gpd.GeoDataFrame, str]]:
    """The two (polygon) frames, checked, valid, in EPSG:4326 with plain columns, and their layer
    names."""
    out = []
    for frame, layer in ((plan_wards, WARDS_LAYER), (areas, AREAS_LAYER)):
        if "organiser_id" not in frame.columns:
            raise ValueError(f"{layer} has no 'organiser_id' column")
        plain = frame.to_crs(STORAGE_CRS) if frame.crs is not None else frame
        plain = export_schema(plain.reset_index(drop=True))
        # areas stored before dissolve_areas repaired them may still be invalid; KML refuses those
        plain[plain.geometry.name] = [valid_polygonal(g) for g in plain.geometry]
        out.append((plain, layer))
    return out


def _ward_label(ward: object) -> str:
    ward_id = getattr(ward, "ward_id", "")
    name = getattr(ward, "ward_name", None)
    return f"Ward {ward_id}: {name}" if isinstance(name, str) and name else f"Ward {ward_id}"


def _fresh_tmp(path: Path) -> Path:
    """``path``'s temporary sibling with the same extension (GDAL drivers go by it: LIBKML writes
    a folder for a name without ``.kml``), removed if an earlier failed write left it behind."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    tmp.unlink(missing_ok=True)
    return tmp
