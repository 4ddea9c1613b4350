"""A stored plan's areas in the schema of the CLI's ``areas.geojson`` (issue 20: one schema for a
plan's exports, whatever the entry point).

The CLI writes, per CO: ``organiser_id``, ``n_wards``, ``ward_ids``, ``n_parts``, ``area_km2``,
``name``, ``home_lon``, ``home_lat``, ``population``, ``poor_households_est``,
``deviation_from_mean_pct``, ``mean_km_from_home`` (``gis.export.dissolve_areas`` and
``app.pipeline.planning.plan_frames``). The API answers the same fields with the same meaning, computed
from the stored plan, and adds ``approval`` (what every output of a stored plan says about it).
Homes are rounded to 0.01° (about 1 km) for callers who do not see personal data, as on the map.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import geopandas as gpd
import pandas as pd
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Organiser, PlanArea, PlanAssignment, Ward
from app.pipeline import planning
from app.services.frames import gis_organisers, stored_layer
from gis.crs import metric_crs
from gis.figures import PlanFigures, km_value, percent_value
from gis.layer import STORAGE_CRS
from gis.maps import ward_km_from_home
from solver.poverty import poor_households

#: The fields of a plan's areas, in order, in the CLI's files and the API alike.
AREA_FIELDS: Final = (
    "organiser_id",
    "n_wards",
    "ward_ids",
    "n_parts",
    "area_km2",
    "name",
    "home_lon",
    "home_lat",
    "population",
    "poor_households_est",
    "deviation_from_mean_pct",
    "mean_km_from_home",
)


def area_properties(
    session: Session, plan_id: int, layer: Any, parameters: dict[str, Any], *, exact_homes: bool
) -> list[tuple[dict[str, Any], Any]]:
    """(properties in ``AREA_FIELDS`` order, shapely geometry) per CO of the plan, by CO id."""
    wards, estimates = _assigned_wards(session, plan_id, layer, parameters)
    rows = session.execute(
        select(PlanArea, Organiser)
        .join(Organiser, PlanArea.organiser_pk == Organiser.id)
        .where(PlanArea.plan_id == plan_id)
        .order_by(Organiser.organiser_id)
    ).all()
    homes = gis_organisers([o for _, o in rows])
    figures = PlanFigures.of(  # from the exact homes and estimates, as the CLI's
        [o.organiser_id for _, o in rows],
        [str(w) for w in wards["ward_id"]],
        [str(o) for o in wards["organiser_id"]],
        estimates,
        ward_km_from_home(wards, homes),
    )
    if not exact_homes:
        homes = [replace(h, lon=round(h.lon, 2), lat=round(h.lat, 2)) for h in homes]
    geoms = [to_shape(area.geom) for area, _ in rows]
    metric = metric_crs(gpd.GeoDataFrame(geometry=geoms, crs=STORAGE_CRS))
    km2 = gpd.GeoSeries(geoms, crs=STORAGE_CRS).to_crs(metric).area / 1e6
    out = []
    for (_area, organiser), home, geom, area_km2, fig in zip(
        rows, homes, geoms, km2, figures.organisers, strict=True
    ):
        members = wards[wards["organiser_id"] == organiser.organiser_id]
        properties = {
            "organiser_id": organiser.organiser_id,
            "n_wards": len(members),
            "ward_ids": ",".join(str(w) for w in members["ward_id"]),
            "n_parts": len(shapely.get_parts(geom)),
            "area_km2": float(area_km2),
            "name": organiser.name,
            "home_lon": home.lon,
            "home_lat": home.lat,
            "population": float(members["population"].sum(min_count=1)),
            "poor_households_est": float(members["poor_households_est"].sum(min_count=1)),
            "deviation_from_mean_pct": percent_value(fig.deviation_pct),
            "mean_km_from_home": km_value(fig.mean_km),
        }
        out.append(({k: _plain(properties[k]) for k in AREA_FIELDS}, geom))
    return out


def _assigned_wards(
    session: Session, plan_id: int, layer: Any, parameters: dict[str, Any]
) -> tuple[gpd.GeoDataFrame, list[float]]:
    """The layer's wards (file order) with their CO and ``poor_households_est`` (rounded, as the
    CLI's wards), and their estimates unrounded (the plan's loads)."""
    assigned = session.execute(
        select(Ward.ward_id, Organiser.organiser_id)
        .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
        .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
        .where(PlanAssignment.plan_id == plan_id)
    ).all()
    by_ward = dict(assigned)
    wards = stored_layer(session, layer).wards.copy()
    wards["organiser_id"] = [by_ward[str(w)] for w in wards["ward_id"]]
    rate, size = (float(parameters[k]) for k in ("poverty_rate", "household_size"))
    estimates = [poor_households(f, rate, size) for f in planning.ward_figures(wards)]
    wards["poor_households_est"] = [round(e, 1) for e in estimates]
    return wards, estimates


def _plain(value: object) -> object:
    """NaN (a sum over wards without the figure) as ``None``: JSON has no NaN."""
    if isinstance(value, float) and pd.isna(value):
        return None
    return value
