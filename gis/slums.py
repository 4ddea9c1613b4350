"""Poor households per ward from a slum layer, by area-weighted overlay.

A city's slum layer (clusters, notified slums, SRA polygons) says where the urban poor live. Each
slum polygon carries households, or persons (divided by the household size), or nothing but its
area — then the user states the city's slum households (``total_households``, e.g. from the Census
2011 slum tables) and they are spread over the polygons in proportion to area. A polygon that
crosses ward boundaries gives each ward the share of its figure that lies inside it (areal
weighting: people assumed evenly spread within the polygon). A polygon, or the part of one, that
lies in no ward is reported with what it held. Where the ward layer's wards overlap, a polygon's
shares are scaled so that it never gives away more than it holds.

Areas are measured in the wards' local UTM zone. A small geopandas overlay does the work (areal
interpolation libraries such as tobler would add a large dependency tree for these few lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis.errors import InputError, Issue
from gis.fields import FieldMapping
from gis.formats import file_sha256
from gis.io import read_ward_layer
from gis.layer import FileBytes, SourceFile, WardLayer
from gis.slum_points import (
    POINT_TOLERANCE_M,
    assign_points,
    equal_shares,
    is_point_error,
    point_notes,
    read_points,
)

#: Slum-layer id columns recognised, best first (the id only names features in messages).
SLUM_ID_ALIASES = ("cluster_id", "slum_id", "slum_no", "polyno", "id", "fid", "gid")


@dataclass(frozen=True)
class SlumRequest:
    """A slum layer (a file, or the bytes as uploaded) and how to read its figure."""

    path: Path | FileBytes
    id_field: str | None = None
    households_field: str | None = None
    population_field: str | None = None
    total_households: float | None = None
    point_tolerance_m: float = POINT_TOLERANCE_M


@dataclass
class Overlay:
    """Poor households per ward (by ward position) and what fell outside every ward."""

    per_ward: list[float]
    outside_households: float
    outside_features: list[str] = field(default_factory=list)
    crossing: int = 0


def read_slums(req: SlumRequest, household_size: float) -> tuple[gpd.GeoDataFrame, str, str]:
    """The slum polygons (EPSG:4326) with their ``households``; the basis in words; the digest.

    Read by the ward layer reader (same checks, CRS handling and repairs) with the slum id column
    as the feature id: the one named, else the first of ``SLUM_ID_ALIASES`` the file has.
    """
    candidates = [req.id_field] if req.id_field is not None else list(SLUM_ID_ALIASES)
    for position, id_field in enumerate(candidates):
        mapping = FieldMapping(
            ward_id=id_field, households=req.households_field, population=req.population_field
        )
        try:
            layer = read_polygon_layer(req.path, mapping)
        except InputError as exc:
            if is_point_error(exc):
                return _read_points(req, household_size)
            last = position == len(candidates) - 1
            if exc.code != "missing-column" or last or id_field in str(exc.issues[0]):
                raise _with_hint(exc, req) from None
            continue
        frame = layer.wards.rename(columns={"ward_id": "slum_id"})
        frame, basis = _households(frame, req, household_size)
        skipped = [w for w in layer.warnings if "left out" in w and "empty geometry" in w]
        return frame, "; ".join([basis, *skipped]), layer.sources[0].sha256
    raise AssertionError("unreachable: the last candidate raises")


def _read_points(req: SlumRequest, household_size: float) -> tuple[gpd.GeoDataFrame, str, str]:
    """A slum layer of points (``gis.slum_points``), as ``read_slums`` answers."""
    aliases = SLUM_ID_ALIASES if req.id_field is None else ()
    points, notes = read_points(
        req.path, req.id_field, req.households_field, req.population_field, aliases
    )
    points, basis = _households(points, req, household_size)
    basis = "; ".join([basis, *notes])
    return points, basis, file_sha256(req.path, req.path.name)


def is_points(slums: gpd.GeoDataFrame) -> bool:
    """Whether a slum layer read by ``read_slums`` holds points (else polygons)."""
    return bool(len(slums)) and bool((slums.geom_type == "Point").all())


def read_polygon_layer(
    path: Path | FileBytes, mapping: FieldMapping, what: str = "slum polygon"
) -> WardLayer:
    """A slum (or sub-ward) layer read as a ward layer; features with an empty geometry (they
    hold nothing) are left out, and this is said (``what``: how the note names them)."""
    try:
        return read_ward_layer(path, mapping=mapping)
    except InputError as exc:
        empty = [i.ward_id for i in exc.issues if i.message == "has an empty geometry"]
        if not empty or len(empty) != len(exc.issues) or None in empty:
            raise
    layer = read_ward_layer(path, mapping=mapping, exclude_ids=[str(e) for e in empty])
    note = f"{path.name}: left out {len(empty)} {what}(s) with an empty geometry"
    layer.warnings.append(f"{note}: {', '.join(map(str, empty))}")
    return layer


def _with_hint(exc: InputError, req: SlumRequest) -> InputError:
    if exc.code != "missing-column" or req.id_field is not None:
        return exc
    hint = Issue(
        "missing-column",
        f"slum id column names recognised: {', '.join(SLUM_ID_ALIASES)} (or name it: "
        "--slum-id-field, the upload's `slum_id_field`)",
        file=req.path.name,
    )
    return InputError(exc.title, [*exc.issues, hint], code=exc.code)


def _households(
    frame: gpd.GeoDataFrame, req: SlumRequest, household_size: float
) -> tuple[gpd.GeoDataFrame, str]:
    frame = frame.copy()
    label = req.path.name
    kind = "point" if is_points(frame) else "polygon"
    if frame["households"].notna().any():
        frame["households"] = frame["households"].fillna(0.0)
        return frame, f"households of each slum {kind}"
    if frame["population"].notna().any():
        frame["households"] = frame["population"].fillna(0.0) / household_size
        return frame, f"persons of each slum {kind} ÷ household size {household_size:g}"
    if req.total_households is None:
        raise InputError(
            f"{label}: the slum layer has no households or population",
            [
                Issue(
                    "missing-figure",
                    "give the city's slum households (--slum-households-total, the upload's "
                    "`slum_households_total`) to spread over the polygons by area, or name the "
                    "households or population column",
                    file=label,
                )
            ],
            code="missing-figure",
        )
    if is_points(frame):
        frame["households"] = equal_shares(frame, req.total_households)
        return frame, f"{req.total_households:,.0f} slum households spread equally over points"
    areas = frame.geometry.to_crs(frame.estimate_utm_crs()).area
    frame["households"] = req.total_households * areas / areas.sum()
    return frame, f"{req.total_households:,.0f} slum households spread by area"


def overlay(wards: gpd.GeoDataFrame, slums: gpd.GeoDataFrame) -> Overlay:
    """Area-weighted poor households per ward (see the module doc); both frames in one CRS."""
    metric = wards.estimate_utm_crs()
    w = gpd.GeoDataFrame({"ward": range(len(wards))}, geometry=wards.geometry.to_crs(metric).values)
    s = gpd.GeoDataFrame(
        {"slum": range(len(slums)), "households": slums["households"].to_numpy()},
        geometry=slums.geometry.to_crs(metric).values,
        crs=metric,
    )
    w = w.set_crs(metric)
    s["area"] = s.area
    pieces = gpd.overlay(s, w, how="intersection", keep_geom_type=True)
    pieces["share"] = pieces.area / pieces["area"]
    total_share = pieces.groupby("slum")["share"].transform("sum")
    pieces["share"] = pieces["share"] / total_share.clip(lower=1.0)
    pieces["given"] = pieces["share"] * pieces["households"]
    per_ward = pieces.groupby("ward")["given"].sum().reindex(range(len(wards)), fill_value=0.0)
    kept = pieces.groupby("slum")["share"].sum().reindex(range(len(slums)), fill_value=0.0)
    outside = float((s["households"] * (1 - kept.to_numpy())).sum())
    wards_per_slum = pieces.groupby("slum")["ward"].nunique()
    return Overlay(
        per_ward=[float(v) for v in per_ward],
        outside_households=max(outside, 0.0),
        outside_features=[str(slums["slum_id"].iloc[i]) for i in kept.index[kept.to_numpy() == 0]],
        crossing=int((wards_per_slum > 1).sum()),
    )


def join_slum_layer(layer: WardLayer, req: SlumRequest, household_size: float) -> WardLayer:
    """A copy of ``layer`` whose ``poor_households`` are the slum households in each ward.

    Every ward gets a figure (0 where no slum lies); the source of each is recorded.
    """
    slums, basis, digest = read_slums(req, household_size)
    if is_points(slums):
        return _join_points(layer, req, slums, basis, digest)
    result = overlay(layer.wards, slums)
    label = req.path.name
    wards = layer.wards.copy()
    wards["poor_households"] = pd.Series(result.per_ward, index=wards.index, dtype="float64")
    total = float(slums["households"].sum())
    notes = [
        f"poor households from the slum layer {label} ({len(slums)} polygons; {basis}), "
        f"by area share: {total - result.outside_households:,.0f} of {total:,.0f} households "
        f"fall in the wards; {result.crossing} polygon(s) cross ward boundaries and were split"
    ]
    if result.outside_households > 0.5:
        shown = ", ".join(result.outside_features[:10])
        more = len(result.outside_features) - 10
        entirely = (
            f"{len(result.outside_features)} polygon(s) entirely: {shown}"
            + (f" … and {more} more" if more > 0 else "")
            if result.outside_features
            else "no polygon entirely"
        )
        notes.append(
            f"{label}: {result.outside_households:,.0f} households "
            f"({100 * result.outside_households / total:.2g} %) fell outside every ward "
            f"(parts of polygons on ward edges; {entirely})"
        )
    empty = [str(w) for w, v in zip(wards["ward_id"], result.per_ward, strict=True) if v == 0]
    if empty:
        notes.append(
            f"{len(empty)} ward(s) hold no slum polygon: 0 poor households ({', '.join(empty[:10])})"
        )
    source = f"slum layer {label} ({basis}, area-weighted)"
    return replace(
        layer,
        wards=wards,
        sources=[*layer.sources, SourceFile(label, digest)],
        warnings=[*layer.warnings, *notes],
        poverty_sources={
            **layer.poverty_sources,
            **{str(w): source for w in wards["ward_id"]},
        },
    )


def _join_points(
    layer: WardLayer, req: SlumRequest, points: gpd.GeoDataFrame, basis: str, digest: str
) -> WardLayer:
    """``join_slum_layer`` for a layer of slum points: each to the ward containing it."""
    result = assign_points(layer.wards, points, req.point_tolerance_m)
    label = req.path.name
    wards = layer.wards.copy()
    wards["poor_households"] = pd.Series(result.per_ward, index=wards.index, dtype="float64")
    total = float(points["households"].sum())
    notes = point_notes(label, result, total, basis, req.point_tolerance_m)
    empty = [str(w) for w, v in zip(wards["ward_id"], result.per_ward, strict=True) if v == 0]
    if empty:
        notes.append(
            f"{len(empty)} ward(s) hold no slum point: 0 poor households ({', '.join(empty[:10])})"
        )
    source = f"slum points {label} ({basis}, by the ward containing each)"
    return replace(
        layer,
        wards=wards,
        sources=[*layer.sources, SourceFile(label, digest)],
        warnings=[*layer.warnings, *notes],
        poverty_sources={**layer.poverty_sources, **{str(w): source for w in wards["ward_id"]}},
    )
