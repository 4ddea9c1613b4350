"""shared rate limit: the API's request counts in PostgreSQL, for every API process

Revision ID: 0012_shared_rate_limit
Revises: 0011_plan_life_versions
Create Date: 2026-12-05 06:05:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = "0012_shared_rate_limit"
down_revision: Union[str, Sequence[str], None] = "0011_plan_life_versions"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "api_rate_limit",
        sa.Column(
            "client",
            sa.Text(),
            nullable=False,
            comment="a digest of the API key, or the client's address",
        ),
        sa.Column(
            "tat",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="when the client's bucket is full again; a request is let through while "
            "this is at most a minute ahead",
        ),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_api_rate_limit")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("api_rate_limit")
