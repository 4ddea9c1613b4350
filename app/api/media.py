"""Response classes for answers that are not plain JSON: each is sent with the media type the
OpenAPI schema documents for its route (``response_class=``), so a client generated from the
schema reads what is sent."""

from __future__ import annotations

from typing import Final

from fastapi.responses import JSONResponse, PlainTextResponse

GEOJSON: Final = "application/geo+json"
CSV: Final = "text/csv"
PDF: Final = "application/pdf"
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class GeoJSONResponse(JSONResponse):
    """JSON sent (and documented) as ``application/geo+json``."""

    media_type = GEOJSON


class CSVResponse(PlainTextResponse):
    """Text sent (and documented) as ``text/csv`` (UTF-8)."""

    media_type = CSV
