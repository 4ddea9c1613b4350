"""The HTTP API's models for registration camps (issue 17): the request's job, the stored plans."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import JobProgress


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CampForm(BaseModel):
    """The form fields of a camp request (multipart, beside the optional venues file)."""

    start: date = Field(description="first day of the campaign, e.g. 2027-04-01")
    end: date = Field(description="last day of the campaign, e.g. 2027-05-15")
    teams: int = Field(default=2, ge=1, le=1000, description="camps that can run on one day")
    per_camp_per_day: float = Field(
        default=300.0, gt=0, le=1e6, description="registrations one camp handles in a day"
    )
    no_camp_weekdays: str = Field(
        default="sun", max_length=100, description="weekdays without camps, e.g. sun or sat,sun"
    )
    holidays: str = Field(
        default="", max_length=4000, description="dates without camps, e.g. 2027-04-14,2027-04-18"
    )
    max_camp_days: int = Field(default=3, ge=1, le=60, description="longest camp, in days")
    camps: int | None = Field(
        default=None, ge=1, le=10_000, description="the number of camps; empty: the fewest"
    )
    registrant_share: float = Field(
        default=0.1, gt=0, le=1, description="expected registrants as a share of the basis"
    )
    registrant_basis: Literal["poor-households", "population"] = Field(
        default="poor-households",
        description="poor-households (the mission's estimate) or population",
    )
    hours: str = Field(
        default="10:00-17:00", max_length=20, description="camp hours, e.g. 10:00-17:00"
    )
    time_limit: float | None = Field(
        default=None, gt=0, description="seconds for the solve; at most the server's"
    )
    replaces: int | None = Field(
        default=None, ge=1, description="the camp plan this request re-plans (its id)"
    )
    registrants_column: str | None = Field(
        default=None,
        max_length=100,
        description="the ward table's registrants column (default: recognised by name)",
    )


class CampJobOut(_Out):
    """A camp request and how far it has got. Poll ``url`` until ``status`` is final; then
    ``camp_plan_url`` is the stored camp plan (``succeeded``) or ``error`` says why not."""

    id: int
    city: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    queue_position: int | None = Field(description="1 = next to run; only while queued")
    attempts: int
    progress: JobProgress
    cancel_requested: bool
    error: str | None
    camp_plan_id: int | None
    camp_plan_url: str | None
    url: str
    cancel_url: str = Field(description="POST here to cancel (the plan jobs' own route)")
    request: dict[str, Any] = Field(
        description="the request as checked: campaign, registrants, venues (as read), hours"
    )
    time_limit: float
    created_at: datetime
    created_by: str
    finished_at: datetime | None


class CampOut(_Out):
    """One camp: the venue chosen, the wards it serves, its expected registrants and dates."""

    camp_id: str
    venue_id: str
    venue_name: str
    lat: float
    lon: float
    venue_ward_id: str
    ward_ids: list[str]
    expected_registrants: float
    capacity_per_day: float
    dates: list[date]


class CampPlanOut(_Out):
    """A stored camp plan (one version of the city's camps) and what its solve proved."""

    id: int
    city: str
    version: int
    parent_id: int | None = Field(description="the camp plan this version re-plans")
    job_id: int
    layer_id: int
    status: Literal["optimal", "feasible", "infeasible", "no_solution"]
    describe: str = Field(description="the status in words, with the gap when not proved")
    objective_registrant_km: float | None
    bound: float | None
    gap: float | None
    camps_count: int | None
    camps_bound: int | None = Field(description="fewest camps proved possible")
    count_proved: bool
    verified: bool = Field(description="contiguity, capacity, window and teams re-checked")
    explanation: str
    seconds: float
    solver_version: str
    parameters: dict[str, Any]
    warnings: list[str]
    created_at: datetime
    created_by: str
    approved_at: datetime | None
    approved_by: str | None
    camps: list[CampOut]
    files: dict[str, str] = Field(description="file name → download URL")
    url: str
