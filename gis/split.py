"""Splitting wards too large for one CO into compact sub-ward units the solver can allocate.

A ward holding more poor households than one CO's share cannot be balanced whole. It is cut into
``k`` pieces by recursive bisection: the piece is cut across the longer side of its bounding box
(in the local UTM zone) where the areas on either side stand in the ratio ⌊k/2⌋ : ⌈k/2⌉, then each
side again, so the pieces are compact and of equal area. With a slum layer the cuts are placed so that
the pieces hold equal slum households instead (the caller overlays the slums on the units again for
their poor households). Population and households are spread over the pieces by area.

Units keep their parent: unit ids are ``<ward>/<part>`` ("57/2"), their names read
"<name> (part 2 of 3)", and ``WardLayer.parents`` maps each unit to (ward, part, parts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gis.geometry import polygonal
from gis.layer import WardLayer
from gis.subward import Subwards, ward_units

_COUNTS = ("population", "households", "poor_households")
_STEPS = 40


Measure = Callable[[BaseGeometry], float]


def _area(geom: BaseGeometry) -> float:
    return float(geom.area)


def slum_measure(slums: gpd.GeoSeries, households: Sequence[float]) -> Measure:
    """The slum households inside a piece (area share of each slum polygon; all of each slum
    point inside): the measure that makes pieces hold equal poor households. ``slums`` in the
    same metric CRS as the pieces."""
    geoms = slums.to_numpy()
    tree = shapely.STRtree(geoms)
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():  # slum points: what lies inside
        held = list(households)

        def held_inside(piece: BaseGeometry) -> float:
            return float(sum(held[i] for i in tree.query(piece, predicate="intersects")))

        return held_inside
    weights = [w / g.area if g.area else 0.0 for w, g in zip(households, geoms, strict=True)]

    def measure(piece: BaseGeometry) -> float:
        hits = tree.query(piece, predicate="intersects")
        inside = shapely.area(shapely.intersection(geoms[hits], piece))
        return float(sum(weights[i] * a for i, a in zip(hits, inside, strict=True)))

    return measure


def bisect(geom: BaseGeometry, parts: int, measure: Measure = _area) -> list[BaseGeometry]:
    """``geom`` (metric) cut into ``parts`` compact pieces of equal ``measure`` (area by
    default; see the module doc). Where the measure is 0 (no slum), pieces are of equal area."""
    if parts <= 1:
        return [geom]
    if measure is not _area and measure(geom) <= 0:
        measure = _area
    left_parts = parts // 2
    minx, miny, maxx, maxy = geom.bounds
    vertical = (maxx - minx) >= (maxy - miny)
    lo, hi = (minx, maxx) if vertical else (miny, maxy)
    target = measure(geom) * left_parts / parts
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        if measure(_side(geom, mid, vertical)) < target:
            lo = mid
        else:
            hi = mid
    cut = (lo + hi) / 2
    left = _side(geom, cut, vertical)
    right = geom.difference(left)
    return bisect(_clean(left), left_parts, measure) + bisect(
        _clean(right), parts - left_parts, measure
    )


def _side(geom: BaseGeometry, cut: float, vertical: bool) -> BaseGeometry:
    minx, miny, maxx, maxy = geom.bounds
    half = (
        box(minx - 1, miny - 1, cut, maxy + 1)
        if vertical
        else box(minx - 1, miny - 1, maxx + 1, cut)
    )
    return geom.intersection(half)


def _clean(geom: BaseGeometry) -> BaseGeometry:
    fixed = polygonal(shapely.make_valid(geom))
    return fixed if fixed is not None else geom


def parts_needed(loads: list[float], ids: list[str], share: float) -> dict[str, int]:
    """Wards whose load exceeds ``share`` (one CO's poor households) → pieces of at most it."""
    return {w: math.ceil(load / share) for w, load in zip(ids, loads, strict=True) if load > share}


def split_wards(
    layer: WardLayer,
    parts: dict[str, int],
    slums: gpd.GeoDataFrame | None = None,
    subwards: Subwards | None = None,
) -> WardLayer:
    """A copy of ``layer`` with each ward in ``parts`` replaced by that many units (see above).

    With ``slums`` (polygons with ``households``), the cuts give each unit of a ward equal slum
    households instead of equal area. With ``subwards`` (the city's own sub-ward layer), the
    units are groups of its whole features (``gis.subward``); a ward holding fewer features than
    units is bisected as above, and this is reported."""
    wanted = {w: k for w, k in parts.items() if k > 1}
    if not wanted:
        return layer
    wards = layer.wards
    metric = wards.estimate_utm_crs()
    measure: Measure = _area
    if slums is not None:
        measure = slum_measure(slums.geometry.to_crs(metric), slums["households"].tolist())
    cutter = _Cutter(measure, subwards, metric)
    rows: list[dict[str, object]] = []
    parents = dict(layer.parents)
    for row, geom in zip(wards.to_dict("records"), wards.geometry.to_crs(metric), strict=True):
        ward = str(row["ward_id"])
        k = wanted.get(ward, 1)
        if k == 1:
            rows.append(row)
            continue
        pieces, shares = cutter.cut(ward, geom, k)
        name = row["ward_name"] or f"ward {ward}"
        for part, (piece, share) in enumerate(zip(pieces, shares, strict=True), start=1):
            unit = dict(row)
            unit["ward_id"] = f"{ward}/{part}"
            unit["ward_name"] = f"{name} (part {part} of {k})"
            for column in _COUNTS:
                unit[column] = float(row[column]) * share
            unit["geometry"] = _clean(gpd.GeoSeries([piece], crs=metric).to_crs(wards.crs).iloc[0])
            parents[unit["ward_id"]] = (ward, part, k)
            rows.append(unit)
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=wards.crs)[wards.columns]
    sources = {
        u: layer.poverty_sources[p]
        for u, (p, _, _) in parents.items()
        if p in layer.poverty_sources
    }
    return replace(
        layer,
        wards=out.reset_index(drop=True),
        warnings=[*layer.warnings, *cutter.notes(wanted, slums is not None)],
        sources=[*layer.sources, subwards.source] if subwards is not None else layer.sources,
        parents=parents,
        poverty_sources={**layer.poverty_sources, **sources},
    )


class _Cutter:
    """How each ward is cut: into groups of sub-ward features, else by bisection."""

    def __init__(self, measure: Measure, subwards: Subwards | None, metric: object) -> None:
        self.measure = measure
        self.subwards = subwards
        self.frame = None if subwards is None else subwards.frame.to_crs(metric)
        self.by_figure = subwards is not None and bool(
            subwards.frame["weight_figure"].notna().any()
        )
        self.bisected: list[str] = []
        self.held: dict[str, list[int]] = {}

    def cut(self, ward: str, geom: BaseGeometry, k: int) -> tuple[list[BaseGeometry], list[float]]:
        """``k`` pieces of ``geom`` (metric) and each one's share of the ward's figures."""
        if self.frame is not None:
            units = ward_units(geom, k, self.frame, self.by_figure)
            if units is not None:
                self.held[ward] = units.features
                return units.pieces, units.shares
            self.bisected.append(ward)
        pieces = bisect(geom, k, self.measure)
        total = sum(p.area for p in pieces)
        return pieces, [p.area / total for p in pieces]

    def notes(self, wanted: dict[str, int], by_slums: bool) -> list[str]:
        listed = ", ".join(f"{w} into {k}" for w, k in sorted(wanted.items()))
        if self.subwards is None:
            how = "equal slum households" if by_slums else "equal area"
            return [
                f"split {len(wanted)} ward(s) too large for one CO into compact units of {how} "
                f"(population and households spread by area): {listed}"
            ]
        label, basis = self.subwards.label, self.subwards.basis
        held = "; ".join(
            f"{w}: {'+'.join(map(str, c))} features" for w, c in sorted(self.held.items())
        )
        notes = [
            f"split {len(wanted)} ward(s) too large for one CO into units of whole features of "
            f"{label} (each with the part of the ward nearest to them; population and "
            f"households spread by {basis}): {listed} ({held})"
        ]
        if self.bisected:
            notes.append(
                f"{len(self.bisected)} ward(s) hold fewer features of {label} than the units "
                f"asked, and were bisected instead: {', '.join(sorted(self.bisected))}"
            )
        return notes
