"""The audit trail: one row per upload, import, plan, approval or stateless allocation."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.db.models import AuditEvent


def record(
    session: Session, actor: str, action: str, object_type: str, object_id: object, **details: Any
) -> None:
    """Add an audit row to the unit of work (the session scope commits it with the change)."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            details=details,
        )
    )
