"""households-only layers: a ward's population may be unknown

A layer with households (or a ward-level poverty figure) and no population is stored and planned;
every stored ward still has at least one of population, households and poor households.

Revision ID: 0006_households_only_layers
Revises: 0005
Create Date: 2026-12-05 02:45:00

"""

from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006_households_only_layers"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_SOME_FIGURE = "population IS NOT NULL OR households IS NOT NULL OR poor_households IS NOT NULL"


def upgrade() -> None:
    """Population nullable; each ward keeps some figure to estimate from."""
    op.alter_column("ward", "population", nullable=True)
    op.create_check_constraint(op.f("ck_ward_has_some_figure"), "ward", _SOME_FIGURE)


def downgrade() -> None:
    """Refused while a stored ward has no population (it would have to be invented)."""
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM ward WHERE population IS NULL) THEN "
        "RAISE EXCEPTION 'wards without population are stored: cannot make population "
        "required again'; END IF; END $$"
    )
    op.drop_constraint(op.f("ck_ward_has_some_figure"), "ward", type_="check")
    op.alter_column("ward", "population", nullable=False)
