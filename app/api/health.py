from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import SessionDep
from app.api.schemas import Health
from gis.sandbox import confinement

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """The database answers and has PostGIS; how uploads are confined."""
    session.execute(text("SELECT 1"))
    version = session.execute(text("SELECT postgis_version()")).scalar_one()
    return Health(
        status="ok", database="ok", postgis_version=str(version), upload_sandbox=confinement()
    )
