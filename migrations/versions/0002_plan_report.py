"""plan.report: the solve's explanation, the independent check and the loads

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:35:00

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column(
        "plan",
        sa.Column(
            "report",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
            comment="what the solve proved beyond the columns: explanation, the check, loads",
        ),
    )


def downgrade() -> None:
    op.drop_column("plan", "report")
