"""Ward geometry policy: what is refused, what is repaired (and reported), in one place.

Refused (``geometry_problem``): null or empty geometry, a geometry GEOS cannot build (an unclosed
ring, a ring of fewer than 4 points: the reader gives ``None`` for them), anything that is not (Multi)Polygon (a
GeometryCollection made only of polygons is accepted), NaN/infinite coordinates.
Repaired with a warning: Z/M values dropped (``drop_z``), invalid polygons made valid with
``shapely.make_valid`` keeping only their polygonal parts (``repair_invalid``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from gis.crs import to_metric

POLYGONAL = frozenset({"Polygon", "MultiPolygon"})


def geometry_problem(geom: BaseGeometry | None) -> str | None:
    """Why a ward geometry is refused, or ``None`` when it can be used."""
    if geom is None:
        return (
            "has no geometry, or one that cannot be read (a ring that is not closed or has "
            "fewer than 4 points): fix it in a GIS"
        )
    if geom.is_empty:
        return "has an empty geometry"
    kinds = {part.geom_type for part in _members(geom)}
    if not kinds <= POLYGONAL:
        if geom.geom_type == "GeometryCollection":
            other = ", ".join(sorted(kinds - POLYGONAL))
            return f"is a GeometryCollection holding {other}, not only polygons"
        return f"is a {geom.geom_type}, not a polygon"
    if not np.isfinite(shapely.get_coordinates(geom, include_z=bool(geom.has_z))).all():
        return "has NaN or infinite coordinates"
    return None


def _members(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.geom_type == "GeometryCollection":
        return [m for part in shapely.get_parts(geom) for m in _members(part)]
    return [geom]


def polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    """The polygonal content of ``geom`` as Polygon or MultiPolygon; ``None`` if there is none."""
    if geom.geom_type in POLYGONAL:
        return geom
    polygons = [
        poly
        for part in _members(geom)
        if part.geom_type in POLYGONAL
        for poly in shapely.get_parts(part)
        if not poly.is_empty
    ]
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def drop_z(frame: gpd.GeoDataFrame) -> int:
    """Remove Z (and M) values in place; returns how many features had them."""
    geoms = frame.geometry.values
    flagged = shapely.has_z(geoms) | shapely.has_m(geoms)
    count = int(flagged.sum())
    if count:
        frame.loc[flagged, frame.geometry.name] = shapely.force_2d(geoms[flagged])
    return count


@dataclass(frozen=True)
class Repair:
    """What ``repair_invalid`` did: how many features and by how much the area changed."""

    ward_ids: tuple[str, ...]
    area_change_percent: float
    collapsed: tuple[int, ...] = ()


def repair_invalid(frame: gpd.GeoDataFrame, id_column: str = "ward_id") -> Repair:
    """Make invalid geometries valid in place (polygonal parts only).

    The area change is ``sum(|after - before|)`` over repaired features, relative to the layer's
    total area after repair, measured in the layer's metric CRS. Positions (row labels) whose
    geometry has no polygonal part left are returned in ``collapsed`` and left unchanged.
    """
    geoms = frame.geometry.values
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return Repair((), 0.0)
    before = to_metric(frame.loc[invalid]).area.to_numpy()
    fixed = [polygonal(g) for g in shapely.make_valid(geoms[invalid])]
    collapsed = tuple(
        int(pos) for pos, g in zip(np.flatnonzero(invalid), fixed, strict=True) if g is None
    )
    kept = [g for g in fixed if g is not None]
    keep_mask = invalid.copy()
    keep_mask[list(collapsed)] = False
    if kept:
        frame.loc[keep_mask, frame.geometry.name] = kept
    after = to_metric(frame.loc[invalid]).area.to_numpy()
    total = float(to_metric(frame).area.sum())
    change = float(np.abs(after - before).sum()) / total * 100 if total > 0 else 0.0
    ids = tuple(str(v) for v in frame.loc[keep_mask, id_column])
    return Repair(ids, change, collapsed)
