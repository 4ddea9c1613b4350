"""OGC API – Features (Part 1: Core, GeoJSON) under ``/ogc``, so GIS cells add Wardplan's ward
layers and approved plans in QGIS or ArcGIS ("Add WFS / OGC API – Features layer", URL ``…/ogc``).

Six routes over ``app.services.features``; every link is absolute. tipg was considered: it publishes
tables and views through its own asyncpg pool and settings, while these collections are per-city
selections of our ORM tables, so the routes are written here instead.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from app.api.deps import SessionDep, require
from app.api.media import GEOJSON, GeoJSONResponse
from app.api.schemas import PROBLEM_RESPONSES, FeatureCollection
from app.services import features as service
from app.services.layers import parse_bbox

#: Public: ward boundaries and approved plans are published documents (no homes in them), and GIS
#: software adds the layers without a key. A key that is sent is still checked (401 if revoked).
router = APIRouter(
    prefix="/ogc",
    tags=["OGC API – Features"],
    responses=PROBLEM_RESPONSES,
    dependencies=[Depends(require(anonymous=True))],
)


JSON: Final = "application/json"
OPENAPI: Final = "application/vnd.oai.openapi+json;version=3.1"
CRS84: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: The conformance classes implemented: Core and GeoJSON. Not "oas30": FastAPI's description is
#: OpenAPI 3.1 (still linked as ``service-desc``); not "html": the pages are JSON only.
CONFORMANCE: Final = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
DEFAULT_LIMIT: Final = 100
#: Largest page; a larger ``limit`` is served as this (the standard says: no error).
MAX_LIMIT: Final = 1000


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class LandingPage(BaseModel):
    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    conformsTo: list[str]


class SpatialExtent(BaseModel):
    bbox: list[list[float]]
    crs: str = CRS84


class Extent(BaseModel):
    spatial: SpatialExtent


class CollectionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"id": "lucknow-wards"}]})

    id: str
    title: str
    description: str
    links: list[Link]
    extent: Extent | None = None
    itemType: str = "feature"
    crs: list[str] = [CRS84]


class Collections(BaseModel):
    links: list[Link]
    collections: list[CollectionOut]


def _url(request: Request, name: str, **params: Any) -> str:
    return str(request.url_for(name, **params))


@router.get(
    "", name="ogc_landing_page", response_model=LandingPage, response_model_exclude_none=True
)
def landing_page(request: Request) -> LandingPage:
    """The entry point a GIS client is given (``https://host/ogc``)."""
    base = str(request.base_url).rstrip("/")
    return LandingPage(
        title="Wardplan: ward layers and approved CO plans",
        description="Each city's current wards and its approved plan (CO areas, wards with "
        "their CO) as OGC API – Features collections, GeoJSON in WGS 84.",
        links=[
            Link(href=_url(request, "ogc_landing_page"), rel="self", type=JSON, title="this page"),
            Link(href=base + (request.app.openapi_url or ""), rel="service-desc", type=OPENAPI),
            Link(href=base + (request.app.docs_url or ""), rel="service-doc", type="text/html"),
            Link(href=_url(request, "ogc_conformance"), rel="conformance", type=JSON),
            Link(href=_url(request, "ogc_collections"), rel="data", type=JSON),
        ],
    )


@router.get("/conformance", name="ogc_conformance", response_model=Conformance)
def conformance() -> Conformance:
    return Conformance(conformsTo=list(CONFORMANCE))


def _collection_out(
    request: Request, collection: service.Collection, bbox: service.BBox | None
) -> CollectionOut:
    return CollectionOut(
        id=collection.id,
        title=collection.title,
        description=collection.description,
        links=[
            Link(
                href=_url(request, "ogc_collection", collection_id=collection.id),
                rel="self",
                type=JSON,
            ),
            Link(
                href=_url(request, "ogc_items", collection_id=collection.id),
                rel="items",
                type=GEOJSON,
                title=collection.title,
            ),
        ],
        extent=None if bbox is None else Extent(spatial=SpatialExtent(bbox=[list(bbox)])),
    )


@router.get(
    "/collections",
    name="ogc_collections",
    response_model=Collections,
    response_model_exclude_none=True,
)
def collections(request: Request, session: SessionDep) -> Collections:
    """Each city's ``<city>-wards``, and ``<city>-plan-areas``/``<city>-plan-wards`` of its
    approved plan."""
    return Collections(
        links=[Link(href=_url(request, "ogc_collections"), rel="self", type=JSON)],
        collections=[
            _collection_out(request, c, service.extent(session, c))
            for c in service.list_collections(session)
        ],
    )


@router.get(
    "/collections/{collection_id}",
    name="ogc_collection",
    response_model=CollectionOut,
    response_model_exclude_none=True,
)
def collection(collection_id: str, request: Request, session: SessionDep) -> CollectionOut:
    found = service.get_collection(session, collection_id)
    return _collection_out(request, found, service.extent(session, found))


@router.get(
    "/collections/{collection_id}/items",
    name="ogc_items",
    response_model=FeatureCollection,
    response_class=GeoJSONResponse,
)
def items(
    collection_id: str,
    request: Request,
    session: SessionDep,
    # The schema states the maximum (as OGC API - Features' own OpenAPI does); a larger value is
    # still accepted and served as MAX_LIMIT, as the standard asks.
    limit: Annotated[
        int,
        Query(
            ge=1,
            description=f"page size; at most {MAX_LIMIT} (a larger one is served as {MAX_LIMIT})",
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[
        str | None, Query(max_length=200, description="minx,miny,maxx,maxy (WGS 84)")
    ] = None,
) -> JSONResponse:
    """One page of features, with ``next``/``prev`` links; only those meeting ``bbox`` if given."""
    found = service.get_collection(session, collection_id)
    box = parse_bbox(bbox) if bbox is not None else None
    limit = min(limit, MAX_LIMIT)
    page = service.items(session, found, limit=limit, offset=offset, bbox=box)
    here = request.url.remove_query_params("offset").remove_query_params("limit")

    def at(start: int) -> str:
        return str(here.include_query_params(limit=limit, offset=start))

    links = [
        Link(href=at(offset), rel="self", type=GEOJSON),
        Link(
            href=_url(request, "ogc_collection", collection_id=found.id),
            rel="collection",
            type=JSON,
        ),
    ]
    if offset + len(page.features) < page.matched:
        links.append(Link(href=at(offset + limit), rel="next", type=GEOJSON))
    if offset > 0:
        links.append(Link(href=at(max(0, offset - limit)), rel="prev", type=GEOJSON))
    body = {
        "type": "FeatureCollection",
        "features": page.features,
        "numberMatched": page.matched,
        "numberReturned": len(page.features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": [link.model_dump(exclude_none=True) for link in links],
    }
    return JSONResponse(body, media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id:path}",
    name="ogc_feature",
    response_class=GeoJSONResponse,
)
def feature(
    collection_id: str, feature_id: str, request: Request, session: SessionDep
) -> JSONResponse:
    """One feature: a ward by its ward id, or a CO area by the CO's id (an id may hold ``/``)."""
    found = service.get_collection(session, collection_id)
    body = service.item(session, found, feature_id)
    body["links"] = [
        Link(href=str(request.url), rel="self", type=GEOJSON).model_dump(exclude_none=True),
        Link(
            href=_url(request, "ogc_collection", collection_id=found.id),
            rel="collection",
            type=JSON,
        ).model_dump(exclude_none=True),
    ]
    return JSONResponse(body, media_type=GEOJSON)
