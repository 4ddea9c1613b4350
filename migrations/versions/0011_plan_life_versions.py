"""plan life: plan versions (lineage: parent, version number, reason), approval history, re-plan jobs

Every existing plan becomes version 1, 2, … of its city (in the order it was made), reason ``new``;
every plan approved now gets its ``approve`` act in the approval history.

Revision ID: 0011_plan_life_versions
Revises: 0010_camp_plans
Create Date: 2026-12-05 06:10:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0011_plan_life_versions"
down_revision: Union[str, Sequence[str], None] = "0010_camp_plans"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "plan_version",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, comment="1, 2, … within the city"),
        sa.Column("parent_plan_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=False,
            comment="new: solved; edit: by hand; replan: re-planned",
        ),
        sa.Column("note", sa.Text(), nullable=True, comment="why, in the user's words"),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="edit: the moves and breaks; replan: pins, wards and households moved",
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plan_version_version_positive")),
        sa.CheckConstraint(
            "reason IN ('new', 'edit', 'replan')", name=op.f("ck_plan_version_reason_known")
        ),
        sa.CheckConstraint(
            "(reason = 'new') = (parent_plan_id IS NULL)",
            name=op.f("ck_plan_version_parent_iff_derived"),
        ),
        sa.CheckConstraint(
            "parent_plan_id <> plan_id", name=op.f("ck_plan_version_not_own_parent")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(details) = 'object'", name=op.f("ck_plan_version_details_object")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_plan_version_city_id_city")
        ),
        sa.ForeignKeyConstraint(
            ["parent_plan_id"], ["plan.id"], name=op.f("fk_plan_version_parent_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_version_plan_id_plan")
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_version")),
        sa.UniqueConstraint("city_id", "version", name=op.f("uq_plan_version_city_id_version")),
    )
    op.create_index(
        op.f("ix_plan_version_parent_plan_id"), "plan_version", ["parent_plan_id"], unique=False
    )
    op.create_table(
        "plan_approval",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("superseded_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "action IN ('approve', 'withdraw', 'supersede')",
            name=op.f("ck_plan_approval_action_known"),
        ),
        sa.CheckConstraint(
            "(action = 'supersede') = (superseded_by IS NOT NULL)",
            name=op.f("ck_plan_approval_superseded_names_plan"),
        ),
        sa.CheckConstraint("btrim(actor) <> ''", name=op.f("ck_plan_approval_actor_not_blank")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_approval_plan_id_plan")
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"], ["plan.id"], name=op.f("fk_plan_approval_superseded_by_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_approval")),
    )
    op.create_index(op.f("ix_plan_approval_plan_id"), "plan_approval", ["plan_id"], unique=False)
    op.execute(
        """
        INSERT INTO plan_version (plan_id, city_id, version, reason)
        SELECT id, city_id, row_number() OVER (PARTITION BY city_id ORDER BY id), 'new'
        FROM plan
        """
    )
    op.execute(
        """
        INSERT INTO plan_approval (plan_id, action, at, actor)
        SELECT id, 'approve', approved_at, approved_by FROM plan WHERE approved_at IS NOT NULL
        """
    )
    _job_kinds("('plan', 'allocate', 'camps', 'replan')", "kind IN ('plan', 'camps', 'replan')")


def _job_kinds(kinds: str, stored: str) -> None:
    """The job kinds allowed, and the condition under which a job plans a stored city."""
    op.drop_constraint(op.f("ck_solve_job_kind_known"), "solve_job", type_="check")
    op.drop_constraint(op.f("ck_solve_job_plan_has_city"), "solve_job", type_="check")
    op.create_check_constraint(op.f("ck_solve_job_kind_known"), "solve_job", f"kind IN {kinds}")
    op.create_check_constraint(
        op.f("ck_solve_job_plan_has_city"),
        "solve_job",
        f"({stored}) = (city_id IS NOT NULL AND layer_id IS NOT NULL)",
    )
    op.alter_column(
        "solve_job",
        "kind",
        existing_type=sa.Text(),
        comment="plan: a stored city; camps: its registration camps; replan: from a stored plan; "
        "allocate: stateless"
        if "replan" in kinds
        else "plan: a stored city; camps: its registration camps; allocate: stateless",
        existing_nullable=False,
        existing_server_default=sa.text("'plan'"),
    )


def downgrade() -> None:
    """Downgrade schema (re-plan jobs are removed: the older schema cannot hold them)."""
    op.execute("DELETE FROM solve_job WHERE kind = 'replan'")
    _job_kinds("('plan', 'allocate', 'camps')", "kind IN ('plan', 'camps')")
    op.drop_index(op.f("ix_plan_approval_plan_id"), table_name="plan_approval")
    op.drop_table("plan_approval")
    op.drop_index(op.f("ix_plan_version_parent_plan_id"), table_name="plan_version")
    op.drop_table("plan_version")
