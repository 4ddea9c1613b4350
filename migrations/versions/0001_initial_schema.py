"""initial schema

PostGIS, the geography (state, district, city, zone), ward layers and wards, organisers, plans with
their assignments and areas, and the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 14:11:01.678983

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Needs a superuser the first time; scripts/postgres.sh and the postgis image create it already.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "action",
            sa.Text(),
            nullable=False,
            comment="e.g. layer.upload, plan.create, plan.approve",
        ),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint("btrim(action) <> ''", name=op.f("ck_audit_event_action_not_blank")),
        sa.CheckConstraint("btrim(actor) <> ''", name=op.f("ck_audit_event_actor_not_blank")),
        sa.CheckConstraint(
            "jsonb_typeof(details) = 'object'", name=op.f("ck_audit_event_details_object")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"], unique=False)
    op.create_index(
        "ix_audit_event_object", "audit_event", ["object_type", "object_id"], unique=False
    )
    op.create_table(
        "state",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="e.g. UP"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("btrim(code) <> ''", name=op.f("ck_state_code_not_blank")),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_state_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state")),
        sa.UniqueConstraint("code", name=op.f("uq_state_code")),
        sa.UniqueConstraint("name", name=op.f("uq_state_name")),
    )
    op.create_table(
        "district",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("state_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_district_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["state_id"], ["state.id"], name=op.f("fk_district_state_id_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district")),
        sa.UniqueConstraint("state_id", "name", name=op.f("uq_district_state_id_name")),
    )
    op.create_table(
        "city",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("district_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False, comment="stable short name, e.g. lucknow"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("current_layer_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("btrim(code) <> ''", name=op.f("ck_city_code_not_blank")),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_city_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_city_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city")),
        sa.UniqueConstraint("code", name=op.f("uq_city_code")),
        sa.UniqueConstraint("district_id", "name", name=op.f("uq_city_district_id_name")),
    )
    op.create_geospatial_table(
        "organiser",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "organiser_id",
            sa.Text(),
            nullable=False,
            comment="the city's own identifier for the CO",
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "home",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "home_ward", sa.Text(), nullable=True, comment="a ward_id, when no exact home is known"
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_organiser_name_not_blank")),
        sa.CheckConstraint(
            "btrim(organiser_id) <> ''", name=op.f("ck_organiser_organiser_id_not_blank")
        ),
        sa.CheckConstraint(
            "active = (retired_at IS NULL)", name=op.f("ck_organiser_retired_iff_inactive")
        ),
        sa.CheckConstraint(
            "home IS NOT NULL OR home_ward IS NOT NULL", name=op.f("ck_organiser_home_known")
        ),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], name=op.f("fk_organiser_city_id_city")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organiser")),
        sa.UniqueConstraint(
            "city_id", "organiser_id", name=op.f("uq_organiser_city_id_organiser_id")
        ),
    )
    op.create_table(
        "ward_layer",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("source_filename", sa.Text(), nullable=False),
        sa.Column(
            "sha256",
            sa.String(length=64),
            nullable=False,
            comment="of the uploaded file, lowercase hex",
        ),
        sa.Column(
            "source_crs", sa.Text(), nullable=False, comment="e.g. EPSG:32644, before reprojection"
        ),
        sa.Column(
            "validation_report",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{\"warnings\": []}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "field_mapping",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "btrim(source_filename) <> ''", name=op.f("ck_ward_layer_source_filename_not_blank")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(field_mapping) = 'object'",
            name=op.f("ck_ward_layer_field_mapping_object"),
        ),
        sa.CheckConstraint(
            "jsonb_typeof(validation_report -> 'warnings') = 'array'",
            name=op.f("ck_ward_layer_report_has_warnings"),
        ),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_ward_layer_sha256_hex")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_ward_layer_version_positive")),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], name=op.f("fk_ward_layer_city_id_city")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward_layer")),
        sa.UniqueConstraint("city_id", "id", name=op.f("uq_ward_layer_city_id_id")),
        sa.UniqueConstraint("city_id", "version", name=op.f("uq_ward_layer_city_id_version")),
    )
    # city.current_layer_id must name one of the city's own layers (city and ward_layer refer to
    # each other, so this key is added once both exist).
    op.create_foreign_key(
        "fk_city_current_layer_ward_layer",
        "city",
        "ward_layer",
        ["id", "current_layer_id"],
        ["city_id", "id"],
    )
    op.create_table(
        "zone",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_zone_name_not_blank")),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], name=op.f("fk_zone_city_id_city")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone")),
        sa.UniqueConstraint("city_id", "name", name=op.f("uq_zone_city_id_name")),
    )
    op.create_table(
        "plan",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column("layer_id", sa.BigInteger(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("input_hashes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("solver", sa.Text(), nullable=False),
        sa.Column("solver_version", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("objective", sa.Double(), nullable=True),
        sa.Column("bound", sa.Double(), nullable=True),
        sa.Column("gap", sa.Double(), nullable=True),
        sa.Column("tolerance_used", sa.Double(), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column(
            "timings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "approved_at IS NULL OR status IN ('optimal', 'feasible')",
            name=op.f("ck_plan_approved_has_plan"),
        ),
        sa.CheckConstraint(
            "status IN ('optimal', 'feasible', 'infeasible', 'no_solution')",
            name=op.f("ck_plan_status_known"),
        ),
        sa.CheckConstraint(
            "(approved_at IS NULL) = (approved_by IS NULL)", name=op.f("ck_plan_approval_complete")
        ),
        sa.CheckConstraint("gap IS NULL OR gap >= 0", name=op.f("ck_plan_gap_non_negative")),
        sa.CheckConstraint("seconds >= 0", name=op.f("ck_plan_seconds_non_negative")),
        sa.CheckConstraint(
            "tolerance_used IS NULL OR tolerance_used >= 0",
            name=op.f("ck_plan_tolerance_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id", "layer_id"],
            ["ward_layer.city_id", "ward_layer.id"],
            name=op.f("fk_plan_city_id_layer_id_ward_layer"),
        ),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], name=op.f("fk_plan_city_id_city")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    op.create_index("ix_plan_city_id_layer_id", "plan", ["city_id", "layer_id"], unique=False)
    op.create_geospatial_table(
        "ward",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("layer_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "ward_id", sa.Text(), nullable=False, comment="the ward's own identifier in the file"
        ),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.Column("households", sa.BigInteger(), nullable=True),
        sa.Column(
            "poor_households",
            sa.Numeric(precision=14, scale=2),
            nullable=True,
            comment="a ward-level poverty figure, when the file has one",
        ),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("btrim(ward_id) <> ''", name=op.f("ck_ward_ward_id_not_blank")),
        sa.CheckConstraint(
            "households IS NULL OR households >= 0", name=op.f("ck_ward_households_non_negative")
        ),
        sa.CheckConstraint(
            "poor_households IS NULL OR poor_households >= 0",
            name=op.f("ck_ward_poor_households_non_negative"),
        ),
        sa.CheckConstraint("population >= 0", name=op.f("ck_ward_population_non_negative")),
        sa.ForeignKeyConstraint(
            ["layer_id"], ["ward_layer.id"], name=op.f("fk_ward_layer_id_ward_layer")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zone.id"], name=op.f("fk_ward_zone_id_zone")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward")),
        sa.UniqueConstraint("layer_id", "ward_id", name=op.f("uq_ward_layer_id_ward_id")),
    )
    op.create_geospatial_index(
        "idx_ward_geom", "ward", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_ward_zone_id"), "ward", ["zone_id"], unique=False)
    op.create_geospatial_table(
        "plan_area",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("organiser_pk", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("load", sa.Double(), nullable=False, comment="poor households served"),
        sa.Column("deviation", sa.Double(), nullable=False, comment="relative to the mean load"),
        sa.CheckConstraint("load >= 0", name=op.f("ck_plan_area_load_non_negative")),
        sa.ForeignKeyConstraint(
            ["organiser_pk"], ["organiser.id"], name=op.f("fk_plan_area_organiser_pk_organiser")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_area_plan_id_plan")),
        sa.PrimaryKeyConstraint("plan_id", "organiser_pk", name=op.f("pk_plan_area")),
    )
    op.create_geospatial_index(
        "idx_plan_area_geom",
        "plan_area",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "plan_assignment",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("ward_pk", sa.BigInteger(), nullable=False),
        sa.Column("organiser_pk", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organiser_pk"],
            ["organiser.id"],
            name=op.f("fk_plan_assignment_organiser_pk_organiser"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_assignment_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["ward_pk"], ["ward.id"], name=op.f("fk_plan_assignment_ward_pk_ward")
        ),
        sa.PrimaryKeyConstraint("plan_id", "ward_pk", name=op.f("pk_plan_assignment")),
    )
    op.create_index(
        op.f("ix_plan_assignment_organiser_pk"), "plan_assignment", ["organiser_pk"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema. The postgis extension stays: it may serve other objects, and dropping it
    needs a superuser."""
    op.drop_index(op.f("ix_plan_assignment_organiser_pk"), table_name="plan_assignment")
    op.drop_table("plan_assignment")
    op.drop_geospatial_index(
        "idx_plan_area_geom", table_name="plan_area", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("plan_area")
    op.drop_index(op.f("ix_ward_zone_id"), table_name="ward")
    op.drop_geospatial_index(
        "idx_ward_geom", table_name="ward", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("ward")
    op.drop_index("ix_plan_city_id_layer_id", table_name="plan")
    op.drop_table("plan")
    op.drop_table("zone")
    op.drop_constraint("fk_city_current_layer_ward_layer", "city", type_="foreignkey")
    op.drop_table("ward_layer")
    op.drop_geospatial_table("organiser")
    op.drop_table("city")
    op.drop_table("district")
    op.drop_table("state")
    op.drop_index("ix_audit_event_object", table_name="audit_event")
    op.drop_index(op.f("ix_audit_event_at"), table_name="audit_event")
    op.drop_table("audit_event")
