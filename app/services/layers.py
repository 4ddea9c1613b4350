"""Ward layers: store an uploaded file as a new immutable version, all or nothing; read them back."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.errors import NotFound
from app.core.options import LayerOptions as LayerOptions  # the one model, re-exported
from app.db.models import City, Ward, WardLayer, Zone
from app.pipeline import planning
from app.services import audit
from app.services.cities import Place, check_place, ensure_city, get_city
from app.services.frames import multipolygon
from gis.errors import InputError, Issue
from gis.layer import FileBytes
from gis.layer import WardLayer as GisWardLayer
from gis.sheets import read_ward_names
from gis.slum_points import POINT_TOLERANCE_M
from solver.poverty import DEFAULT_RATE

_UNSAFE = re.compile(r"[^A-Za-z0-9._()\- ]+")


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the name the client gave (only its last part is kept) and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class PovertyUploads:
    """The optional poverty sources of an upload (a ward-level table, a slum layer), a zone
    layer, and a sub-ward layer (the units of split wards)."""

    table: Upload | None = None
    slums: Upload | None = None
    zones: Upload | None = None
    subwards: Upload | None = None


@dataclass(frozen=True)
class StoredLayer:
    layer: WardLayer
    city: City
    ward_count: int
    warnings: list[str]
    #: The upload was identical to the current version, which is answered instead of a new one.
    identical: bool = False


def safe_name(filename: str | None, default: str) -> str:
    """An upload's name for messages (and the sandbox's own folder): the last path part, unusual
    characters replaced."""
    last = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE.sub("_", last).strip(" .")[:100]
    return name or default


def _in_memory(upload: Upload | None, default: str) -> FileBytes | None:
    """An upload as the readers take it: its (safe) name and bytes, never written to disk here."""
    return None if upload is None else FileBytes(safe_name(upload.filename, default), upload.data)


def read_upload(
    wards: Upload,
    population_table: Upload | None,
    options: LayerOptions,
    poverty: PovertyUploads = PovertyUploads(),
) -> GisWardLayer:
    """Read the uploads with ``planning.load_layer``, every one from memory: the sandboxed GDAL
    read writes a layer's bytes (the wards', the slum, zone and sub-ward layers') in its own
    private folder, and nothing else is written."""
    request = planning.LayerRequest(
        FileBytes(safe_name(wards.filename, "wards"), wards.data),
        options,
        population_table=_in_memory(population_table, "population.csv"),
        poverty_table=_in_memory(poverty.table, "poverty.csv"),
        slum_layer=_in_memory(poverty.slums, "slums"),
        zones=_in_memory(poverty.zones, "zones"),
        subward_layer=_in_memory(poverty.subwards, "subwards"),
    )
    return planning.load_layer(request)


def upload_layer(
    session: Session,
    city_code: str,
    wards: Upload,
    *,
    population_table: Upload | None = None,
    options: LayerOptions = LayerOptions(),
    place: Place | None = None,
    actor: str = "api",
    ward_names: Upload | None = None,
    poverty: PovertyUploads = PovertyUploads(),
    force: bool = False,
) -> StoredLayer:
    """Read, validate and store a ward layer as the city's next version and make it current.

    The city must exist, or ``place`` names the state (which must exist) and the district it is
    created in. The file is read completely before anything is written; any problem raises
    ``InputError`` and the caller's scope rolls back, so a refused upload leaves no row behind. The
    same files and options as the current version answer that version (``identical``) unless
    ``force``.
    """
    if not force:
        check_place(session, city_code, place)  # a conflicting place is refused even then
        extra = (ward_names, poverty.table, poverty.slums, poverty.zones, poverty.subwards)
        same = identical_current(session, city_code, (wards, population_table, *extra), options)
        if same is not None:
            return same
    layer = read_upload(wards, population_table, options, poverty)
    names = _ward_names(ward_names, layer)
    # every ward has a figure to estimate from: planning.load_layer refused the upload otherwise

    city = ensure_city(session, city_code, place, actor=actor)
    version = (
        session.scalar(select(func.max(WardLayer.version)).where(WardLayer.city_id == city.id)) or 0
    ) + 1
    # the poverty table, slum and zone layers are among layer.sources already (as joined)
    uploads = [(population_table, "population.csv"), (ward_names, "ward_names.csv")]
    row = WardLayer(
        created_at=func.clock_timestamp(),  # when it is stored, not when the transaction began
        city_id=city.id,
        version=version,
        uploaded_by=actor,
        source_filename=safe_name(wards.filename, "wards"),
        sha256=hashlib.sha256(wards.data).hexdigest(),
        source_crs=layer.source_crs,
        data_source=(options.source or "").strip() or None,
        data_licence=(options.licence or "").strip() or None,
        validation_report=_report(layer, options, uploads),
        field_mapping={k: v for k, v in asdict(options.mapping).items() if v is not None},
    )
    session.add(row)
    session.flush()
    zones = _zones(session, city, layer)
    session.add_all(_ward_rows(row.id, layer, names, zones))
    city.current_layer_id = row.id
    audit.record(
        session,
        actor,
        "layer.upload",
        "ward_layer",
        row.id,
        city=city.code,
        version=version,
        wards=len(layer),
    )
    session.flush()
    return StoredLayer(row, city, len(layer), list(layer.warnings))


def _ward_rows(
    layer_id: int,
    layer: GisWardLayer,
    names: dict[str, tuple[str | None, str | None]],
    zones: dict[str, int],
) -> list[Ward]:
    """The stored rows of a layer's wards (names from the names table first, then the layer's)."""
    return [
        Ward(
            layer_id=layer_id,
            ward_id=str(w.ward_id),
            name=names.get(str(w.ward_id), (None, None))[0] or _text(w.ward_name),
            name_hi=names.get(str(w.ward_id), (None, None))[1],
            zone_id=zones.get(str(w.zone)) if _text(w.zone) else None,
            population=None if _nan(w.population) else round(float(w.population)),
            households=None if _nan(w.households) else round(float(w.households)),
            poor_households=(
                None if _nan(w.poor_households) else Decimal(f"{float(w.poor_households):.2f}")
            ),
            geom=multipolygon(w.geometry),
        )
        for w in layer.wards.itertuples()
    ]


def _report(
    layer: GisWardLayer, options: LayerOptions, uploads: list[tuple[Upload | None, str]]
) -> dict[str, object]:
    """The layer version's validation report: warnings, sources, per-ward provenance, options."""
    sources = [asdict(s) for s in layer.sources]
    sources += [
        {
            "path": safe_name(upload.filename, default),
            "sha256": hashlib.sha256(upload.data).hexdigest(),
        }
        for upload, default in uploads
        if upload is not None
    ]
    return {
        "warnings": list(layer.warnings),
        "ward_count": len(layer),
        "sources": sources,
        "poverty_sources": dict(layer.poverty_sources),
        "split_wards": {u: list(p) for u, p in layer.parents.items()},
        "unnumbered": layer.unnumbered,
        "options": _chosen_options(options),
    }


def _ward_names(
    upload: Upload | None, layer: GisWardLayer
) -> dict[str, tuple[str | None, str | None]]:
    """``{ward_id: (name_en, name_hi)}`` from the upload's names table (CSV ``ward_id,name_en,
    name_hi``, as ``--ward-names`` takes it); a ward it does not name keeps the layer's name."""
    names = _in_memory(upload, "ward_names.csv")
    if names is None:
        return {}
    table = read_ward_names(names, [str(w) for w in layer.wards["ward_id"]])
    return {
        str(ward): (_text(row["name_en"]), _text(row["name_hi"])) for ward, row in table.iterrows()
    }


#: Layer options added after layers were stored, with their defaults.
_LATER_OPTIONS: dict[str, object] = {
    "slum_point_metres": POINT_TOLERANCE_M,
    "subward_id_field": None,
    "subward_population_field": None,
    "subward_households_field": None,
}


def _chosen_options(options: LayerOptions) -> dict[str, object]:
    """The options as the validation report stores them (JSON types, no field mapping)."""
    chosen = asdict(options)
    del chosen["mapping"]
    if chosen["rate"] == DEFAULT_RATE:  # stored before the split decision's rate was an option
        del chosen["rate"]
    for name, default in _LATER_OPTIONS.items():  # likewise: at their default, as stored before
        if chosen[name] == default:
            del chosen[name]
    return cast(dict[str, object], json.loads(json.dumps(chosen)))


def identical_current(
    session: Session,
    city_code: str,
    uploads: tuple[Upload | None, ...],
    options: LayerOptions,
) -> StoredLayer | None:
    """The city's current version when it was made from the same bytes and options, else None.

    ``uploads``: the ward file first, then every other file of the upload (tables, layers)."""
    city = session.scalars(select(City).where(City.code == city_code)).one_or_none()
    if city is None or city.current_layer_id is None:
        return None
    layer = session.get_one(WardLayer, city.current_layer_id)
    report = layer.validation_report or {}
    digests = {hashlib.sha256(u.data).hexdigest() for u in uploads if u is not None}
    stored = {str(s.get("sha256")) for s in report.get("sources", [])}
    same_options = report.get("options") == _chosen_options(options) and (
        layer.field_mapping == {k: v for k, v in asdict(options.mapping).items() if v is not None}
    )
    if digests != stored or not same_options:
        return None
    note = (
        f"identical to version {layer.version} (the same files and options): nothing new "
        "was stored; send force=true to store it as a new version"
    )
    warnings = [*report.get("warnings", []), note]
    return StoredLayer(layer, city, ward_count(session, layer), warnings, identical=True)


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _text(value: object) -> str | None:
    return None if _nan(value) or str(value).strip() == "" else str(value)


def _zones(session: Session, city: City, layer: GisWardLayer) -> dict[str, int]:
    names = sorted({str(z) for z in layer.wards["zone"] if _text(z)})
    if not names:
        return {}
    rows = session.execute(
        select(Zone.name, Zone.id).where(Zone.city_id == city.id, Zone.name.in_(names))
    ).all()
    existing = {name: pk for name, pk in rows}
    for name in names:
        if name not in existing:
            zone = Zone(city_id=city.id, name=name)
            session.add(zone)
            session.flush()
            existing[name] = zone.id
    return existing


def list_layers(session: Session, city_code: str) -> list[tuple[WardLayer, int]]:
    city = get_city(session, city_code)
    rows = session.execute(
        select(WardLayer, func.count(Ward.id))
        .outerjoin(Ward, Ward.layer_id == WardLayer.id)
        .where(WardLayer.city_id == city.id)
        .group_by(WardLayer.id)
        .order_by(WardLayer.version)
    ).all()
    return [(layer, count) for layer, count in rows]


def get_layer(session: Session, city_code: str, version: int) -> tuple[City, WardLayer]:
    city = get_city(session, city_code)
    layer = session.scalars(
        select(WardLayer).where(WardLayer.city_id == city.id, WardLayer.version == version)
    ).one_or_none()
    if layer is None:
        raise NotFound("layer not found", f"{city_code!r} has no layer version {version}")
    return city, layer


def ward_count(session: Session, layer: WardLayer) -> int:
    return session.scalar(select(func.count(Ward.id)).where(Ward.layer_id == layer.id)) or 0


#: Most wards one page of ``wards_geojson`` returns.
MAX_PAGE = 1000


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minx,miny,maxx,maxy`` in WGS 84 degrees."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    ok = len(values) == 4 and all(v == v and abs(v) != float("inf") for v in values)
    if ok:
        minx, miny, maxx, maxy = values
        ok = -180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90
    if not ok:
        raise InputError(
            "bbox must be minx,miny,maxx,maxy in degrees (WGS 84), min < max",
            [Issue("bad-bbox", "not four ordered numbers", field="bbox", value=text)],
            code="bad-bbox",
        )
    return values[0], values[1], values[2], values[3]


def wards_geojson(
    session: Session,
    city_code: str,
    version: int,
    *,
    limit: int,
    offset: int,
    bbox: tuple[float, float, float, float] | None = None,
) -> dict[str, object]:
    """One page of a layer's wards as a GeoJSON FeatureCollection, in file order."""
    _city, layer = get_layer(session, city_code, version)
    conditions = [Ward.layer_id == layer.id]
    if bbox is not None:
        conditions.append(func.ST_Intersects(Ward.geom, func.ST_MakeEnvelope(*bbox, 4326)))
    matched = session.scalar(select(func.count(Ward.id)).where(*conditions)) or 0
    rows = session.execute(
        select(Ward, Zone.name, func.ST_AsGeoJSON(Ward.geom, 7))
        .outerjoin(Zone, Ward.zone_id == Zone.id)
        .where(*conditions)
        .order_by(Ward.id)
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    ).all()
    features = [
        {
            "type": "Feature",
            "id": ward.ward_id,
            "properties": {
                "ward_id": ward.ward_id,
                "ward_name": ward.name,
                "ward_name_hi": ward.name_hi,
                "zone": zone,
                "population": ward.population,
                "households": ward.households,
                "poor_households": (
                    None if ward.poor_households is None else float(ward.poor_households)
                ),
            },
            "geometry": json.loads(geometry),
        }
        for ward, zone, geometry in rows
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
    }
