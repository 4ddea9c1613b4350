"""The ward-wise work allocation order of a stored plan (PDF and XLSX, ``gis.allocation_order``):
each CO's wards with their names, poor households, contact point (the first community centre in
the CO's area, as on the CO sheets) and home ward, with the plan's version and approval."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Organiser, PlanAssignment
from app.services import centres, plan_versions, staff
from app.services.plans import approval_mark, city_title, get_plan
from app.services.sheets import plan_frames
from gis import allocation_order
from gis.co_sheets import contact_points
from gis.portfolios import default_portfolios
from gis.staff import people, portfolios


@dataclass(frozen=True)
class Order:
    info: allocation_order.OrderInfo
    rows: list[allocation_order.OrderRow]
    areas: gpd.GeoDataFrame


def _name(en: object, hi: object) -> str | None:
    parts = [str(x) for x in (en, hi) if isinstance(x, str) and x.strip()]
    return " / ".join(dict.fromkeys(parts)) or None


def _home_wards(
    session: Session, plan_id: int, wards: gpd.GeoDataFrame, areas: gpd.GeoDataFrame
) -> dict[str, str | None]:
    stored = dict(
        session.execute(
            select(Organiser.organiser_id, Organiser.home_ward).where(
                Organiser.id.in_(
                    select(PlanAssignment.organiser_pk).where(PlanAssignment.plan_id == plan_id)
                )
            )
        ).all()
    )
    out: dict[str, str | None] = {}
    for oid, lon, lat in zip(
        areas["organiser_id"], areas["home_lon"], areas["home_lat"], strict=True
    ):
        if stored.get(oid):
            out[str(oid)] = str(stored[oid])
            continue
        point = shapely.Point(float(lon), float(lat))
        inside = wards[wards.geometry.covers(point)]
        out[str(oid)] = None if inside.empty else str(inside["ward_id"].iloc[0])
    return out


def _co_contacts(session: Session, plan_id: int) -> dict[str, str | None]:
    """The stored phone and e-mail of each CO of plan ``plan_id`` (as the roster holds them now)."""
    rows = session.execute(
        select(Organiser.organiser_id, Organiser.phone, Organiser.email).where(
            Organiser.id.in_(
                select(PlanAssignment.organiser_pk).where(PlanAssignment.plan_id == plan_id)
            )
        )
    ).all()
    return {oid: ", ".join(c for c in (phone, email) if c) or None for oid, phone, email in rows}


def order(session: Session, city_code: str, plan_id: int) -> Order:
    """The order's heading and rows for plan ``plan_id`` of the city (404 for another city's)."""
    stored = get_plan(session, city_code, plan_id)
    wards, areas = plan_frames(session, stored)
    hindi = wards["ward_name_hi"] if "ward_name_hi" in wards else pd.Series([None] * len(wards))
    names = {
        str(w): _name(en, hi)
        for w, en, hi in zip(wards["ward_id"], wards["ward_name"], hindi, strict=True)
    }
    contacts = contact_points(areas, centres.city_centres(session, stored.city))
    entry = plan_versions.lineage(session, stored.city, plan_id)[0]
    how = plan_versions.lineage_text(entry)
    cmms = staff.active_cmms(session, stored.city.id)
    info = allocation_order.OrderInfo(
        city=city_title(stored.city),
        plan=f"plan {plan_id}, version {entry.version.version} ({how}), "
        f"ward layer {stored.layer.version}",
        approval=approval_mark(stored.plan),
        approved=stored.plan.approved_at is not None,
        portfolios=tuple(
            portfolios(cmms) if cmms else default_portfolios(stored.city.cmms_in_post or 0)
        ),
        cmms=tuple(people(cmms)),
    )
    rows = allocation_order.order_rows(
        wards,
        names,
        contacts,
        _home_wards(session, plan_id, wards, areas),
        {str(o): str(n) for o, n in zip(areas["organiser_id"], areas["name"], strict=True)},
        _co_contacts(session, plan_id),
    )
    return Order(info, rows, areas)


def order_pdf(session: Session, city_code: str, plan_id: int) -> bytes:
    found = order(session, city_code, plan_id)
    return allocation_order.allocation_order_pdf(found.info, found.rows, found.areas)


def order_xlsx(session: Session, city_code: str, plan_id: int) -> bytes:
    found = order(session, city_code, plan_id)
    return allocation_order.allocation_order_xlsx(found.info, found.rows)
