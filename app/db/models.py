"""The database tables (SQLAlchemy 2 ORM + GeoAlchemy2). ORM tables only: API schemas live elsewhere.

state → district → city (ULB) → zone; a city's ward boundaries are stored as immutable **layer versions**
(``ward_layer`` → ``ward``), and ``city.current_layer_id`` names the version in use. Organisers belong to a
city. A ``plan`` is immutable: its inputs, the solver's answer, the assignment and the dissolved areas.
``audit_event`` records who uploaded, planned and approved what.

Geometries are stored in WGS 84 (SRID 4326); measure them in a metric CRS (or as ``geography``).
Column names ending in ``_pk`` hold a row's surrogate key where the plain name is the user's own
identifier (``ward.ward_id`` is the ward number from the file; ``plan_assignment.ward_pk`` is ``ward.id``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final

from geoalchemy2 import Geometry, WKBElement, WKTElement
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The statuses, one spelling each (app.db.statuses), re-exported.
from app.db.statuses import JOB_FINAL as JOB_FINAL
from app.db.statuses import JOB_STATUSES as JOB_STATUSES
from app.db.statuses import PLAN_STATUSES as PLAN_STATUSES
from app.db.statuses import JobStatus as JobStatus

SRID: Final = 4326

#: A geometry value: read back as WKB, written as WKB or WKT (e.g. ``WKTElement(wkt, srid=4326)``).
GeometryValue = WKBElement | WKTElement

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
        datetime: DateTime(timezone=True),
        str: Text,
    }


def _pk() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=True), primary_key=True)


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def _non_blank(column: str) -> CheckConstraint:
    return CheckConstraint(f"btrim({column}) <> ''", name=f"{column}_not_blank")


def _multipolygon(*, index: bool) -> Geometry:
    return Geometry("MULTIPOLYGON", srid=SRID, spatial_index=index)


class State(Base):
    __tablename__ = "state"
    __table_args__ = (_non_blank("code"), _non_blank("name"))

    id: Mapped[int] = _pk()
    code: Mapped[str] = mapped_column(unique=True, comment="e.g. UP")
    name: Mapped[str] = mapped_column(unique=True)
    lgd_code: Mapped[int | None] = mapped_column(
        Integer, unique=True, comment="Local Government Directory state code, when known"
    )

    districts: Mapped[list[District]] = relationship(back_populates="state")


class District(Base):
    __tablename__ = "district"
    __table_args__ = (
        UniqueConstraint("state_id", "name"),
        UniqueConstraint("state_id", "code"),
        _non_blank("name"),
        _non_blank("code"),
    )

    id: Mapped[int] = _pk()
    state_id: Mapped[int] = mapped_column(ForeignKey("state.id"))
    name: Mapped[str]
    code: Mapped[str] = mapped_column(comment="short name within the state, e.g. lucknow")
    lgd_code: Mapped[int | None] = mapped_column(
        Integer, unique=True, comment="Local Government Directory district code, when known"
    )

    state: Mapped[State] = relationship(back_populates="districts")
    cities: Mapped[list[City]] = relationship(back_populates="district")


class City(Base):
    """An urban local body (ULB)."""

    __tablename__ = "city"
    __table_args__ = (
        UniqueConstraint("district_id", "name"),
        _non_blank("code"),
        _non_blank("name"),
        CheckConstraint("cos_in_post IS NULL OR cos_in_post >= 0", name="cos_non_negative"),
        CheckConstraint("cmms_in_post IS NULL OR cmms_in_post >= 0", name="cmms_non_negative"),
        # The current layer must be one of this city's own layers (checked only when set).
        ForeignKeyConstraint(
            ["id", "current_layer_id"],
            ["ward_layer.city_id", "ward_layer.id"],
            name="fk_city_current_layer_ward_layer",
            use_alter=True,
        ),
    )

    id: Mapped[int] = _pk()
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"))
    code: Mapped[str] = mapped_column(unique=True, comment="stable short name, e.g. lucknow")
    name: Mapped[str]
    current_layer_id: Mapped[int | None] = mapped_column(BigInteger)
    lgd_code: Mapped[int | None] = mapped_column(
        Integer, unique=True, comment="Local Government Directory code of the ULB, when known"
    )
    cos_in_post: Mapped[int | None] = mapped_column(Integer, comment="Community Organisers")
    cmms_in_post: Mapped[int | None] = mapped_column(Integer, comment="City Mission Managers")

    district: Mapped[District] = relationship(back_populates="cities")
    zones: Mapped[list[Zone]] = relationship(back_populates="city")
    layers: Mapped[list[WardLayer]] = relationship(
        back_populates="city", foreign_keys="WardLayer.city_id"
    )
    current_layer: Mapped[WardLayer | None] = relationship(
        foreign_keys=[current_layer_id],
        primaryjoin="City.current_layer_id == WardLayer.id",
        viewonly=True,  # set current_layer_id itself
    )


class Zone(Base):
    __tablename__ = "zone"
    __table_args__ = (UniqueConstraint("city_id", "name"), _non_blank("name"))

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    name: Mapped[str]

    city: Mapped[City] = relationship(back_populates="zones")


class WardLayer(Base):
    """One immutable version of a city's ward boundaries, as uploaded and validated."""

    __tablename__ = "ward_layer"
    __table_args__ = (
        UniqueConstraint("city_id", "version"),
        UniqueConstraint("city_id", "id"),  # target of city.current_layer_id and plan's layer
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        CheckConstraint(
            "jsonb_typeof(validation_report -> 'warnings') = 'array'", name="report_has_warnings"
        ),
        CheckConstraint("jsonb_typeof(field_mapping) = 'object'", name="field_mapping_object"),
        _non_blank("source_filename"),
    )

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created_at()
    uploaded_by: Mapped[str]
    source_filename: Mapped[str]
    sha256: Mapped[str] = mapped_column(String(64), comment="of the uploaded file, lowercase hex")
    source_crs: Mapped[str] = mapped_column(comment="e.g. EPSG:32644, before reprojection")
    validation_report: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("""'{"warnings": []}'::jsonb""")
    )
    field_mapping: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    data_source: Mapped[str | None] = mapped_column(comment="as the uploader states it")
    data_licence: Mapped[str | None] = mapped_column(comment="as the uploader states it")

    city: Mapped[City] = relationship(back_populates="layers", foreign_keys=[city_id])
    wards: Mapped[list[Ward]] = relationship(back_populates="layer", order_by="Ward.id")


class Ward(Base):
    __tablename__ = "ward"
    __table_args__ = (
        UniqueConstraint("layer_id", "ward_id"),
        _non_blank("ward_id"),
        CheckConstraint("population >= 0", name="population_non_negative"),
        CheckConstraint(
            "population IS NOT NULL OR households IS NOT NULL OR poor_households IS NOT NULL",
            name="has_some_figure",
        ),
        CheckConstraint("households IS NULL OR households >= 0", name="households_non_negative"),
        CheckConstraint(
            "poor_households IS NULL OR poor_households >= 0", name="poor_households_non_negative"
        ),
    )

    id: Mapped[int] = _pk()
    layer_id: Mapped[int] = mapped_column(ForeignKey("ward_layer.id"))
    ward_id: Mapped[str] = mapped_column(comment="the ward's own identifier in the file")
    name: Mapped[str | None]
    name_hi: Mapped[str | None]  # the ward's name in Hindi, from the upload's names table
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    population: Mapped[int | None] = mapped_column(BigInteger)  # None: households-only layer
    households: Mapped[int | None] = mapped_column(BigInteger)
    poor_households: Mapped[Decimal | None] = mapped_column(
        Numeric(14, 2), comment="a ward-level poverty figure, when the file has one"
    )
    geom: Mapped[GeometryValue] = mapped_column(_multipolygon(index=True))

    layer: Mapped[WardLayer] = relationship(back_populates="wards")
    zone: Mapped[Zone | None] = relationship()


class Organiser(Base):
    """A Community Organiser of a city. The home location is personal data."""

    __tablename__ = "organiser"
    __table_args__ = (
        UniqueConstraint("city_id", "organiser_id"),
        _non_blank("organiser_id"),
        _non_blank("name"),
        CheckConstraint("home IS NOT NULL OR home_ward IS NOT NULL", name="home_known"),
        CheckConstraint("active = (retired_at IS NULL)", name="retired_iff_inactive"),
    )

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    organiser_id: Mapped[str] = mapped_column(comment="the city's own identifier for the CO")
    name: Mapped[str]
    home: Mapped[GeometryValue | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False)
    )
    home_ward: Mapped[str | None] = mapped_column(comment="a ward_id, when no exact home is known")
    phone: Mapped[str | None]
    email: Mapped[str | None]
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    retired_at: Mapped[datetime | None]

    city: Mapped[City] = relationship()


class Plan(Base):
    """One immutable allocation: its inputs, what the solver proved, and (later) its approval."""

    __tablename__ = "plan"
    __table_args__ = (
        # The layer must be one of the plan's city's layers.
        ForeignKeyConstraint(["city_id", "layer_id"], ["ward_layer.city_id", "ward_layer.id"]),
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in PLAN_STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("gap IS NULL OR gap >= 0", name="gap_non_negative"),
        CheckConstraint(
            "tolerance_used IS NULL OR tolerance_used >= 0", name="tolerance_non_negative"
        ),
        CheckConstraint("seconds >= 0", name="seconds_non_negative"),
        CheckConstraint("(approved_at IS NULL) = (approved_by IS NULL)", name="approval_complete"),
        CheckConstraint(
            "approved_at IS NULL OR status IN ('optimal', 'feasible')", name="approved_has_plan"
        ),
        Index("ix_plan_city_id_layer_id", "city_id", "layer_id"),
    )

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    layer_id: Mapped[int] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any]]
    input_hashes: Mapped[dict[str, Any]]
    solver: Mapped[str]
    solver_version: Mapped[str]
    seed: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str]
    objective: Mapped[float | None] = mapped_column(Double)
    bound: Mapped[float | None] = mapped_column(Double)
    gap: Mapped[float | None] = mapped_column(Double)
    tolerance_used: Mapped[float | None] = mapped_column(Double)
    seconds: Mapped[float] = mapped_column(Double)
    timings: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    warnings: Mapped[list[Any]] = mapped_column(server_default=text("'[]'::jsonb"))
    report: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"),
        comment="what the solve proved beyond the columns: explanation, the check, loads",
    )
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str]
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None]

    assignments: Mapped[list[PlanAssignment]] = relationship(back_populates="plan")
    areas: Mapped[list[PlanArea]] = relationship(back_populates="plan")


class PlanAssignment(Base):
    """Which organiser serves which ward in a plan (each ward exactly once)."""

    __tablename__ = "plan_assignment"

    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    ward_pk: Mapped[int] = mapped_column(ForeignKey("ward.id"), primary_key=True)
    organiser_pk: Mapped[int] = mapped_column(ForeignKey("organiser.id"), index=True)

    plan: Mapped[Plan] = relationship(back_populates="assignments")


class PlanArea(Base):
    """One organiser's dissolved area in a plan, with its load."""

    __tablename__ = "plan_area"
    __table_args__ = (CheckConstraint("load >= 0", name="load_non_negative"),)

    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    organiser_pk: Mapped[int] = mapped_column(ForeignKey("organiser.id"), primary_key=True)
    geom: Mapped[GeometryValue] = mapped_column(_multipolygon(index=True))
    load: Mapped[float] = mapped_column(Double, comment="poor households served")
    deviation: Mapped[float] = mapped_column(Double, comment="relative to the mean load")

    plan: Mapped[Plan] = relationship(back_populates="areas")


class CommunityCentre(Base):
    """A community centre of a city: the contact point the letter suggests for a CO's area."""

    __tablename__ = "community_centre"
    __table_args__ = (_non_blank("name"),)

    id: Mapped[int] = _pk()
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"), index=True)
    name: Mapped[str]
    geom: Mapped[GeometryValue] = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False))
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str]


class SolveJob(Base):
    """One request to plan a city, run by a worker (``app.jobs.worker``) and kept after it finishes.

    The queue itself is procrastinate's (its ``procrastinate_*`` tables); this row is what users
    see: status, live progress, and the plan it produced. The plan and the ``succeeded`` status are
    written in one transaction, so a job whose worker died is run again and never stored twice.
    """

    __tablename__ = "solve_job"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in JOB_STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("kind IN ('plan', 'allocate', 'camps', 'replan')", name="kind_known"),
        # A plan, camp or re-plan job plans a stored city; a stateless allocation carries its wards
        # in ``request``.
        CheckConstraint(
            "(kind IN ('plan', 'camps', 'replan')) = (city_id IS NOT NULL AND layer_id IS NOT NULL)",
            name="plan_has_city",
        ),
        CheckConstraint(
            "(status = 'succeeded') = (plan_id IS NOT NULL OR result IS NOT NULL)",
            name="answer_iff_success",
        ),
        CheckConstraint(
            "(finished_at IS NOT NULL) = (status IN ("
            + ", ".join(f"'{s}'" for s in JOB_FINAL)
            + "))",
            name="finished_iff_final",
        ),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        Index("ix_solve_job_status", "status", "id"),
    )

    id: Mapped[int] = _pk()
    kind: Mapped[str] = mapped_column(
        server_default=text("'plan'"),
        comment="plan: a stored city; camps: its registration camps; replan: from a stored plan; "
        "allocate: stateless",
    )
    city_id: Mapped[int | None] = mapped_column(ForeignKey("city.id"), index=True)
    layer_id: Mapped[int | None] = mapped_column(ForeignKey("ward_layer.id"))
    request: Mapped[dict[str, Any]] = mapped_column(
        comment="plan: the parameters as requested; allocate: the whole request body"
    )
    time_limit: Mapped[float] = mapped_column(Double, comment="seconds, resolved at submission")
    solver: Mapped[str] = mapped_column(comment="resolved at submission")
    status: Mapped[str] = mapped_column(server_default=text("'queued'"))
    progress: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"),
        comment="latest report of the running solve: elapsed_s, incumbent, bound, gap, phase",
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cancel_requested: Mapped[bool] = mapped_column(server_default=text("false"))
    error: Mapped[str | None] = mapped_column(comment="why a failed job failed")
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), unique=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(
        comment="a stateless allocation's answer (the /allocate response body)"
    )
    queue_job_id: Mapped[int | None] = mapped_column(
        BigInteger, comment="procrastinate_jobs.id once the job is queued"
    )
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_batch.id"), index=True, comment="the state plan batch that queued it"
    )


class AuditEvent(Base):
    """Who did what to which object. Written in the same transaction as the change it records."""

    __tablename__ = "audit_event"
    __table_args__ = (
        _non_blank("actor"),
        _non_blank("action"),
        CheckConstraint("jsonb_typeof(details) = 'object'", name="details_object"),
        Index("ix_audit_event_object", "object_type", "object_id"),
    )

    id: Mapped[int] = _pk()
    at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    actor: Mapped[str]
    action: Mapped[str] = mapped_column(comment="e.g. layer.upload, plan.create, plan.approve")
    object_type: Mapped[str]
    object_id: Mapped[str]
    details: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))


#: What an API key may do (``app.services.keys`` says which routes each role reaches).
KEY_ROLES: Final = ("gis", "cmmu", "api_client", "admin", "state")


class ApiKey(Base):
    """An API key: only the SHA-256 of its token is stored (see ``app.services.keys``).

    A GIS cell's or CMMU's key belongs to one city (``city_code``, a city code that may not exist
    yet: the first upload creates the city); API-client and admin keys may be global (NULL).
    """

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$'", name="name_format"),
        CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in KEY_ROLES) + ")", name="role_known"
        ),
        CheckConstraint("role NOT IN ('gis', 'cmmu') OR city_code IS NOT NULL", name="city_role"),
        CheckConstraint("role <> 'state' OR state_code IS NOT NULL", name="state_role"),
        CheckConstraint("token_sha256 ~ '^[0-9a-f]{64}$'", name="token_sha256_hex"),
    )

    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(unique=True, comment="recorded as the actor in the audit")
    role: Mapped[str]
    city_code: Mapped[str | None] = mapped_column(comment="the one city the key may reach")
    state_code: Mapped[str | None] = mapped_column(comment="a state key's one state")
    token_sha256: Mapped[str] = mapped_column(
        String(64), unique=True, comment="of the token, lowercase hex; the token is never stored"
    )
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class PlanBatch(Base):
    """One request to plan every city of a state: one ``solve_job`` per city (``batch_id``)."""

    __tablename__ = "plan_batch"
    __table_args__ = (CheckConstraint("jsonb_typeof(refused) = 'object'", name="refused_object"),)

    id: Mapped[int] = _pk()
    state_id: Mapped[int] = mapped_column(ForeignKey("state.id"), index=True)
    request: Mapped[dict[str, Any]] = mapped_column(
        comment="the parameters for every city and the per-city overrides, as requested"
    )
    refused: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"), comment="city code → why no job was queued for it"
    )
    created_at: Mapped[datetime] = _created_at()
    created_by: Mapped[str]
    cancelled_at: Mapped[datetime | None]


#: Why a plan version exists: a fresh solve, a hand edit of its parent, a re-plan from its parent.
PLAN_REASONS: Final = ("new", "edit", "replan")
#: What happens to a plan's approval: given, withdrawn by hand, superseded by another plan's.
APPROVAL_ACTIONS: Final = ("approve", "withdraw", "supersede")


class PlanVersion(Base):
    """A plan's place in its city's history: its version number, the plan it was made from and
    why (``app.services.plan_versions``). Every plan has one; plans stay immutable."""

    __tablename__ = "plan_version"
    __table_args__ = (
        UniqueConstraint("city_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint(
            "reason IN (" + ", ".join(f"'{r}'" for r in PLAN_REASONS) + ")", name="reason_known"
        ),
        CheckConstraint("(reason = 'new') = (parent_plan_id IS NULL)", name="parent_iff_derived"),
        CheckConstraint("parent_plan_id <> plan_id", name="not_own_parent"),
        CheckConstraint("jsonb_typeof(details) = 'object'", name="details_object"),
    )

    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("city.id"))
    version: Mapped[int] = mapped_column(Integer, comment="1, 2, … within the city")
    parent_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"), index=True)
    reason: Mapped[str] = mapped_column(comment="new: solved; edit: by hand; replan: re-planned")
    note: Mapped[str | None] = mapped_column(comment="why, in the user's words")
    details: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"),
        comment="edit: the moves and breaks; replan: pins, wards and households moved",
    )


class PlanApproval(Base):
    """One act on a plan's approval; ``plan.approved_at`` holds the approval in force."""

    __tablename__ = "plan_approval"
    __table_args__ = (
        CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in APPROVAL_ACTIONS) + ")",
            name="action_known",
        ),
        CheckConstraint(
            "(action = 'supersede') = (superseded_by IS NOT NULL)", name="superseded_names_plan"
        ),
        _non_blank("actor"),
    )

    id: Mapped[int] = _pk()
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    action: Mapped[str]
    at: Mapped[datetime] = mapped_column(server_default=func.now())
    actor: Mapped[str]
    reason: Mapped[str | None]
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))


class ApiRateLimit(Base):
    """The API's request rate per client, shared by every API process (``app.api.ratelimit``):
    one row per client holding its theoretical arrival time (GCRA, a token bucket in one
    timestamp). UNLOGGED: a crash forgets the counts, which only resets the limits."""

    __tablename__ = "api_rate_limit"
    __table_args__ = ({"prefixes": ["UNLOGGED"]},)

    client: Mapped[str] = mapped_column(
        primary_key=True, comment="a digest of the API key, or the client's address"
    )
    tat: Mapped[datetime] = mapped_column(
        comment="when the client's bucket is full again; a request is let through while this "
        "is at most a minute ahead"
    )


# The camp tables live in their own module (registered on the same metadata when it is imported).
from app.db import camp_models  # noqa: E402

CampPlan = camp_models.CampPlan
CampCluster = camp_models.CampCluster
CampWard = camp_models.CampWard

# The City Mission Managers too (the city's staff beyond the CO roster).
from app.db import staff_models  # noqa: E402

CityMissionManager = staff_models.CityMissionManager

# The city's pinned wards (kept by every plan and re-plan of the city).
from app.db import pin_models  # noqa: E402

WardPin = pin_models.WardPin
