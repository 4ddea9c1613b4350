"""ward pins: a city's pinned wards ("ward 57 stays with CO-04"), kept by every plan and re-plan

Revision ID: 0014_ward_pins
Revises: 0013_city_staff
Create Date: 2026-12-05 13:10:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "0014_ward_pins"
down_revision: Union[str, Sequence[str], None] = "0013_city_staff"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "ward_pin",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("city_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "ward_id", sa.Text(), nullable=False, comment="the ward's code in the city's layers"
        ),
        sa.Column(
            "organiser_id",
            sa.Text(),
            nullable=False,
            comment="the CO's code on the city's roster",
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "set_by",
            sa.Text(),
            nullable=False,
            comment="the key (or CLI user) that set the pin",
        ),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("btrim(ward_id) <> ''", name=op.f("ck_ward_pin_ward_id_not_blank")),
        sa.CheckConstraint(
            "btrim(organiser_id) <> ''", name=op.f("ck_ward_pin_organiser_id_not_blank")
        ),
        sa.ForeignKeyConstraint(["city_id"], ["city.id"], name=op.f("fk_ward_pin_city_id_city")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ward_pin")),
        sa.UniqueConstraint("city_id", "ward_id", name=op.f("uq_ward_pin_city_id_ward_id")),
    )
    op.create_index(op.f("ix_ward_pin_city_id"), "ward_pin", ["city_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_ward_pin_city_id"), table_name="ward_pin")
    op.drop_table("ward_pin")
