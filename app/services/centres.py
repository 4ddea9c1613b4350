"""Community centres: a city's contact points (the letter: a centre inside a CO's area can serve
as its contact point). Imported as a CSV ``name,lat,lon`` that replaces the city's list, all or
nothing; each centre must lie in the city's current ward layer."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import City, CommunityCentre, WardLayer
from app.services import audit
from app.services.cities import get_city, require_current_layer
from app.services.frames import point, stored_layer
from app.services.layers import Upload, safe_name
from gis.errors import InputError, Issue
from gis.layer import STORAGE_CRS, FileBytes
from gis.sheets import read_centres


def replace_centres(
    session: Session, city_code: str, upload: Upload, *, actor: str
) -> gpd.GeoDataFrame:
    """Make the CSV the city's list of community centres; returns them with their ward."""
    city = get_city(session, city_code, lock=True)
    wards = stored_layer(session, session.get_one(WardLayer, require_current_layer(city))).wards
    label = safe_name(upload.filename, "community_centres.csv")
    found = read_centres(FileBytes(label, upload.data))
    located = _with_wards(found, wards)
    outside = [
        Issue(
            "outside-city",
            f"line {line}: {row.name!r} lies in none of {city.code}'s wards",
            label,
            field="lat/lon",
            value=f"{row.geometry.y},{row.geometry.x}",
        )
        for line, row in enumerate(located.itertuples(), start=2)
        if not isinstance(row.ward_id, str)
    ]
    if outside:
        raise InputError(f"{label}: {len(outside)} centre(s) outside the city", outside)
    session.execute(delete(CommunityCentre).where(CommunityCentre.city_id == city.id))
    session.add_all(
        CommunityCentre(
            city_id=city.id,
            name=str(row.name),
            geom=point(row.geometry.x, row.geometry.y),
            created_by=actor,
        )
        for row in located.itertuples()
    )
    audit.record(session, actor, "centres.import", "city", city.id, count=len(located))
    session.flush()
    return located


def city_centres(session: Session, city: City) -> gpd.GeoDataFrame:
    """The city's community centres (name, point), in the order they were imported."""
    rows = session.scalars(
        select(CommunityCentre)
        .where(CommunityCentre.city_id == city.id)
        .order_by(CommunityCentre.id)
    ).all()
    return gpd.GeoDataFrame(
        [{"name": r.name, "geometry": to_shape(r.geom)} for r in rows],
        columns=["name", "geometry"],
        geometry="geometry",
        crs=STORAGE_CRS,
    )


def list_centres(session: Session, city_code: str) -> gpd.GeoDataFrame:
    city = get_city(session, city_code)
    centres = city_centres(session, city)
    if city.current_layer_id is None:
        return centres.assign(ward_id=None)
    wards = stored_layer(session, session.get_one(WardLayer, city.current_layer_id)).wards
    return _with_wards(centres, wards)


def _with_wards(centres: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``centres`` with the id of the ward each lies in (None: in none)."""
    wards = wards.to_crs(STORAGE_CRS)
    tree = shapely.STRtree(wards.geometry.values)
    ids = []
    for geom in centres.to_crs(STORAGE_CRS).geometry:
        hits = [i for i in tree.query(geom, predicate="intersects")]
        ids.append(str(wards["ward_id"].iloc[int(hits[0])]) if hits else None)
    return centres.assign(ward_id=pd.Series(ids, index=centres.index, dtype=object))
