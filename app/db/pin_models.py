"""The city's pinned wards: "ward 57 stays with CO-04" (``app.services.pins``), kept by every fresh
plan and every re-plan of the city.

A pin names the ward and the CO by their codes (not row ids), so it carries over layer versions
when the ward ids do, and over roster re-imports. Imported by :mod:`app.db.models` (which
re-exports it), so one metadata holds every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, _non_blank, _pk


class WardPin(Base):
    """One pinned ward of a city: the CO it stays with, why, who set it and when."""

    __tablename__ = "ward_pin"
    __table_args__ = (
        UniqueConstraint("city_id", "ward_id"),
        _non_blank("ward_id"),
        _non_blank("organiser_id"),
    )

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    ward_id: Mapped[str] = mapped_column(comment="the ward's code in the city's layers")
    organiser_id: Mapped[str] = mapped_column(comment="the CO's code on the city's roster")
    reason: Mapped[str | None]
    set_by: Mapped[str] = mapped_column(comment="the key (or CLI user) that set the pin")
    set_at: Mapped[datetime] = mapped_column(server_default=func.now())
