"""ward names in Hindi: the layer upload takes a bilingual names table

Revision ID: 0007_ward_names_hindi
Revises: 0006_households_only_layers
Create Date: 2026-12-05 02:55:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007_ward_names_hindi"
down_revision: Union[str, Sequence[str], None] = "0006_households_only_layers"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A ward's name in Hindi (Devanagari), exactly as uploaded."""
    op.add_column("ward", sa.Column("name_hi", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ward", "name_hi")
