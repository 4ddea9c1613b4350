"""What Alembic compares between the models and the database (autogenerate, ``alembic check``)."""

from __future__ import annotations

from typing import Any, Final

from geoalchemy2 import alembic_helpers

#: Prefix of the job queue's own tables, created from procrastinate's schema by revision 0003
#: and not described by ``Base.metadata``.
QUEUE_PREFIX: Final = "procrastinate_"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Compare our tables only: not PostGIS's (GeoAlchemy2's rule) nor the job queue's."""
    if type_ == "table" and name is not None and name.startswith(QUEUE_PREFIX):
        return False
    keep = alembic_helpers.include_object(obj, name, type_, reflected, compare_to)  # type: ignore[no-untyped-call]
    return bool(keep)
