"""OGC API – Features: which collections the stored data offers, their extents, and their features.

Collections (ids are stable and readable in QGIS's layer list):

- ``<city>-wards``: the wards of the city's current layer version;
- ``<city>-plan-areas`` and ``<city>-plan-wards``: the CO areas and the ward assignment of the
  city's approved plan (no such collections while no plan is approved).

City codes may contain ``-``, so an id is read by its suffix, the plan suffixes first. The queries
are built once per collection as a subquery with the columns ``fid`` (the feature id: the ward's or
the CO's own id), ``geom``, ``ord`` (paging order) and the published properties; counting, the
extent (``ST_Extent``), ``bbox`` filtering and paging all run in PostGIS on that subquery.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from sqlalchemy import Numeric, Select, Subquery, cast, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.db.models import (
    SRID,
    City,
    Organiser,
    Plan,
    PlanArea,
    PlanAssignment,
    Ward,
    WardLayer,
    Zone,
)

Kind = Literal["wards", "plan-areas", "plan-wards"]

#: Suffix of a collection id → its kind, in the order ids are matched.
SUFFIXES: Final[tuple[tuple[str, Kind], ...]] = (
    ("-plan-areas", "plan-areas"),
    ("-plan-wards", "plan-wards"),
    ("-wards", "wards"),
)

#: Decimal places of the coordinates served (7 ≈ 1 cm).
PRECISION: Final = 7

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Collection:
    id: str
    kind: Kind
    city_code: str
    city_name: str
    layer_id: int
    layer_version: int
    plan_id: int | None = None

    @property
    def title(self) -> str:
        if self.kind == "wards":
            return f"{self.city_name}: wards (layer version {self.layer_version})"
        what = "CO areas" if self.kind == "plan-areas" else "wards and their CO"
        return f"{self.city_name}: {what} of the approved plan {self.plan_id}"

    @property
    def description(self) -> str:
        if self.kind == "wards":
            return (
                f"The wards of {self.city_name}'s current ward layer (version "
                f"{self.layer_version}) with their population and households."
            )
        if self.kind == "plan-areas":
            return (
                f"One area per Community Organiser in {self.city_name}'s approved plan "
                f"{self.plan_id}: the CO, the wards served and the poor households served (load)."
            )
        return (
            f"Every ward of {self.city_name}'s approved plan {self.plan_id} with the CO "
            "(organiser_id) who serves it."
        )


@dataclass(frozen=True)
class Page:
    features: list[dict[str, Any]]
    matched: int


def list_collections(session: Session) -> list[Collection]:
    """Every published collection: each city's wards, then its approved plan's, by city code."""
    out: list[Collection] = []
    current = session.execute(
        select(City, WardLayer)
        .join(WardLayer, City.current_layer_id == WardLayer.id)
        .order_by(City.code)
    ).all()
    approved = {c.city_code: c for c in _approved(session)}
    for city, layer in current:
        out.append(
            Collection(f"{city.code}-wards", "wards", city.code, city.name, layer.id, layer.version)
        )
        plan = approved.get(city.code)
        if plan is not None:
            out += [plan, _replace_kind(plan, "plan-wards")]
    return out


def _approved(session: Session, city_code: str | None = None) -> list[Collection]:
    """The approved plan of each city (the latest approval, should a city ever have two)."""
    query = (
        select(Plan.id, City.code, City.name, WardLayer.id, WardLayer.version)
        .join(City, Plan.city_id == City.id)
        .join(WardLayer, Plan.layer_id == WardLayer.id)
        .where(Plan.approved_at.is_not(None))
        .order_by(City.code, Plan.approved_at.desc(), Plan.id.desc())
        .ext(distinct_on(City.code))
    )
    if city_code is not None:
        query = query.where(City.code == city_code)
    return [
        Collection(f"{code}-plan-areas", "plan-areas", code, name, layer_id, version, plan_id)
        for plan_id, code, name, layer_id, version in session.execute(query).all()
    ]


def _replace_kind(plan: Collection, kind: Kind) -> Collection:
    suffix = dict((k, s) for s, k in SUFFIXES)[kind]
    return Collection(
        f"{plan.city_code}{suffix}",
        kind,
        plan.city_code,
        plan.city_name,
        plan.layer_id,
        plan.layer_version,
        plan.plan_id,
    )


def get_collection(session: Session, collection_id: str) -> Collection:
    """The collection named ``collection_id``; ``NotFound`` when there is none."""
    for suffix, kind in SUFFIXES:
        if collection_id.endswith(suffix) and len(collection_id) > len(suffix):
            code = collection_id[: -len(suffix)]
            found = _find(session, code, kind)
            if found is not None:
                return found
            break
    raise NotFound(
        "collection not found",
        f"there is no collection {collection_id!r}; GET /ogc/collections lists them "
        "(CITY-wards, and CITY-plan-areas / CITY-plan-wards once a plan is approved)",
    )


def _find(session: Session, code: str, kind: Kind) -> Collection | None:
    if kind == "wards":
        row = session.execute(
            select(City, WardLayer)
            .join(WardLayer, City.current_layer_id == WardLayer.id)
            .where(City.code == code)
        ).one_or_none()
        if row is None:
            return None
        city, layer = row
        return Collection(f"{code}-wards", "wards", code, city.name, layer.id, layer.version)
    plans = _approved(session, code)
    return _replace_kind(plans[0], kind) if plans else None


def _source(collection: Collection) -> Subquery:
    """The collection's rows: ``fid``, ``geom``, ``ord`` and the properties, as a subquery."""
    if collection.kind == "plan-areas":
        assert collection.plan_id is not None
        ward_count = (
            select(func.count())
            .where(
                PlanAssignment.plan_id == PlanArea.plan_id,
                PlanAssignment.organiser_pk == PlanArea.organiser_pk,
            )
            .scalar_subquery()
        )
        areas = (
            select(
                Organiser.organiser_id.label("fid"),
                PlanArea.geom.label("geom"),
                Organiser.organiser_id.label("ord"),
                Organiser.organiser_id,
                Organiser.name,
                ward_count.label("wards"),
                func.round(cast(PlanArea.load, Numeric), 1).label("load"),
                func.round(cast(100 * PlanArea.deviation, Numeric), 2).label(
                    "deviation_from_mean_pct"
                ),
            )
            .join(Organiser, PlanArea.organiser_pk == Organiser.id)
            .where(PlanArea.plan_id == collection.plan_id)
        )
        return areas.subquery()
    wards = (
        select(
            Ward.ward_id.label("fid"),
            Ward.geom.label("geom"),
            Ward.id.label("ord"),
            Ward.ward_id,
            Ward.name.label("ward_name"),
            Zone.name.label("zone"),
            Ward.population,
            Ward.households,
            Ward.poor_households,
        )
        .outerjoin(Zone, Ward.zone_id == Zone.id)
        .where(Ward.layer_id == collection.layer_id)
    )
    if collection.kind == "plan-wards":
        assigned = (
            wards.add_columns(Organiser.organiser_id, Organiser.name.label("organiser_name"))
            .join(PlanAssignment, PlanAssignment.ward_pk == Ward.id)
            .join(Organiser, PlanAssignment.organiser_pk == Organiser.id)
            .where(PlanAssignment.plan_id == collection.plan_id)
        )
        return assigned.subquery()
    return wards.subquery()


def extent(session: Session, collection: Collection) -> BBox | None:
    """``(minx, miny, maxx, maxy)`` of the collection in WGS 84 degrees; ``None`` if empty."""
    src = _source(collection)
    box = func.ST_Extent(src.c.geom)
    row = session.execute(
        select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
    ).one()
    if row[0] is None:
        return None
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def items(
    session: Session, collection: Collection, *, limit: int, offset: int, bbox: BBox | None = None
) -> Page:
    """One page of features (in file order for wards, by CO id for areas) and how many match."""
    src = _source(collection)
    conditions = []
    if bbox is not None:
        conditions.append(func.ST_Intersects(src.c.geom, func.ST_MakeEnvelope(*bbox, SRID)))
    matched = session.scalar(select(func.count()).select_from(src).where(*conditions)) or 0
    rows = session.execute(
        _features(src).where(*conditions).order_by(src.c.ord).limit(limit).offset(offset)
    ).all()
    return Page([_feature(row._mapping) for row in rows], matched)


def item(session: Session, collection: Collection, feature_id: str) -> dict[str, Any]:
    """One feature by its id (a ward id or a CO id); ``NotFound`` when there is none."""
    src = _source(collection)
    row = session.execute(_features(src).where(src.c.fid == feature_id)).one_or_none()
    if row is None:
        raise NotFound(
            "feature not found", f"collection {collection.id!r} has no feature {feature_id!r}"
        )
    return _feature(row._mapping)


def _features(src: Subquery) -> Select[Any]:
    columns = [c for c in src.c if c.key not in ("geom", "ord")]
    return select(*columns, func.ST_AsGeoJSON(src.c.geom, PRECISION).label("geometry"))


def _feature(row: Any) -> dict[str, Any]:
    properties = {
        key: float(value) if isinstance(value, Decimal) else value
        for key, value in row.items()
        if key not in ("fid", "geometry")
    }
    return {
        "type": "Feature",
        "id": row["fid"],
        "geometry": json.loads(row["geometry"]),
        "properties": properties,
    }
