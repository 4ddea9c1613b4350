"""Stored rows ↔ the GeoDataFrames that ``gis`` and ``planning`` work on. The one place that converts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import geopandas as gpd
import shapely
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import SRID, Organiser, Ward, WardLayer, Zone
from gis.layer import STORAGE_CRS, WARD_COLUMNS, SourceFile
from gis.layer import WardLayer as GisWardLayer
from gis.organisers import Organiser as GisOrganiser


def multipolygon(geom: shapely.Geometry) -> WKBElement:
    """A (Multi)Polygon as a MULTIPOLYGON in SRID 4326 (a Polygon is promoted)."""
    if isinstance(geom, shapely.Polygon):
        geom = shapely.MultiPolygon([geom])
    if not isinstance(geom, shapely.MultiPolygon):
        raise ValueError(f"expected a polygon, got {geom.geom_type}")
    return from_shape(geom, srid=SRID)


def point(lon: float, lat: float) -> WKBElement:
    return from_shape(shapely.Point(lon, lat), srid=SRID)


def _number(value: int | Decimal | None) -> float:
    return math.nan if value is None else float(value)


def stored_layer(session: Session, layer: WardLayer) -> GisWardLayer:
    """A stored ward layer as ``gis.layer.WardLayer`` (``WARD_COLUMNS``, EPSG:4326, file order)."""
    rows = session.execute(
        select(Ward, Zone.name)
        .outerjoin(Zone, Ward.zone_id == Zone.id)
        .where(Ward.layer_id == layer.id)
        .order_by(Ward.id)
    ).all()
    records = [
        {
            "ward_id": ward.ward_id,
            "ward_name": ward.name,
            "zone": zone,
            "population": _number(ward.population),
            "households": _number(ward.households),
            "poor_households": _number(ward.poor_households),
            "geometry": to_shape(ward.geom),
        }
        for ward, zone in rows
    ]
    frame = gpd.GeoDataFrame(records, columns=list(WARD_COLUMNS), geometry="geometry")
    frame = frame.set_crs(STORAGE_CRS)
    return GisWardLayer(
        wards=frame,
        sources=[SourceFile(layer.source_filename, layer.sha256)],
        source_crs=layer.source_crs,
        warnings=[str(w) for w in layer.validation_report.get("warnings", [])],
        poverty_sources={
            str(k): str(v) for k, v in layer.validation_report.get("poverty_sources", {}).items()
        },
        parents={
            str(k): (str(v[0]), int(v[1]), int(v[2]))
            for k, v in layer.validation_report.get("split_wards", {}).items()
        },
        unnumbered=dict(layer.validation_report.get("unnumbered", {})),
    )


def ward_pks(session: Session, layer: WardLayer) -> dict[str, int]:
    """``{ward_id: ward.id}`` of a stored layer."""
    rows = session.execute(select(Ward.ward_id, Ward.id).where(Ward.layer_id == layer.id)).all()
    return {ward_id: pk for ward_id, pk in rows}


def gis_organisers(rows: Sequence[Organiser]) -> list[GisOrganiser]:
    """Stored organisers as ``gis.organisers.Organiser`` (home as lon/lat)."""
    out = []
    for row in rows:
        if row.home is None:
            raise ValueError(f"organiser {row.organiser_id!r} has no stored home point")
        home = to_shape(row.home)
        out.append(GisOrganiser(row.organiser_id, row.name, home.x, home.y, row.home_ward))
    return out
