"""city staff: the City Mission Managers of a city, with their contacts and portfolios; the COs'
contacts (phone, e-mail) on the organiser roster

Revision ID: 0013_city_staff
Revises: 0012_shared_rate_limit
Create Date: 2026-12-05 10:55:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0013_city_staff"
down_revision: Union[str, Sequence[str], None] = "0012_shared_rate_limit"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "city_mission_manager",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "cmm_id", sa.Text(), nullable=False, comment="the city's own identifier for the CMM"
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column(
            "components",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
            comment="positions (0-6) in the letter's seven components; NULL: the letter's rule",
        ),
        sa.Column(
            "position", sa.Integer(), nullable=False, comment="the order of the list: CMM 1, 2, …"
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "active = (retired_at IS NULL)",
            name=op.f("ck_city_mission_manager_retired_iff_inactive"),
        ),
        sa.CheckConstraint(
            "btrim(cmm_id) <> ''", name=op.f("ck_city_mission_manager_cmm_id_not_blank")
        ),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_city_mission_manager_name_not_blank")),
        sa.CheckConstraint(
            "position >= 0", name=op.f("ck_city_mission_manager_position_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["city.id"], name=op.f("fk_city_mission_manager_city_id_city")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_city_mission_manager")),
        sa.UniqueConstraint(
            "city_id", "cmm_id", name=op.f("uq_city_mission_manager_city_id_cmm_id")
        ),
    )
    op.create_index(
        op.f("ix_city_mission_manager_city_id"), "city_mission_manager", ["city_id"], unique=False
    )
    op.add_column("organiser", sa.Column("phone", sa.Text(), nullable=True))
    op.add_column("organiser", sa.Column("email", sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("organiser", "email")
    op.drop_column("organiser", "phone")
    op.drop_index(op.f("ix_city_mission_manager_city_id"), table_name="city_mission_manager")
    op.drop_table("city_mission_manager")
