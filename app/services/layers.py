"""Ward layers: store an uploaded file as a new immutable version, all or nothing; read them back."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import planning
from app.db.models import City, Ward, WardLayer, Zone
from app.errors import NotFound
from app.services import audit
from app.services.cities import Place, ensure_city, get_city
from app.services.frames import multipolygon
from gis.errors import InputError, Issue
from gis.fields import FieldMapping
from gis.layer import WardLayer as GisWardLayer

_UNSAFE = re.compile(r"[^A-Za-z0-9._()\- ]+")


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the name the client gave (only its last part is kept) and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class LayerOptions:
    mapping: FieldMapping = field(default_factory=FieldMapping)
    crs: str | None = None
    exclude_ids: tuple[str, ...] = ()
    merge_ids: tuple[str, ...] = ()
    table_key: str | None = None


@dataclass(frozen=True)
class StoredLayer:
    layer: WardLayer
    city: City
    ward_count: int
    warnings: list[str]


def safe_name(filename: str | None, default: str) -> str:
    """A file name for a server-made temp dir: the last path part, unusual characters replaced."""
    last = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE.sub("_", last).strip(" .")[:100]
    return name or default


def read_upload(
    tmp: Path, wards: Upload, population_table: Upload | None, options: LayerOptions
) -> GisWardLayer:
    """Write the uploads into ``tmp`` (server-made) and read them with ``planning.load_layer``."""
    wards_path = tmp / "layer" / safe_name(wards.filename, "wards")
    wards_path.parent.mkdir()
    wards_path.write_bytes(wards.data)
    table_path = None
    if population_table is not None:
        table_path = tmp / "table" / safe_name(population_table.filename, "population.csv")
        table_path.parent.mkdir()
        table_path.write_bytes(population_table.data)
    request = planning.LayerRequest(
        wards=wards_path,
        mapping=options.mapping,
        crs=options.crs,
        exclude_ids=options.exclude_ids,
        merge_ids=options.merge_ids,
        population_table=table_path,
        table_key=options.table_key,
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
) -> StoredLayer:
    """Read, validate and store a ward layer as the city's next version and make it current.

    The city must exist, or ``place`` names the state (which must exist) and the district it is
    created in. The file is read completely before anything is written; any problem raises
    ``InputError`` and the caller's scope rolls back, so a refused upload leaves no row behind.
    """
    with tempfile.TemporaryDirectory(prefix="wardplan-api-") as tmp:
        layer = read_upload(Path(tmp), wards, population_table, options)
    _check_storable(layer, safe_name(wards.filename, "wards"))

    city = ensure_city(session, city_code, place, actor=actor)
    version = (
        session.scalar(select(func.max(WardLayer.version)).where(WardLayer.city_id == city.id)) or 0
    ) + 1
    sources = [asdict(s) for s in layer.sources]
    if population_table is not None:
        sources.append(
            {
                "path": safe_name(population_table.filename, "population.csv"),
                "sha256": hashlib.sha256(population_table.data).hexdigest(),
            }
        )
    row = WardLayer(
        city_id=city.id,
        version=version,
        uploaded_by=actor,
        source_filename=safe_name(wards.filename, "wards"),
        sha256=hashlib.sha256(wards.data).hexdigest(),
        source_crs=layer.source_crs,
        validation_report={
            "warnings": list(layer.warnings),
            "ward_count": len(layer),
            "sources": sources,
            "options": {
                "crs": options.crs,
                "exclude_ids": list(options.exclude_ids),
                "merge_ids": list(options.merge_ids),
                "table_key": options.table_key,
            },
        },
        field_mapping={k: v for k, v in asdict(options.mapping).items() if v is not None},
    )
    session.add(row)
    session.flush()
    zones = _zones(session, city, layer)
    session.add_all(
        Ward(
            layer_id=row.id,
            ward_id=str(w.ward_id),
            name=_text(w.ward_name),
            zone_id=zones.get(str(w.zone)) if _text(w.zone) else None,
            population=round(float(w.population)),
            households=None if _nan(w.households) else round(float(w.households)),
            poor_households=(
                None if _nan(w.poor_households) else Decimal(f"{float(w.poor_households):.2f}")
            ),
            geom=multipolygon(w.geometry),
        )
        for w in layer.wards.itertuples()
    )
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


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _text(value: object) -> str | None:
    return None if _nan(value) or str(value).strip() == "" else str(value)


def _check_storable(layer: GisWardLayer, label: str) -> None:
    """The database needs each ward's population (the estimate may rest on households instead)."""
    missing = [
        Issue(
            "missing-population",
            "a stored layer needs each ward's population",
            file=label,
            ward_id=str(w.ward_id),
            field="population",
        )
        for w in layer.wards.itertuples()
        if _nan(w.population)
    ]
    if missing:
        raise InputError(
            f"{len(missing)} ward(s) have no population: name the population column or send "
            "a population table",
            missing,
            code="missing-population",
        )


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
