"""Plan outputs: wards tagged with their organiser, one dissolved area per organiser, and files.

The caller computes every number (loads, deviations, estimates) and puts it in the frames; this
module joins, dissolves geometry and writes. Files: ``plan.geojson`` (one feature per ward),
``areas.geojson`` (one feature per organiser) and ``assignment.csv`` (``ward_id,organiser_id``).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

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
    return _with_homes(areas, organisers)


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
    polygons = [_fill_small_holes(p, hole_m2) for p in _polygons(closed)]
    return shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]


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
    out_dir: Path, plan_wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> list[Path]:
    """Write ``plan.geojson``, ``areas.geojson`` and ``assignment.csv`` into ``out_dir``.

    Frames are written as given (reprojected to EPSG:4326); each file is written to a temporary
    name first and then moved into place, so a failed export never leaves half a file.
    Returns the paths written.
    """
    for frame, name in ((plan_wards, "plan_wards"), (areas, "areas")):
        if "organiser_id" not in frame.columns:
            raise ValueError(f"{name} has no 'organiser_id' column")
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        _write_geojson(plan_wards, out_dir / PLAN_FILE),
        _write_geojson(areas, out_dir / AREAS_FILE),
        _write_assignment(plan_wards, out_dir / ASSIGNMENT_FILE),
    ]


def _write_geojson(frame: gpd.GeoDataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    out = frame.to_crs(STORAGE_CRS) if frame.crs is not None else frame
    out = out.reset_index(drop=True)
    out = out.astype({c: str for c in out.columns if _needs_text(out[c])})
    out.to_file(tmp, driver="GeoJSON", engine="pyogrio", RFC7946=True)
    os.replace(tmp, path)
    return path


def _needs_text(column: pd.Series) -> bool:
    """Object columns holding lists, sets or other non-scalars are written as text."""
    if column.dtype != object or column.name == "geometry":
        return False
    return any(v is not None and not isinstance(v, (str, int, float, bool)) for v in column)


def _write_assignment(plan: gpd.GeoDataFrame, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ward_id", "organiser_id"])
        for ward, organiser in zip(plan["ward_id"], plan["organiser_id"], strict=True):
            writer.writerow([ward, organiser])
    os.replace(tmp, path)
    return path
