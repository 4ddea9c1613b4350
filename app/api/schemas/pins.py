"""The HTTP API's models for a city's pinned wards (issue 13: "ward 57 stays with CO-04")."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class PinIn(BaseModel):
    """A pin: the ward's code (as in the city's layers) and the CO's code (as on the roster)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"ward_id": "57", "organiser_id": "CO-04", "reason": "works there"}]
        },
    )

    ward_id: str = Field(min_length=1, max_length=100)
    organiser_id: str = Field(min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=500)


class PinList(BaseModel):
    """The city's pins, replacing those stored (an empty list removes every pin)."""

    model_config = ConfigDict(extra="forbid")

    pins: list[PinIn] = Field(max_length=5000)


class PinOut(BaseModel):
    ward_id: str
    organiser_id: str
    reason: str | None
    set_by: str
    set_at: datetime


class PinsOut(BaseModel):
    city: str
    pins: list[PinOut]
