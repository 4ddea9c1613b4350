from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from app.api.deps import CityCode, GisCell, Reader, SessionDep
from app.db.models import City, WardLayer
from app.schemas import PROBLEM_RESPONSES, FeatureCollection, LayerOut
from app.services import layers as service
from gis.errors import InputError, Issue
from gis.fields import FieldMapping
from gis.unnumbered import UnnumberedRule, parse_feature_ids, parse_features
from solver.poverty import DEFAULT_HOUSEHOLD_SIZE

router = APIRouter(tags=["layers"], responses=PROBLEM_RESPONSES)

OptionalText = Annotated[str | None, Form(max_length=200)]


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
    )


def _ids(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _split_pairs(text: str | None) -> tuple[tuple[str, int], ...]:
    """``"P/N=3, L=2"`` → ``(("P/N", 3), ("L", 2))``; ``InputError`` for anything else."""
    pairs = []
    for item in _ids(text):
        ward, _, units = item.rpartition("=")
        if not ward.strip() or not units.strip().isdigit() or int(units) < 2:
            raise InputError(
                "split_wards: write WARD=UNITS pairs, e.g. 57=3 (2 or more units)",
                [Issue("bad-option", "not WARD=UNITS", field="split_wards", value=item)],
                code="bad-option",
            )
        pairs.append((ward.strip(), int(units)))
    return tuple(pairs)


def read_upload(upload: UploadFile, default_name: str) -> service.Upload:
    """The uploaded part's bytes (routes are sync: reading and solving run in the thread pool)."""
    upload.file.seek(0)
    return service.Upload(upload.filename or default_name, upload.file.read())


@router.post("/cities/{city}/layers", status_code=201, response_model=LayerOut)
def upload_layer(
    city: CityCode,
    session: SessionDep,
    caller: GisCell,
    file: Annotated[UploadFile, File(description="zipped shapefile, GeoJSON, KML or GeoPackage")],
    population_table: Annotated[UploadFile | None, File(description="census CSV")] = None,
    ward_names: Annotated[
        UploadFile | None, File(description="CSV ward_id,name_en,name_hi (UTF-8)")
    ] = None,
    poverty_table: Annotated[
        UploadFile | None, File(description="CSV of poor/slum households per ward")
    ] = None,
    slum_layer: Annotated[
        UploadFile | None, File(description="slum polygons (any ward-layer format)")
    ] = None,
    zones_layer: Annotated[
        UploadFile | None, File(description="zone polygons: each ward to the zone it overlaps most")
    ] = None,
    zones_field: OptionalText = None,
    split_above: Annotated[
        float | None,
        Form(gt=0, allow_inf_nan=False, description="split wards above this many poor households"),
    ] = None,
    split_wards: Annotated[
        str | None, Form(max_length=2000, description="WARD=UNITS pairs, comma-separated")
    ] = None,
    poverty_key: OptionalText = None,
    poverty_column: OptionalText = None,
    slum_id_field: OptionalText = None,
    slum_households_field: OptionalText = None,
    slum_population_field: OptionalText = None,
    slum_households_total: Annotated[
        float | None, Form(gt=0, allow_inf_nan=False, description="slum households to spread")
    ] = None,
    household_size: Annotated[
        float, Form(gt=0, le=20, allow_inf_nan=False, description="persons per household")
    ] = DEFAULT_HOUSEHOLD_SIZE,
    id_field: OptionalText = None,
    name_field: OptionalText = None,
    zone_field: OptionalText = None,
    population_field: OptionalText = None,
    households_field: OptionalText = None,
    poor_households_field: OptionalText = None,
    table_key: OptionalText = None,
    exclude: Annotated[
        str | None, Form(max_length=2000, description="ward ids, comma-separated")
    ] = None,
    merge: Annotated[
        str | None, Form(max_length=2000, description="ward ids, comma-separated")
    ] = None,
    crs: OptionalText = None,
    exclude_features: Annotated[
        str | None,
        Form(max_length=2000, description="feature numbers to leave out, comma-separated"),
    ] = None,
    feature_ids: Annotated[
        str | None,
        Form(
            max_length=2000, description="FEATURE=ID pairs giving features an id, comma-separated"
        ),
    ] = None,
    sliver_max_m2: Annotated[
        float | None,
        Form(
            ge=0,
            allow_inf_nan=False,
            description="features with no id below this area (m²) are absorbed",
        ),
    ] = None,
) -> LayerOut:
    """Store a new version of the city's ward layer (all or nothing) and make it current."""
    wards = read_upload(file, "wards")
    table = (
        read_upload(population_table, "population.csv") if population_table is not None else None
    )
    options = service.LayerOptions(
        mapping=FieldMapping(
            ward_id=id_field or None,
            ward_name=name_field or None,
            zone=zone_field or None,
            population=population_field or None,
            households=households_field or None,
            poor_households=poor_households_field or None,
        ),
        crs=crs or None,
        exclude_ids=_ids(exclude),
        merge_ids=_ids(merge),
        table_key=table_key or None,
        poverty_key=poverty_key or None,
        poverty_column=poverty_column or None,
        slum_id_field=slum_id_field or None,
        slum_households_field=slum_households_field or None,
        slum_population_field=slum_population_field or None,
        slum_households_total=slum_households_total,
        household_size=household_size,
        zones_field=zones_field or None,
        split_above=split_above,
        split=_split_pairs(split_wards),
        unnumbered=UnnumberedRule(
            sliver_max_m2,
            parse_features(_ids(exclude_features), "exclude_features"),
            parse_feature_ids(_ids(feature_ids), "feature_ids"),
        ),
    )
    names = read_upload(ward_names, "ward_names.csv") if ward_names is not None else None
    stored = service.upload_layer(
        session,
        city,
        wards,
        population_table=table,
        options=options,
        actor=caller.name,
        ward_names=names,
        poverty=service.PovertyUploads(
            read_upload(poverty_table, "poverty.csv") if poverty_table is not None else None,
            read_upload(slum_layer, "slums") if slum_layer is not None else None,
            read_upload(zones_layer, "zones") if zones_layer is not None else None,
        ),
    )
    return layer_out(stored.city, stored.layer, stored.ward_count)


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
