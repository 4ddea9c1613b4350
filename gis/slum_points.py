"""Slum layers given as points: each point's households go to the ward that contains it.

Some cities hold their slums as points (a notified-slum register with coordinates, survey
locations) with a household or population figure, not as polygons. A point inside a ward gives
that ward all it holds (a point inside two overlapping wards goes to the first of them in the
layer, counted in the report). A point just outside every ward (on a coastline or a river bank
the ward layer does not reach) goes to the nearest ward within ``tolerance_m`` metres, reported
with its distance. A point farther out is left unmatched and reported by its feature id, with
what it held. Distances are measured in the wards' local UTM zone.

The file is read in the sandbox like every upload (``gis.sandbox``); ids, text, counts, CRS and
geometry are checked, every problem reported at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gis.attributes import ValueProblem, echo, parse_count
from gis.errors import InputError, Issue
from gis.fields import find_column
from gis.io import ALLOWED_DRIVERS, INDIA_BOUNDS, file_error, sniff_format
from gis.layer import STORAGE_CRS, FileBytes
from gis.sandbox import parse_in_sandbox
from gis.text import frame_text_issues

#: Default distance (metres) within which a point outside every ward joins the nearest ward.
POINT_TOLERANCE_M = 100.0
_POINTS = frozenset({"Point", "MultiPoint"})
_HOUSEHOLDS = ("households", "slum_households", "hh", "no_of_households", "num_households")
_POPULATION = ("population", "slum_population", "persons", "pop", "total_population")


@dataclass
class Assignment:
    """Households per ward (by ward position) from slum points, and what was not placed."""

    per_ward: list[float]
    inside: int = 0
    in_overlap: int = 0
    nearest: list[tuple[str, str, float]] = field(default_factory=list)  # (id, ward, metres)
    unmatched: list[tuple[str, float]] = field(default_factory=list)  # (id, households)

    @property
    def unmatched_households(self) -> float:
        return sum(h for _, h in self.unmatched)


def is_point_error(exc: InputError) -> bool:
    """Whether a ward-layer read failed because the features are points (and for no other
    geometry problem), so that the file should be read as a slum point layer."""
    geometry = [i for i in exc.issues if i.code == "bad-geometry"]
    points = [i for i in geometry if i.message.startswith(("is a Point,", "is a MultiPoint,"))]
    nothing = ("has no geometry", "has an empty geometry")
    return bool(points) and all(i in points or i.message.startswith(nothing) for i in geometry)


def read_points(
    path: Path | FileBytes,
    id_field: str | None,
    households_field: str | None,
    population_field: str | None,
    id_aliases: tuple[str, ...],
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The points (EPSG:4326) with ``slum_id``, ``households`` and ``population`` (NaN where
    empty). The id is the named column, else the first of ``id_aliases`` the file has, else the
    feature number. A point with no location is left out, said in the notes returned with the
    frame. Raises one ``InputError`` listing every problem."""
    label = path.name
    if isinstance(path, Path) and not path.is_file():
        raise file_error(label, "no such file", "missing-file")
    drivers = ALLOWED_DRIVERS[sniff_format(path, label)]
    frame = parse_in_sandbox(path, label=label, crs_given=False, drivers=drivers).frame
    issues = frame_text_issues(frame, label)
    if issues:
        raise InputError(f"{label}: {len(issues)} problem(s) in the slum points", issues)
    columns = [str(c) for c in frame.columns if c != "geometry"]
    chosen = {
        "slum_id": _column(columns, id_field, id_aliases, label),
        "households": _column(columns, households_field, _HOUSEHOLDS, label),
        "population": _column(columns, population_field, _POPULATION, label),
    }
    if frame.crs is None:
        raise file_error(label, "the file declares no CRS; save it with one", "missing-crs")
    ids = (
        [str(v).strip() for v in frame[chosen["slum_id"]]]
        if chosen["slum_id"] is not None
        else [f"feature {i}" for i in range(len(frame))]
    )
    issues, counts = _check_rows(frame, ids, chosen, label)
    if issues:
        raise InputError(f"{label}: {len(issues)} problem(s) in the slum points", issues)
    located = [g is not None and not g.is_empty for g in frame.geometry]
    geoms = [_one_point(g) if ok else None for g, ok in zip(frame.geometry, located, strict=True)]
    points = gpd.GeoDataFrame({"slum_id": ids, **counts}, geometry=geoms, crs=frame.crs)
    lost = points[[not ok for ok in located]]
    points = points[located].to_crs(STORAGE_CRS).reset_index(drop=True)
    _check_place(points, label)
    notes = []
    if len(lost):
        held = lost["households"].fillna(0).sum() or lost["population"].fillna(0).sum()
        notes.append(
            f"left out {len(lost)} point(s) with no location (holding {held:,.0f} households "
            f"or persons): {', '.join(lost['slum_id'].astype(str).head(20))}"
        )
    return points, notes


def _column(
    columns: list[str],
    named: str | None,
    aliases: tuple[str, ...],
    label: str,
) -> str | None:
    if named is None:
        return find_column(columns, aliases)
    if named not in columns:
        message = f"no column {echo(named)}; the file has: {', '.join(columns) or 'none'}"
        raise InputError(
            f"{label}: {message}",
            [Issue("missing-column", message, file=label, field=named)],
            code="missing-column",
        )
    return named


def _check_rows(
    frame: gpd.GeoDataFrame, ids: list[str], chosen: dict[str, str | None], label: str
) -> tuple[list[Issue], dict[str, list[float]]]:
    issues: list[Issue] = []
    counts: dict[str, list[float]] = {"households": [], "population": []}
    for feature, (slum, geom) in enumerate(zip(ids, frame.geometry, strict=True)):
        where: dict[str, Any] = {"file": label, "feature": feature, "ward_id": slum}
        problem = _point_problem(geom)
        if problem:
            issues.append(Issue("bad-geometry", problem, **where))
        for name, column in (
            ("households", chosen["households"]),
            ("population", chosen["population"]),
        ):
            if column is None:
                counts[name].append(math.nan)
                continue
            value = frame[column].iloc[feature]
            try:
                counts[name].append(parse_count(value))
            except ValueProblem as exc:
                counts[name].append(math.nan)
                issues.append(
                    Issue("bad-number", f"{name} {exc}", field=column, value=echo(value), **where)
                )
    return issues, counts


def _point_problem(geom: Any) -> str | None:
    if geom is None or geom.is_empty:
        return None  # left out, said (``read_points``)
    if geom.geom_type not in _POINTS:
        return f"is a {geom.geom_type}; a slum point layer holds points only"
    if not all(math.isfinite(c) for c in shapely.get_coordinates(geom).ravel()):
        return "has NaN or infinite coordinates"
    return None


def _one_point(geom: Any) -> Any:
    """The point in 2D; a MultiPoint (shapefiles often store single points so) as its centroid."""
    flat = shapely.force_2d(geom)
    return flat.centroid if flat.geom_type == "MultiPoint" else flat


def _check_place(points: gpd.GeoDataFrame, label: str) -> None:
    minx, miny, maxx, maxy = INDIA_BOUNDS
    outside = [
        Issue("outside-india", "lies outside India", file=label, feature=i, ward_id=slum)
        for i, (slum, p) in enumerate(zip(points["slum_id"], points.geometry, strict=True))
        if not (minx <= p.x <= maxx and miny <= p.y <= maxy)
    ]
    if outside:
        raise InputError(
            f"{label}: {len(outside)} slum point(s) do not lie in India (a wrong CRS?)",
            outside,
            code="outside-india",
        )


def assign_points(
    wards: gpd.GeoDataFrame, points: gpd.GeoDataFrame, tolerance_m: float = POINT_TOLERANCE_M
) -> Assignment:
    """Each point's ``households`` to the ward containing it, or the nearest within
    ``tolerance_m`` (see the module doc). ``wards`` and ``points`` in any CRS."""
    metric = wards.estimate_utm_crs()
    w = gpd.GeoDataFrame({"ward": range(len(wards))}, geometry=wards.geometry.to_crs(metric).values)
    w = w.set_crs(metric)
    p = gpd.GeoDataFrame(
        {"point": range(len(points)), "households": points["households"].to_numpy()},
        geometry=points.geometry.to_crs(metric).values,
        crs=metric,
    )
    hits = gpd.sjoin(p, w, predicate="within", how="inner")
    counts = hits.groupby("point")["ward"].nunique()
    first = hits.sort_values(["point", "ward"]).drop_duplicates("point")
    ward_of: dict[int, int] = dict(zip(first["point"], first["ward"], strict=True))
    out = Assignment(per_ward=[0.0] * len(wards), inside=len(ward_of))
    out.in_overlap = int((counts > 1).sum())
    rest = p[~p["point"].isin(ward_of)]
    if len(rest) and tolerance_m > 0:  # 0 m: only the points inside a ward are placed
        near = gpd.sjoin_nearest(
            rest, w, how="inner", max_distance=tolerance_m, distance_col="metres"
        )
        near = near.sort_values(["point", "metres", "ward"]).drop_duplicates("point")
        for point, ward, metres in zip(near["point"], near["ward"], near["metres"], strict=True):
            ward_of[int(point)] = int(ward)
            slum = str(points["slum_id"].iloc[point])
            out.nearest.append((slum, str(wards["ward_id"].iloc[ward]), float(metres)))
    for point, households in enumerate(p["households"]):
        if point in ward_of:
            out.per_ward[ward_of[point]] += float(households)
        else:
            out.unmatched.append((str(points["slum_id"].iloc[point]), float(households)))
    return out


def point_notes(
    label: str, result: Assignment, total: float, basis: str, tolerance_m: float
) -> list[str]:
    """The report's lines on a slum point layer: how many points went where, and which not."""
    count = len(result.nearest) + result.inside + len(result.unmatched)
    notes = [
        f"poor households from the slum points {label} ({count} "
        f"points; {basis}), each given to the ward containing it: {result.inside} inside a ward"
        + (
            f" ({result.in_overlap} inside two overlapping wards, given to the first)"
            if result.in_overlap
            else ""
        )
        + f", {len(result.nearest)} outside every ward joined the nearest within {tolerance_m:g} m; "
        f"{total - result.unmatched_households:,.0f} of {total:,.0f} households placed"
    ]
    if result.nearest:
        shown = ", ".join(f"{s} → ward {w} ({m:.0f} m)" for s, w, m in result.nearest[:10])
        more = len(result.nearest) - 10
        notes.append(
            f"{label}: nearest ward for {shown}" + (f" … and {more} more" if more > 0 else "")
        )
    if result.unmatched:
        shown = ", ".join(f"{s} ({h:,.0f} households)" for s, h in result.unmatched[:20])
        more = len(result.unmatched) - 20
        notes.append(
            f"{label}: {len(result.unmatched)} point(s) lie farther than {tolerance_m:g} m from "
            f"every ward and were left out ({result.unmatched_households:,.0f} households): {shown}"
            + (f" … and {more} more" if more > 0 else "")
        )
    return notes


def equal_shares(points: gpd.GeoDataFrame, total: float) -> pd.Series:
    """The city's slum households spread equally over points that carry no figure."""
    return pd.Series(total / len(points), index=points.index, dtype="float64")
