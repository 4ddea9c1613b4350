"""The city's staff beyond the CO roster: its City Mission Managers (``app.services.staff``).

Imported by :mod:`app.db.models` (which re-exports them), so one metadata holds every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, _non_blank, _pk


class CityMissionManager(Base):
    """A City Mission Manager of a city, with the contact the allocation order prints. Retired, not
    deleted, when a new list leaves them out (like a CO)."""

    __tablename__ = "city_mission_manager"
    __table_args__ = (
        UniqueConstraint("city_id", "cmm_id"),
        _non_blank("cmm_id"),
        _non_blank("name"),
        CheckConstraint("active = (retired_at IS NULL)", name="retired_iff_inactive"),
        CheckConstraint("position >= 0", name="position_non_negative"),
    )

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    cmm_id: Mapped[str] = mapped_column(comment="the city's own identifier for the CMM")
    name: Mapped[str]
    phone: Mapped[str | None]
    email: Mapped[str | None]
    components: Mapped[list[Any] | None] = mapped_column(
        comment="positions (0-6) in the letter's seven components; NULL: the letter's rule"
    )
    position: Mapped[int] = mapped_column(Integer, comment="the order of the list: CMM 1, 2, …")
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    retired_at: Mapped[datetime | None]
