from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile

from app.api.deps import CityCode, GisCell, Reader, SessionDep
from app.api.intake import IntakeForm
from app.api.schemas import PROBLEM_RESPONSES, FeatureCollection, LayerOut
from app.core.options import LayerOptions
from app.db.models import City, WardLayer
from app.services import layers as service
from app.services.cities import InvalidPlace, Place
from gis.fields import FieldMapping

router = APIRouter(tags=["layers"], responses=PROBLEM_RESPONSES)

OptionalText = Annotated[str | None, Form(max_length=200)]
IdsText = Annotated[str | None, Form(max_length=2000, description="ward ids, comma-separated")]


def layer_out(city: City, layer: WardLayer, ward_count: int) -> LayerOut:
    return LayerOut(
        city=city.code,
        version=layer.version,
        ward_count=ward_count,
        source_filename=layer.source_filename,
        sha256=layer.sha256,
        source_crs=layer.source_crs,
        current=city.current_layer_id == layer.id,
        uploaded_by=layer.uploaded_by,
        created_at=layer.created_at,
        field_mapping=layer.field_mapping,
        warnings=[str(w) for w in layer.validation_report.get("warnings", [])],
        source=layer.data_source,
        licence=layer.data_licence,
    )


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def read_upload(upload: UploadFile, default_name: str) -> service.Upload:
    """The uploaded part's bytes (routes are sync: reading and solving run in the thread pool)."""
    upload.file.seek(0)
    return service.Upload(upload.filename or default_name, upload.file.read())


class LayerFieldsForm:
    """The layer upload's reading options: column names, CRS, exclusions, the data's credit
    (FastAPI reads them by name); :meth:`options` makes the one option model of them."""

    def __init__(  # noqa: PLR0913 - one form field each
        self,
        id_field: OptionalText = None,
        name_field: OptionalText = None,
        zone_field: OptionalText = None,
        population_field: OptionalText = None,
        households_field: OptionalText = None,
        poor_households_field: OptionalText = None,
        table_key: OptionalText = None,
        exclude: IdsText = None,
        merge: IdsText = None,
        crs: OptionalText = None,
        source: Annotated[
            str | None,
            Form(
                max_length=300,
                description="the data's source, printed as its credit (none: no credit)",
            ),
        ] = None,
        licence: Annotated[
            str | None, Form(max_length=300, description="the data's licence, e.g. CC BY 4.0")
        ] = None,
    ) -> None:
        self.mapping = FieldMapping(
            ward_id=id_field or None,
            ward_name=name_field or None,
            zone=zone_field or None,
            population=population_field or None,
            households=households_field or None,
            poor_households=poor_households_field or None,
        )
        self.crs, self.table_key = crs or None, table_key or None
        self.exclude, self.merge = _ids(exclude), _ids(merge)
        self.source, self.licence = source or None, licence or None

    def options(self) -> LayerOptions:
        return LayerOptions(
            mapping=self.mapping,
            crs=self.crs,
            exclude_ids=self.exclude,
            merge_ids=self.merge,
            table_key=self.table_key,
            source=self.source,
            licence=self.licence,
        )


class PlaceForm:
    """Where a new city goes: ``state`` and ``district`` (and names for new ones)."""

    def __init__(
        self,
        state: Annotated[
            str | None, Form(max_length=10, description="a new city's state code, e.g. UP")
        ] = None,
        district: Annotated[
            str | None, Form(max_length=200, description="a new city's district (code or name)")
        ] = None,
        city_name: Annotated[
            str | None, Form(max_length=200, description="a new city's name")
        ] = None,
        state_name: Annotated[
            str | None,
            Form(max_length=200, description="a new state's name (created with the city)"),
        ] = None,
    ) -> None:
        self.state, self.district = state, district
        self.city_name, self.state_name = city_name, state_name

    def place(self) -> Place | None:
        if not (self.state or self.district):
            return None
        if not (self.state and self.district):
            raise InvalidPlace("state and district go together", "name both, or neither")
        return Place(self.state, self.district, self.city_name or None, self.state_name or None)


@router.post(
    "/cities/{city}/layers",
    status_code=201,
    response_model=LayerOut,
    responses={200: {"model": LayerOut, "description": "identical to the current version"}},
)
def upload_layer(
    city: CityCode,
    session: SessionDep,
    caller: GisCell,
    response: Response,
    file: Annotated[UploadFile, File(description="zipped shapefile, GeoJSON, KML or GeoPackage")],
    fields: Annotated[LayerFieldsForm, Depends()],
    intake: Annotated[IntakeForm, Depends()],
    where: Annotated[PlaceForm, Depends()],
    population_table: Annotated[UploadFile | None, File(description="census CSV")] = None,
    force: Annotated[
        bool, Form(description="store a new version even when identical to the current one")
    ] = False,
) -> LayerOut:
    """Store a new version of the city's ward layer (all or nothing) and make it current; the same
    files and options as the current version answer that version (200, ``identical``).

    The city must exist (``POST /cities``), or ``state`` and ``district`` say where the new city
    goes: the district is created when the state has none of that name, the state only when
    ``state_name`` is given too."""
    wards = read_upload(file, "wards")
    table = (
        read_upload(population_table, "population.csv") if population_table is not None else None
    )
    stored = service.upload_layer(
        session,
        city,
        wards,
        population_table=table,
        options=intake.options(fields.options()),
        place=where.place(),
        actor=caller.name,
        ward_names=intake.ward_names(),
        poverty=intake.poverty(),
        force=force,
    )
    out = layer_out(stored.city, stored.layer, stored.ward_count)
    if stored.identical:
        response.status_code = 200
        return out.model_copy(update={"identical": True, "warnings": stored.warnings})
    return out


@router.get("/cities/{city}/layers", response_model=list[LayerOut])
def list_layers(city: CityCode, session: SessionDep, _caller: Reader) -> list[LayerOut]:
    rows = service.list_layers(session, city)
    return [layer_out(layer.city, layer, count) for layer, count in rows]


@router.get("/cities/{city}/layers/{version}", response_model=LayerOut)
def get_layer(city: CityCode, version: int, session: SessionDep, _caller: Reader) -> LayerOut:
    found_city, layer = service.get_layer(session, city, version)
    return layer_out(found_city, layer, service.ward_count(session, layer))


@router.get(
    "/cities/{city}/layers/{version}/wards",
    response_model=FeatureCollection,
)
def layer_wards(
    city: CityCode,
    version: int,
    session: SessionDep,
    _caller: Reader,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[str | None, Query(max_length=200, description="minx,miny,maxx,maxy")] = None,
) -> FeatureCollection:
    """One page of the layer's wards as GeoJSON (WGS 84), optionally only those meeting ``bbox``."""
    box = service.parse_bbox(bbox) if bbox is not None else None
    page = service.wards_geojson(session, city, version, limit=limit, offset=offset, bbox=box)
    return FeatureCollection.model_validate(page)
