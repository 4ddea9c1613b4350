"""The HTTP API's models for a plan's life: hand edits, re-plans, versions and approval acts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import PlanOut

WARD_OR_CO = Field(min_length=1, max_length=100)
NOTE = Field(default=None, min_length=1, max_length=500, description="why, in your words")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Move(_In):
    ward_id: str = WARD_OR_CO
    organiser_id: str = Field(min_length=1, max_length=100, description="the CO who gets it")


class EditIn(_In):
    """Wards to give to other COs. ``save``: store the edit as a new plan version (else only
    checked); ``draft``: store it even if it breaks a rule (it can never be approved)."""

    moves: list[Move] = Field(min_length=1, max_length=500)
    save: bool = False
    draft: bool = False
    note: str | None = NOTE


class FiguresOut(_Out):
    wards: int
    poor_households: float
    deviation_from_mean_pct: float
    mean_km_from_home: float


class DeltaOut(_Out):
    organiser_id: str
    before: FiguresOut
    after: FiguresOut
    text: str


class EditCheckOut(_Out):
    """The edit's check: ``valid`` when nothing breaks; ``breaks`` says what does, naming the
    wards; the deltas of every CO it touches; its distance against the parent's best bound."""

    plan_id: int = Field(description="the plan edited (never changed)")
    valid: bool
    breaks: list[str]
    deltas: list[DeltaOut]
    objective: float = Field(description="poor households × km from home, after the edit")
    parent_objective: float
    parent_bound: float | None
    above_parent_bound_pct: float | None = Field(
        description="how far above the best bound known for the parent (an edit is not optimal)"
    )
    saved: PlanOut | None = Field(description="the new version, when saved")
    version: int | None = Field(description="its version number in the city")


class ReplanIn(_In):
    """A re-plan of this plan on the city's current layer and active COs (change the roster
    first: retire a CO who left, add new ones, move a home), with the fewest poor households
    moved. ``pins``: wards that must stay with (or go to) a CO."""

    pins: dict[str, str] = Field(default_factory=dict, max_length=500)
    time_limit: float | None = Field(
        default=None, gt=0, description="seconds for the re-plan and the fresh plan together"
    )
    tolerance: float | None = Field(
        default=None, gt=0, le=1, description="balance tolerance; default: the parent's"
    )
    compare_fresh: bool = Field(
        default=True, description="also solve a fresh plan, to show what stability costs"
    )
    max_moves: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="at most this many wards leave their current CO (those of a CO who left "
        "do not count); a cap too tight is refused, naming the smallest that works",
    )
    note: str | None = NOTE


class WithdrawIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class ApprovalActOut(_Out):
    action: Literal["approve", "withdraw", "supersede"]
    at: datetime
    actor: str
    reason: str | None
    superseded_by: int | None


class VersionOut(_Out):
    """One plan in its city's history."""

    plan_id: int
    version: int
    reason: Literal["new", "edit", "replan"] = Field(
        description="new: solved; edit: edited by hand from the parent; replan: re-planned"
    )
    parent_plan_id: int | None
    parent_version: int | None
    lineage: str = Field(description="e.g. 'edited from version 3'")
    note: str | None
    details: dict[str, Any]
    status: str
    summary: str
    valid: bool = Field(description="passed its check (only a valid plan can be approved)")
    layer_version: int | None
    created_at: datetime
    created_by: str
    approved: bool
    approved_at: datetime | None
    approved_by: str | None
    approval_history: list[ApprovalActOut]


class WardDiff(_Out):
    ward_id: str
    organiser_a: str | None
    organiser_b: str | None
    poor_households: float | None


class OrganiserDiff(_Out):
    organiser_id: str
    poor_households_a: float | None
    poor_households_b: float | None
    wards_a: int | None
    wards_b: int | None


class VersionDiffOut(_Out):
    """What changes between two plans of a city: wards that change CO (matched by ward id), the
    poor households they carry, and each CO's load on both sides."""

    plan_a: int
    plan_b: int
    version_a: int
    version_b: int
    changed: list[WardDiff]
    unchanged: int
    households_moved: float
    organisers: list[OrganiserDiff]


class MapEditOut(EditCheckOut):
    """An edit checked (or saved) from the map page's edit mode; ``map_url``: the saved
    version's page in edit mode (a signed link like the one the page was opened with)."""

    map_url: str | None = Field(default=None, description="the saved version's edit-mode map")
