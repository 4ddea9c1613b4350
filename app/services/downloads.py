"""Plan downloads: the files GIS cells open directly (GeoPackage, KML, zipped shapefiles).

The layers are the plan's GeoJSON (``plans.plan_wards_geojson`` / ``plans.plan_areas_geojson``), so
every format carries the same attributes as the API's JSON; ``gis.export`` writes them into a
temporary folder that is gone before the bytes are returned.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
from sqlalchemy.orm import Session

from app.services import plans
from gis.export import GPKG_FILE, KML_FILE, SHP_ZIP_FILE, write_gpkg, write_kml, write_shapefile_zip
from gis.layer import STORAGE_CRS

Writer = Callable[[Path, gpd.GeoDataFrame, gpd.GeoDataFrame], Path]


@dataclass(frozen=True)
class Format:
    filename: str  # in the URL, and the end of the downloaded file's name
    media_type: str
    write: Writer


FORMATS: Final[dict[str, Format]] = {
    "gpkg": Format(GPKG_FILE, "application/geopackage+sqlite3", write_gpkg),
    "kml": Format(KML_FILE, "application/vnd.google-earth.kml+xml", write_kml),
    "shp": Format(SHP_ZIP_FILE, "application/zip", write_shapefile_zip),
}

#: Prefix of the temporary folders the downloads are written in (tests check none is left).
TEMP_PREFIX: Final = "wardplan-download-"


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    data: bytes


def _frame(collection: dict[str, Any]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame.from_features(collection["features"], crs=STORAGE_CRS)


def plan_file(session: Session, city_code: str, plan_id: int, fmt: str) -> Download:
    """One plan as a file in ``fmt`` (a key of :data:`FORMATS`): its ward and area layers.

    A plan without an answer is a ``Conflict`` and another city's plan ``NotFound``, as for its
    GeoJSON.
    """
    spec = FORMATS[fmt]
    stored = plans.get_plan(session, city_code, plan_id)
    wards = _frame(plans.plan_wards_geojson(session, stored))
    areas = _frame(plans.plan_areas_geojson(session, stored))
    with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp:
        data = spec.write(Path(tmp) / spec.filename, wards, areas).read_bytes()
    return Download(f"{stored.city.code}-plan-{plan_id}-{spec.filename}", spec.media_type, data)
