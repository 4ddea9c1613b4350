"""The registration-camp tables (``app.services.camp_jobs``): a camp plan, its camps, its wards.

Imported by :mod:`app.db.models` (which re-exports them), so one metadata holds every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.models import PLAN_STATUSES, SRID, Base, GeometryValue, _created_at, _pk


class CampPlan(Base):
    """A city's registration-camp plan (``app.services.camp_jobs``): contiguous ward clusters, one
    chosen venue and the dates of each camp. Immutable once stored; numbered per city
    (``version``), a re-plan naming the version it replaces (``parent_id``); approvable like a plan.
    """

    __tablename__ = "camp_plan"
    __table_args__ = (
        UniqueConstraint("city_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in PLAN_STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("gap IS NULL OR gap >= 0", name="gap_non_negative"),
        CheckConstraint("seconds >= 0", name="seconds_non_negative"),
        CheckConstraint("(approved_at IS NULL) = (approved_by IS NULL)", name="approval_complete"),
        CheckConstraint("approved_at IS NULL OR verified", name="approved_is_verified"),
    )

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("ward_layer.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("solve_job.id"), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("camp_plan.id"), comment="the version this one re-plans"
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(
        comment="the request as resolved: campaign, registrants, venues, hours, solver"
    )
    status: Mapped[str]
    objective: Mapped[float | None] = mapped_column(Double, comment="registrant-km")
    bound: Mapped[float | None] = mapped_column(Double)
    gap: Mapped[float | None] = mapped_column(Double)
    camps: Mapped[int | None] = mapped_column(Integer)
    camps_bound: Mapped[int | None] = mapped_column(Integer, comment="fewest camps proved")
    count_proved: Mapped[bool]
    verified: Mapped[bool] = mapped_column(comment="contiguity, capacity and calendar re-checked")
    solver_version: Mapped[str]
    seconds: Mapped[float] = mapped_column(Double)
    report: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    warnings: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str]
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None]

    clusters: Mapped[list[CampCluster]] = relationship(
        back_populates="plan", order_by="CampCluster.camp_id"
    )


class CampCluster(Base):
    """One camp of a camp plan: its venue (chosen from the candidates) and its dates."""

    __tablename__ = "camp_cluster"
    __table_args__ = (
        CheckConstraint("registrants >= 0", name="registrants_non_negative"),
        CheckConstraint(
            "jsonb_typeof(dates) = 'array' AND jsonb_array_length(dates) >= 1", name="has_dates"
        ),
    )

    camp_plan_id: Mapped[int] = mapped_column(ForeignKey("camp_plan.id"), primary_key=True)
    camp_id: Mapped[str] = mapped_column(primary_key=True, comment="C01…, by first date")
    venue_id: Mapped[str]
    venue_name: Mapped[str]
    venue_ward_id: Mapped[str] = mapped_column(comment="the ward the venue stands in (or nearest)")
    venue_inside: Mapped[bool]
    venue: Mapped[GeometryValue] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    capacity_per_day: Mapped[float] = mapped_column(Double)
    registrants: Mapped[float] = mapped_column(Double, comment="expected at the camp")
    dates: Mapped[list[Any]] = mapped_column(comment="ISO dates the camp runs")

    plan: Mapped[CampPlan] = relationship(back_populates="clusters")


class CampWard(Base):
    """Which camp each ward of a camp plan goes to (each ward exactly once)."""

    __tablename__ = "camp_ward"
    __table_args__ = (
        ForeignKeyConstraint(
            ["camp_plan_id", "camp_id"], ["camp_cluster.camp_plan_id", "camp_cluster.camp_id"]
        ),
    )

    camp_plan_id: Mapped[int] = mapped_column(ForeignKey("camp_plan.id"), primary_key=True)
    ward_pk: Mapped[int] = mapped_column(ForeignKey("ward.id"), primary_key=True)
    camp_id: Mapped[str]
    registrants: Mapped[float] = mapped_column(Double)
    distance_km: Mapped[float] = mapped_column(Double, comment="ward to its camp's venue")
