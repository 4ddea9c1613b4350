"""Plan downloads for GIS cells: GeoPackage, KML and zipped shapefiles (wards and CO areas)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import CityCode, Reader, SessionDep
from app.api.schemas import PROBLEM_RESPONSES
from app.services import downloads as service

router = APIRouter(tags=["plans"], responses=PROBLEM_RESPONSES)


def _file(download: service.Download) -> Response:
    return Response(
        download.data,
        media_type=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
    )


def _binary(media_type: str) -> dict[int | str, dict[str, object]]:
    return {200: {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


@router.get(
    "/cities/{city}/plans/{plan_id}/plan.gpkg",
    response_class=Response,
    responses=_binary(service.FORMATS["gpkg"].media_type),
)
def plan_gpkg(city: CityCode, plan_id: int, session: SessionDep, _caller: Reader) -> Response:
    """GeoPackage with the layers ``plan_wards`` (each ward and its CO) and ``plan_areas``."""
    return _file(service.plan_file(session, city, plan_id, "gpkg"))


@router.get(
    "/cities/{city}/plans/{plan_id}/plan.kml",
    response_class=Response,
    responses=_binary(service.FORMATS["kml"].media_type),
)
def plan_kml(city: CityCode, plan_id: int, session: SessionDep, _caller: Reader) -> Response:
    """KML with two folders, ``plan_wards`` and ``plan_areas`` (Google Earth, QGIS)."""
    return _file(service.plan_file(session, city, plan_id, "kml"))


@router.get(
    "/cities/{city}/plans/{plan_id}/plan-shp.zip",
    response_class=Response,
    responses=_binary(service.FORMATS["shp"].media_type),
)
def plan_shapefile_zip(
    city: CityCode, plan_id: int, session: SessionDep, _caller: Reader
) -> Response:
    """Zipped shapefiles ``plan_wards`` and ``plan_areas``, UTF-8 (``.cpg``); field names of
    10 characters at most: ``org_id`` (organiser_id), ``poor_hh`` (poor_households_est),
    ``dev_pct`` (deviation_from_mean_pct)."""
    return _file(service.plan_file(session, city, plan_id, "shp"))
