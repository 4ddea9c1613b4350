"""The HTTP API's request and response models (pydantic). ORM tables live in ``app.db.models``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.core.codes import CITY_CODE_PATTERN as CITY_CODE_PATTERN  # the one definition, re-exported
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE, DEFAULT_RATE


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors ------------------------------------------------------------------------------------------


class ProblemIssue(_Out):
    code: str | None
    message: str | None
    file: str | None = None
    feature: int | None = None
    ward_id: str | None = None
    field: str | None = None
    value: str | None = None


class ProblemDetails(_Out):
    """RFC 9457 problem details, as ``application/problem+json``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/duplicate-id",
                    "title": "Lucknow_ward_boundary-SHP.zip: 2 problems",
                    "status": 422,
                    "detail": "ward id '0' appears in features 109 and 110",
                    "errors": [
                        {
                            "code": "duplicate-id",
                            "message": "ward id '0' appears 2 times",
                            "file": "Lucknow_ward_boundary-SHP.zip",
                            "feature": 110,
                            "ward_id": "0",
                            "field": "Ward_No",
                            "value": "Airport",
                        }
                    ],
                }
            ]
        },
    )

    type: str
    title: str | None
    status: int
    detail: str | None
    errors: list[ProblemIssue] = Field(default_factory=list)
    errors_omitted: int | None = None
    instance: str | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetails, "content": {"application/problem+json": {}}}
    for status in (400, 401, 403, 404, 408, 409, 413, 422, 429, 503)
}


# -- health ----------------------------------------------------------------------------------------


class Health(_Out):
    status: Literal["ok"]
    database: Literal["ok"]
    postgis_version: str
    upload_sandbox: dict[str, str] = Field(
        default_factory=dict,
        description="how uploads are confined in their parse child: 'files' (Landlock ABI, or "
        "why not) and 'network' (own namespace, or GDAL's settings only and why), as the last "
        "parse of this process had them (before the first: what the kernel offers)",
    )


# -- layers ----------------------------------------------------------------------------------------


class LayerOut(_Out):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "city": "lucknow",
                    "version": 1,
                    "ward_count": 110,
                    "source_filename": "Lucknow_ward_boundary-SHP.zip",
                    "sha256": "0" * 64,
                    "source_crs": "EPSG:4326",
                    "current": True,
                    "uploaded_by": "api",
                    "created_at": "2026-11-25T14:00:00Z",
                    "field_mapping": {},
                    "warnings": ["excluded 2 feature(s) with ward id 0: Airport, Cantonment"],
                    "source": "Lucknow Municipal Corporation GIS cell",
                    "licence": "CC BY 4.0",
                }
            ]
        },
    )

    city: str
    version: int
    ward_count: int
    source_filename: str
    sha256: str
    source_crs: str
    current: bool
    uploaded_by: str
    created_at: datetime
    field_mapping: dict[str, Any]
    warnings: list[str]
    source: str | None = Field(None, description="the data's source, as the uploader stated it")
    licence: str | None = Field(None, description="the data's licence, as the uploader stated it")
    identical: bool = Field(
        default=False,
        description="the upload was identical to this current version: nothing new was stored",
    )


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946, WGS 84); paged lists add ``numberMatched``."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]
    numberMatched: int | None = None
    numberReturned: int | None = None


# -- organisers ------------------------------------------------------------------------------------


class HomePoint(_Out):
    """A CO's exact home (WGS 84): personal data, only for keys whose role needs it."""

    lat: float
    lon: float


class OrganiserOut(_Out):
    """A CO. ``home`` (the exact point) is given only to GIS cell, CMMU and admin keys; other
    callers get ``home`` null and only the ward the home lies in (``home_precision`` says which)."""

    organiser_id: str
    name: str
    home_ward: str | None
    home: HomePoint | None = None
    home_precision: Literal["exact", "ward"] = "ward"
    phone: str | None = None
    email: str | None = None
    active: bool


class OrganiserImport(_Out):
    city: str
    imported: int
    retired: int
    active: int
    warnings: list[str]
    organisers: list[OrganiserOut]


# -- requirement -----------------------------------------------------------------------------------


class RequirementOut(_Out):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "city": "lucknow",
                    "layer_version": 1,
                    "population": 2815601,
                    "poverty_rate": 0.275,
                    "household_size": 4.66,
                    "households_per_organiser": 3000,
                    "poor_households": 150000.0,
                    "poor_households_at_25pct": 136000.0,
                    "poor_households_at_30pct": 163000.0,
                    "organisers_required": 50,
                    "organisers_required_at_25pct": 46,
                    "organisers_required_at_30pct": 55,
                    "organisers_in_post": 20,
                    "shortfall": 30,
                    "bases": {"households × rate": 110},
                    "warnings": [],
                }
            ]
        },
    )

    city: str
    layer_version: int
    population: float
    poverty_rate: float
    household_size: float
    households_per_organiser: int
    poor_households: float
    poor_households_at_25pct: float
    poor_households_at_30pct: float
    organisers_required: int
    organisers_required_at_25pct: int
    organisers_required_at_30pct: int
    organisers_in_post: int
    shortfall: int | None
    bases: dict[str, int]
    warnings: list[str]


# -- plans -----------------------------------------------------------------------------------------


class PlanParameters(BaseModel):
    """How to divide the wards. ``tolerance``: ±share of the mean load, ``"auto"`` (the tightest
    balance a contiguous plan reaches) or ``"balanced"`` (the frontier's point where loosening
    further saves under 2 % of distance). ``frontier``: also compute the balance–distance frontier
    (tightest, ±5/10/15 %) within the time limit."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tolerance": 0.1,
                    "respect_zones": False,
                    "time_limit": 60,
                    "solver": "highs",
                    "snap_metres": 5,
                    "poverty_rate": 0.275,
                    "household_size": 4.66,
                }
            ]
        },
    )

    tolerance: float | Literal["auto", "balanced"] = Field(default=0.1)
    frontier: bool = False
    respect_zones: bool = False
    time_limit: float | None = Field(
        default=None, gt=0, description="seconds; default and maximum from the server settings"
    )
    solver: Literal["highs", "cbc"] | None = None
    method: Literal[
        "auto",
        "set_partitioning",
        "cut_loop",
        "branch_and_cut",
        "relaxed_search",
        "column_generation",
    ] = Field(
        default="auto",
        description="solution method; auto chooses per problem (set_partitioning and "
        "column_generation need highs)",
    )
    snap_metres: float = Field(default=5.0, ge=0, le=1000)
    poverty_rate: float = Field(default=DEFAULT_RATE, gt=0, le=1)
    household_size: float = Field(default=DEFAULT_HOUSEHOLD_SIZE, ge=1, le=20)
    gap: float = Field(default=1e-3, ge=0, lt=1)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: float | str) -> float | str:
        if isinstance(value, float | int) and not 0 <= value < 10:
            raise ValueError("tolerance must be a fraction ≥ 0 (0.1 = ±10 %) or 'auto'")
        return value


class CheckOut(_Out):
    passed: bool
    violations: list[str]


class AreaSummary(_Out):
    organiser_id: str
    name: str | None
    wards: int
    load: float
    deviation_from_mean_pct: float


class PlanOut(_Out):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "city": "lucknow",
                    "layer_version": 1,
                    "status": "optimal",
                    "summary": "optimal (objective 1,234.5, bound 1,234.0)",
                    "explanation": "",
                    "objective": 1234.5,
                    "bound": 1234.0,
                    "gap": 0.0004,
                    "tolerance_used": 0.1,
                    "seconds": 12.3,
                    "solver": "highs",
                    "solver_version": "1.16.0",
                    "parameters": {"tolerance": 0.1},
                    "check": {"passed": True, "violations": []},
                    "warnings": [],
                    "areas": [],
                    "created_at": "2026-11-25T14:00:00Z",
                    "created_by": "api",
                    "approved_at": None,
                    "approved_by": None,
                }
            ]
        },
    )

    id: int
    city: str
    layer_version: int
    status: Literal["optimal", "feasible", "infeasible", "no_solution"]
    summary: str
    explanation: str
    objective: float | None
    bound: float | None
    gap: float | None
    tolerance_used: float | None
    seconds: float
    solver: str
    solver_version: str
    parameters: dict[str, Any]
    check: CheckOut
    warnings: list[str]
    areas: list[AreaSummary]
    created_at: datetime
    created_by: str
    approved_at: datetime | None = None
    approved_by: str | None = None
    #: Seconds per phase of the answer (reading, adjacency, model, solve, check, storing, total).
    phases: dict[str, float] | None = None
    #: The balance–distance frontier's table, when one was computed (see ``solver.frontier``).
    frontier: dict[str, Any] | None = None
    #: The solve method asked for and the one used: ``{"asked": "auto", "used": "cut_loop"}``.
    method: dict[str, str] | None = None


class JobProgress(_Out):
    """The latest report of a running solve (empty before the first)."""

    elapsed_s: float | None = None
    incumbent: float | None = Field(default=None, description="best plan's objective so far")
    bound: float | None = Field(default=None, description="proven lower bound on the objective")
    gap: float | None = Field(default=None, description="(incumbent − bound) / incumbent")
    phase: str | None = None
    message: str | None = None


class JobOut(_Out):
    """A plan request and how far it has got. Poll ``url`` until ``status`` is final."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "kind": "plan",
                    "city": "lucknow",
                    "status": "running",
                    "queue_position": None,
                    "attempts": 1,
                    "progress": {
                        "elapsed_s": 12.0,
                        "incumbent": 334114.0,
                        "bound": 321051.0,
                        "gap": 0.039,
                        "phase": "exact",
                        "message": "",
                    },
                    "cancel_requested": False,
                    "error": None,
                    "plan_id": None,
                    "plan_url": None,
                    "result": None,
                    "url": "/cities/lucknow/jobs/7",
                    "request": {"tolerance": "auto", "time_limit": 60},
                    "time_limit": 60.0,
                    "solver": "highs",
                    "created_at": "2026-11-25T16:00:00Z",
                    "created_by": "api",
                    "started_at": "2026-11-25T16:00:01Z",
                    "finished_at": None,
                }
            ]
        },
    )

    id: int
    kind: Literal["plan", "allocate", "camps", "replan"] = Field(
        description="plan: a stored city's plan; replan: a re-plan of a stored plan; "
        "allocate: a stateless allocation; "
        "camps: a registration-camp plan (/cities/{city}/camp-jobs/{id})"
    )
    city: str | None
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    queue_position: int | None = Field(description="1 = next to run; only while queued")
    attempts: int = Field(description="times a worker started it (more than 1 after a crash)")
    progress: JobProgress
    cancel_requested: bool
    error: str | None
    plan_id: int | None
    plan_url: str | None
    result: AllocateOut | None = Field(
        default=None, description="a stateless allocation's answer, once it succeeded"
    )
    url: str
    request: dict[str, Any]
    time_limit: float
    solver: str
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None


class CentreOut(_Out):
    """A community centre (a public place, not personal data) and the ward it lies in."""

    name: str
    lat: float
    lon: float
    ward_id: str | None


class MapLinkOut(_Out):
    """A link to a plan's map page that a browser opens without a key, until ``expires_at``."""

    url: str = Field(description="path of the map page, with its expiry and signature")
    expires_at: datetime
    exact_homes: bool = Field(description="False: CO homes rounded to 0.01° (about 1 km)")


class StateLinkOut(_Out):
    """A link to a state's dashboard that a browser opens without a key, until ``expires_at``."""

    url: str = Field(description="path of the dashboard page, with its expiry and signature")
    expires_at: datetime


class WardChange(_Out):
    ward_id: str
    organiser_a: str | None
    organiser_b: str | None


class PlanComparisonOut(_Out):
    """Wards that change organiser between plan ``a`` and plan ``b`` (matched by ward id)."""

    city: str
    plan_a: int
    plan_b: int
    changed: list[WardChange]
    unchanged: int


# -- stateless allocation --------------------------------------------------------------------------


class OrganiserIn(BaseModel):
    """A CO: ``lat`` + ``lon`` (WGS 84) or ``home_ward``."""

    model_config = ConfigDict(extra="forbid")

    organiser_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    lat: float | None = None
    lon: float | None = None
    home_ward: str | None = Field(default=None, max_length=100)


class OrganiserBody(BaseModel):
    """A CO's name and home (``lat`` + ``lon``, WGS 84) or home ward; the id is in the path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Sunita Verma", "lat": 26.85, "lon": 80.95}]},
    )

    name: str = Field(min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    home_ward: str | None = Field(default=None, max_length=100)


class AllocateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "wards": {
                        "type": "FeatureCollection",
                        "features": [
                            {
                                "type": "Feature",
                                "properties": {"ward_id": "1", "population": 24686},
                                "geometry": {
                                    "type": "Polygon",
                                    "coordinates": [
                                        [[76.7, 30.7], [76.71, 30.7], [76.71, 30.71], [76.7, 30.7]]
                                    ],
                                },
                            }
                        ],
                    },
                    "organisers": [{"organiser_id": "CO-1", "name": "CO 1", "home_ward": "1"}],
                    "parameters": {"tolerance": "auto", "time_limit": 20},
                }
            ]
        },
    )

    wards: FeatureCollection
    organisers: list[OrganiserIn] = Field(min_length=1, max_length=1000)
    parameters: PlanParameters = Field(default_factory=PlanParameters)


class AllocateOut(_Out):
    status: Literal["optimal", "feasible", "infeasible", "no_solution"]
    summary: str
    explanation: str
    objective: float | None
    bound: float | None
    gap: float | None
    tolerance_used: float | None
    seconds: float
    solver: str
    check: CheckOut
    warnings: list[str]
    assignment: dict[str, str]
    areas: FeatureCollection | None
    phases: dict[str, float] | None = None
    frontier: dict[str, Any] | None = None
    #: The solve method asked for and the one used: ``{"asked": "auto", "used": "cut_loop"}``.
    method: dict[str, str] | None = None
