"""a ward layer's data source and licence, as its uploader states them

Revision ID: 0008_layer_source_licence
Revises: 0007_ward_names_hindi
Create Date: 2026-12-05 03:10:00

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008_layer_source_licence"
down_revision: Union[str, Sequence[str], None] = "0007_ward_names_hindi"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "ward_layer",
        sa.Column("data_source", sa.Text(), nullable=True, comment="as the uploader states it"),
    )
    op.add_column(
        "ward_layer",
        sa.Column("data_licence", sa.Text(), nullable=True, comment="as the uploader states it"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("ward_layer", "data_licence")
    op.drop_column("ward_layer", "data_source")
