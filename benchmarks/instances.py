"""Benchmark instances: real ward layers at several CO counts and tolerances, plus sub-ward layers.

Every instance is built with the same ``gis``/``app`` functions Wardplan itself uses (layer reading
and census join, geometric adjacency with island links, illustrative CO homes, poverty estimate),
so the benchmark measures the product's own pipeline, not a re-implementation of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from app.pipeline import planning
from app.pipeline.planning import LayerRequest
from gis.adjacency import build_adjacency
from gis.crs import metric_crs
from gis.geometry import polygonal
from gis.layer import STORAGE_CRS, WARD_COLUMNS, WardLayer
from gis.organisers import illustrative_organisers
from solver.poverty import EstimateParams
from solver.problem import Problem

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

#: Seed of the illustrative CO homes (the demo's seed) and of the sub-ward split points.
ORGANISER_SEED = 2017
SPLIT_SEED = 7

#: City → whether ``census2011_wards.csv`` (with households) is joined.
CITIES: dict[str, bool] = {"chandigarh": True, "lucknow": True, "bangalore": False}

#: CO counts as a fraction of the number of wards, with their labels and time-limit factors (the
#: n/3 target allows 120 s, twice the others' 60 s).
CO_FRACTIONS: tuple[tuple[str, int, float], ...] = (
    ("n/10", 10, 1.0),
    ("n/5", 5, 1.0),
    ("n/3", 3, 2.0),
)

#: Tolerances: ±5 %, ±10 % and auto (``None``: the tightest achievable balance).
TOLERANCES: tuple[float | None, ...] = (0.05, 0.10, None)

#: Sub-ward layers: (units, COs, time-limit factor relative to ``--time-limit``).
SUBWARD: tuple[tuple[int, int, float], ...] = ((1000, 50, 2.0), (2000, 100, 2.0), (5000, 250, 5.0))
SUBWARD_CITY = "bangalore"


@dataclass(frozen=True)
class InstanceSpec:
    """One benchmark instance. ``units`` is the target number of units for sub-ward layers
    (``None`` for the ward layer itself); ``time_factor`` multiplies ``--time-limit``."""

    city: str
    organisers: int
    tolerance: float | None
    units: int | None = None
    co_label: str = ""
    time_factor: float = 1.0

    @property
    def kind(self) -> str:
        return "ward" if self.units is None else "subward"

    @property
    def tolerance_label(self) -> str:
        return "auto" if self.tolerance is None else f"±{self.tolerance * 100:g}%"

    @property
    def name(self) -> str:
        tol = "auto" if self.tolerance is None else f"t{round(self.tolerance * 100):02d}"
        layer = self.city if self.units is None else f"{self.city}-sub{self.units}"
        return f"{layer}-k{self.organisers}-{tol}"


def ward_count(city: str) -> int:
    return len(city_layer(city).wards)


def all_specs() -> list[InstanceSpec]:
    specs: list[InstanceSpec] = []
    for city in CITIES:
        n = ward_count(city)
        for label, div, factor in CO_FRACTIONS:
            k = max(2, round(n / div))
            for tol in TOLERANCES:
                specs.append(InstanceSpec(city, k, tol, co_label=label, time_factor=factor))
    for units, k, factor in SUBWARD:
        specs.append(
            InstanceSpec(SUBWARD_CITY, k, 0.10, units=units, co_label="n/20", time_factor=factor)
        )
    return specs


QUICK = (
    "chandigarh-k3-t10",
    "chandigarh-k9-auto",
    "lucknow-k11-t10",
    "bangalore-sub1000-k50-t10",
)


def quick_specs() -> list[InstanceSpec]:
    return [s for s in all_specs() if s.name in QUICK]


# -- layers ----------------------------------------------------------------------------------------


@cache
def city_layer(city: str) -> WardLayer:
    folder = DATA_DIR / city
    table = folder / "census2011_wards.csv" if CITIES[city] else None
    return planning.load_layer(LayerRequest(folder / "wards.geojson", population_table=table))


@cache
def subward_layer(city: str, units: int, seed: int = SPLIT_SEED) -> WardLayer:
    """Each ward cut into Voronoi cells of random points inside it (clipped to the ward).

    Pieces per ward are proportional to its population (largest remainder, at least one), so the
    layer has exactly ``units`` pieces; population and households are split by area.
    """
    layer = city_layer(city)
    wards = layer.wards.reset_index(drop=True)
    crs = metric_crs(wards)
    metric = wards.to_crs(crs)
    pops = metric["population"].fillna(0).to_numpy(dtype=float)
    counts = _apportion(pops, units)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    for w, (row, count) in enumerate(zip(metric.itertuples(), counts, strict=True)):
        pieces = _split(row.geometry, int(count), rng)
        areas = np.array([p.area for p in pieces])
        share = areas / areas.sum()
        for q, (piece, s) in enumerate(zip(pieces, share, strict=True)):
            rows.append(
                {
                    "ward_id": f"{row.ward_id}.{q + 1}",
                    "ward_name": None,
                    "zone": None,
                    "population": float(pops[w] * s),
                    "households": _scaled(row.households, s),
                    "poor_households": _scaled(row.poor_households, s),
                    "geometry": piece,
                }
            )
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=crs).to_crs(STORAGE_CRS)
    frame = frame[list(WARD_COLUMNS)]
    return WardLayer(
        wards=frame,
        sources=list(layer.sources),
        source_crs=layer.source_crs,
        warnings=[f"split {len(wards)} wards into {len(frame)} Voronoi pieces (seed {seed})"],
    )


def _scaled(value: object, share: float) -> float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return float(value) * share  # type: ignore[arg-type]


def _apportion(weights: np.ndarray, total: int) -> np.ndarray:
    n = len(weights)
    if total < n:
        raise ValueError(f"cannot split {n} wards into only {total} pieces")
    w = np.where(weights > 0, weights, 0.0)
    w = w if w.sum() > 0 else np.ones(n)
    extra = total - n  # every ward keeps at least one piece
    quota = w / w.sum() * extra
    base = np.floor(quota).astype(int)
    rest = extra - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    pieces: np.ndarray = base + 1
    return pieces


def _split(geom: shapely.Geometry, count: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    if count <= 1:
        return [geom]
    minx, miny, maxx, maxy = geom.bounds
    pts: list[tuple[float, float]] = []
    for _ in range(1000):
        xs = rng.uniform(minx, maxx, 4 * count)
        ys = rng.uniform(miny, maxy, 4 * count)
        inside = shapely.contains_xy(geom, xs, ys)
        pts += list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
        if len(pts) >= count:
            break
    pts = pts[:count]
    if len(pts) < 2:
        return [geom]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=geom.envelope)
    )
    pieces = []
    for clipped in shapely.intersection(cells, geom):
        poly = polygonal(clipped)
        if poly is not None and not poly.is_empty and poly.area > 0:
            pieces.append(poly)
    return pieces or [geom]


# -- problems ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltInstance:
    spec: InstanceSpec
    problem: Problem
    build_seconds: float
    notes: tuple[str, ...]


def build(spec: InstanceSpec) -> BuiltInstance:
    """The Problem Wardplan would solve for this instance (adjacency, homes, loads, distances)."""
    import time

    t0 = time.monotonic()
    layer = city_layer(spec.city) if spec.units is None else subward_layer(spec.city, spec.units)
    # One reprojection, as the app's solve_layer makes it: the adjacency and the distances share
    # the metric copy of the wards.
    metric = planning.metric_layer(layer)
    adjacency = build_adjacency(metric.wards)
    organisers = illustrative_organisers(layer.wards, spec.organisers, seed=ORGANISER_SEED)
    problem = planning.build_problem(metric, adjacency, organisers, EstimateParams())
    notes = [*layer.warnings[-1:]] if spec.units is not None else []
    notes += [f"{len(adjacency.links)} island link(s)"] if adjacency.links else []
    return BuiltInstance(spec, problem, time.monotonic() - t0, tuple(notes))
