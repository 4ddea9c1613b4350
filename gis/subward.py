"""A city's own sub-ward layer (blocks, slum clusters, mohallas) as the split units of large wards.

A ward too large for one CO is split into ``k`` units (``gis.split``). With a sub-ward layer the
units are made of the layer's features, never cut: the features are clipped to the ward, then
grouped into ``k`` compact groups of equal weight by recursive bisection of their positions (the
group boundary falls between features, across the longer side of the ward's remaining extent, at
the ratio ⌊k/2⌋ : ⌈k/2⌉). A feature's weight is its own figure (households, else population) —
the clipped share of it by area — or, without figures, its area.

The features rarely tile the ward (slum clusters are islands in it), so each unit also takes the
part of the ward nearest to its features: the features' boundaries are sampled, the ward is cut
into the Voronoi cells of the samples, and each unit is its own features (where features overlap,
the first unit's) with the rest of the ward that lies in its samples' cells. The units thus tile
the ward and every feature lies wholly in one unit.

The ward's population and households are spread over its units by their share of the layer's own
figure when the layer has one, else by area. A ward holding fewer features than units is left to
``gis.split``'s bisection, and this is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.errors import InputError, Issue
from gis.fields import FieldMapping
from gis.geometry import polygonal
from gis.layer import FileBytes, SourceFile
from gis.slums import read_polygon_layer

#: Sub-ward id columns recognised, best first (the id only names units in messages).
SUBWARD_ID_ALIASES = (
    "block_id",
    "mohalla_id",
    "mohalla",
    "cluster_id",
    "slum_id",
    "unit_id",
    "id",
    "fid",
    "gid",
)
#: Samples along each feature's boundary: at most this far apart (metres) …
SAMPLE_METRES = 25.0
#: … and at least this many per feature.
MIN_SAMPLES = 4


@dataclass(frozen=True)
class SubwardRequest:
    """A sub-ward layer and how to read it (columns: the default aliases when ``None``)."""

    path: Path | FileBytes
    id_field: str | None = None
    population_field: str | None = None
    households_field: str | None = None


@dataclass(frozen=True)
class Subwards:
    """The sub-ward features (EPSG:4326): ``subward_id``, ``weight_figure`` (households, else
    population; NaN without figures), geometry; and where they came from."""

    frame: gpd.GeoDataFrame
    basis: str
    source: SourceFile

    @property
    def label(self) -> str:
        return self.source.path


def read_subwards(req: SubwardRequest) -> Subwards:
    """The sub-ward layer read by the ward-layer reader (same checks, CRS handling, repairs)."""
    candidates = [req.id_field] if req.id_field is not None else list(SUBWARD_ID_ALIASES)
    for position, id_field in enumerate(candidates):
        mapping = FieldMapping(
            ward_id=id_field, population=req.population_field, households=req.households_field
        )
        try:
            layer = read_polygon_layer(req.path, mapping, "sub-ward feature")
        except InputError as exc:
            last = position == len(candidates) - 1
            if exc.code != "missing-column" or last or id_field in str(exc.issues[0]):
                raise _with_hint(exc, req) from None
            continue
        frame = layer.wards.rename(columns={"ward_id": "subward_id"})
        if frame["households"].notna().any():
            frame["weight_figure"] = frame["households"].fillna(0.0)
            basis = "the layer's households"
        elif frame["population"].notna().any():
            frame["weight_figure"] = frame["population"].fillna(0.0)
            basis = "the layer's population"
        else:
            frame["weight_figure"] = math.nan
            basis = "area"
        frame = frame[["subward_id", "weight_figure", "geometry"]]
        return Subwards(frame, basis, layer.sources[0])
    raise AssertionError("unreachable: the last candidate raises")


def _with_hint(exc: InputError, req: SubwardRequest) -> InputError:
    if exc.code != "missing-column" or req.id_field is not None:
        return exc
    hint = Issue(
        "missing-column",
        f"sub-ward id column names recognised: {', '.join(SUBWARD_ID_ALIASES)} (or name it: "
        "--subward-id-field, the upload's `subward_id_field`)",
        file=req.path.name,
    )
    return InputError(exc.title, [*exc.issues, hint], code=exc.code)


@dataclass(frozen=True)
class WardUnits:
    """One ward's units (metric geometries), each unit's share of the ward's figures, and how
    many sub-ward features each holds."""

    pieces: list[BaseGeometry]
    shares: list[float]
    features: list[int]


def ward_units(
    ward: BaseGeometry, k: int, subwards: gpd.GeoDataFrame, by_figure: bool
) -> WardUnits | None:
    """``ward`` (metric) as ``k`` units of whole sub-ward features (``subwards``: metric, with
    ``weight_figure``); ``None`` when the ward holds fewer than ``k`` features."""
    hits = subwards.sindex.query(ward, predicate="intersects")
    feats = subwards.iloc[hits]
    clipped = shapely.intersection(feats.geometry.to_numpy(), ward)
    areas = shapely.area(clipped)
    keep = areas > 1.0  # a touch along the boundary is not a feature of the ward
    if int(keep.sum()) < k:
        return None
    clipped, areas = clipped[keep], areas[keep]
    if by_figure:
        whole = shapely.area(feats.geometry.to_numpy()[keep])
        weights = feats["weight_figure"].to_numpy()[keep] * areas / np.where(whole > 0, whole, 1)
    else:
        weights = areas
    points = shapely.get_coordinates(shapely.point_on_surface(clipped))
    group = np.zeros(len(clipped), dtype=int)
    _bisect_groups(points, np.asarray(weights, dtype=float), np.arange(len(clipped)), k, 0, group)
    pieces = _tessellate(ward, list(clipped), group, k)
    if by_figure and float(np.sum(weights)) > 0:
        totals = np.bincount(group, weights=weights, minlength=k)
        shares = list(totals / totals.sum())
    else:
        unit_areas = np.array([p.area for p in pieces])
        shares = list(unit_areas / unit_areas.sum())
    counts = [int(c) for c in np.bincount(group, minlength=k)]
    return WardUnits(pieces, [float(s) for s in shares], counts)


def _bisect_groups(
    points: np.ndarray,
    weights: np.ndarray,
    members: np.ndarray,
    k: int,
    first: int,
    out: np.ndarray,
) -> None:
    """Give ``members`` groups ``first`` … ``first + k - 1`` (see the module doc)."""
    if k == 1:
        out[members] = first
        return
    left_k = k // 2
    xy = points[members]
    axis = 0 if np.ptp(xy[:, 0]) >= np.ptp(xy[:, 1]) else 1
    order = members[np.argsort(xy[:, axis], kind="stable")]
    w = weights[order]
    total = float(w.sum())
    if total > 0:
        cumulative = np.cumsum(w)
        target = total * left_k / k
        crossing = int(np.searchsorted(cumulative, target))  # the feature the target falls in
        below = cumulative[crossing - 1] if crossing > 0 else 0.0
        # that feature goes to the side that leaves the left nearer its target
        cut = crossing + 1 if cumulative[crossing] - target < target - below else crossing
    else:
        cut = round(len(order) * left_k / k)
    cut = min(max(cut, left_k), len(order) - (k - left_k))  # each side at least a feature a unit
    _bisect_groups(points, weights, order[:cut], left_k, first, out)
    _bisect_groups(points, weights, order[cut:], k - left_k, first + left_k, out)


def _tessellate(
    ward: BaseGeometry, features: list[BaseGeometry], group: np.ndarray, k: int
) -> list[BaseGeometry]:
    """Each group's features and the part of ``ward`` nearest to them (see the module doc)."""
    samples, labels = [], []
    for feature, g in zip(features, group, strict=True):
        ring = shapely.segmentize(feature.boundary, max(feature.length / 1000, SAMPLE_METRES))
        coords = shapely.get_coordinates(ring)
        if len(coords) < MIN_SAMPLES:
            coords = shapely.get_coordinates(shapely.point_on_surface(feature))
        samples.append(coords)
        labels.append(np.full(len(coords), g))
    xy, label = np.vstack(samples), np.concatenate(labels)
    xy, first = np.unique(xy, axis=0, return_index=True)
    label = label[first]
    cells = shapely.voronoi_polygons(
        shapely.multipoints(xy), extend_to=ward.envelope.buffer(10), ordered=True
    )
    cell_list = list(shapely.get_parts(cells))
    own = [
        shapely.union_all([f for f, g in zip(features, group, strict=True) if g == i])
        for i in range(k)
    ]
    rest = shapely.difference(ward, shapely.union_all(own))
    pieces, claimed = [], shapely.Polygon()
    for i in range(k):  # overlapping features go to the first unit holding one of them
        near = shapely.union_all([c for c, g in zip(cell_list, label, strict=True) if g == i])
        core = shapely.difference(own[i], claimed)
        claimed = shapely.union(claimed, own[i])
        piece = shapely.intersection(shapely.union(core, shapely.intersection(near, rest)), ward)
        fixed = polygonal(shapely.make_valid(piece))
        pieces.append(fixed if fixed is not None else piece)
    return pieces
