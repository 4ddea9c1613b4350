"""The HTTP API's models for the state level: states, districts, cities, imports, plan batches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.schemas import CITY_CODE_PATTERN, PlanParameters

LGD = Field(default=None, ge=1, lt=2**31, description="Local Government Directory code")
POSTS = Field(default=None, ge=0, lt=100_000)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateIn(_In):
    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]{1,9}$", description="e.g. UP")
    name: str = Field(min_length=1, max_length=200)
    lgd_code: int | None = LGD


class StatePatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    lgd_code: int | None = LGD


class StateOut(_Out):
    code: str
    name: str
    lgd_code: int | None
    districts: int
    cities: int


class DistrictIn(_In):
    name: str = Field(min_length=1, max_length=200)
    code: str | None = Field(default=None, pattern=CITY_CODE_PATTERN)
    lgd_code: int | None = LGD


class DistrictPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    lgd_code: int | None = LGD


class DistrictOut(_Out):
    state: str
    code: str
    name: str
    lgd_code: int | None


class CityIn(_In):
    code: str = Field(pattern=CITY_CODE_PATTERN, description="short city code, e.g. lucknow")
    name: str = Field(min_length=1, max_length=200)
    state: str = Field(min_length=2, max_length=10, description="the state's code")
    district: str = Field(min_length=1, max_length=200, description="district code or name")
    lgd_code: int | None = LGD
    cos_in_post: int | None = POSTS
    cmms_in_post: int | None = POSTS


class CityPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    lgd_code: int | None = LGD
    cos_in_post: int | None = POSTS
    cmms_in_post: int | None = POSTS
    state: str | None = Field(default=None, min_length=2, max_length=10, description="move to")
    district: str | None = Field(default=None, min_length=1, max_length=200, description="move to")


class CityOut(_Out):
    code: str
    name: str
    lgd_code: int | None
    state: str
    state_name: str
    district: str
    district_name: str
    cos_in_post: int | None
    cmms_in_post: int | None
    has_layer: bool


class CityImportOut(_Out):
    """What a manifest row came to: stored (all of it) or refused (nothing of it)."""

    row: int
    city: str
    status: str = Field(description="stored or refused")
    stored: list[str]
    repaired: list[str]
    refused: list[str]


class StateImportOut(_Out):
    state: str
    manifest: str
    cities: list[CityImportOut]
    stored: int
    refused: int


class BatchIn(_In):
    parameters: PlanParameters = Field(default_factory=PlanParameters)
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="city code → parameters replacing the common ones"
    )
    cities: list[str] | None = Field(default=None, description="only these cities (default all)")

    def city_parameters(self) -> dict[str, dict[str, Any] | str]:
        """Each overridden city's parameters (the common ones with its override, as JSON), or
        why they are refused (for ``app.services.batches.BatchRequest.per_city``)."""
        return {code: city_parameters(self.parameters, o) for code, o in self.overrides.items()}


def city_parameters(common: PlanParameters, override: dict[str, Any]) -> dict[str, Any] | str:
    """The common parameters with one city's override (JSON), or why they are refused."""
    try:
        merged = PlanParameters.model_validate({**common.model_dump(), **override})
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return merged.model_dump(mode="json")


class BatchCityOut(_Out):
    city: str
    job_id: int | None
    status: str = Field(description="a job status, or refused when no job was queued")
    error: str | None
    plan_id: int | None
    progress: dict[str, Any]


class BatchOut(_Out):
    id: int
    state: str
    created_at: datetime
    created_by: str
    cancelled_at: datetime | None
    counts: dict[str, int]
    done: bool
    cities: list[BatchCityOut]
