"""Hostile and broken ward files through ``POST /cities/{city}/layers``: the reject contract.

Each case breaks one thing in a real file (see ``tests/app/hostile.py``). For every refusal:
a problem+json 4xx of the expected ``type`` whose detail names the file and what is wrong, no stack
trace or server path in it, the same rows in every domain table, no file left in the temp dir,
the health check still answering — and the local listener, which several files point at, saw no
connection. ``AREAS`` counts the cases per RELIABILITY.md area (``RELIABILITY.md`` quotes them).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import shapely
import shapely.geometry
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from tests.app.apihelp import counts, expect_problem
from tests.app.hostile import (
    Base,
    Listener,
    deflated,
    gdalg,
    kml_document,
    listening,
    load_base,
    mark_encrypted,
    patch_method,
    patch_sizes,
    symlink,
    vrt,
)

pytestmark = pytest.mark.slow

SHP = "Lucknow_ward_boundary-SHP/Lucknow Ward Boundary"
LUCKNOW_FORM = {"exclude": "0"}


def polygon(x: float = 76.75, y: float = 30.72, size: float = 0.01) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass(frozen=True)
class Case:
    """One hostile upload: how to build it, and the refusal it must get."""

    id: str
    area: str
    build: Callable[[Base, Listener], tuple[str, bytes]]
    status: int
    type: str
    says: str
    form: dict[str, str] = field(default_factory=dict)


def gj(make: Callable[[Base, Listener], bytes], name: str = "wards.geojson") -> Any:
    return lambda base, listener: (name, make(base, listener))


def zp(make: Callable[[Base, Listener], bytes], name: str = "wards.zip") -> Any:
    return lambda base, listener: (name, make(base, listener))


def many_members(base: Base) -> bytes:
    return base.zip(*((f"extra/{k}.txt", b"x") for k in range(201)))


def swap_axes(base: Base) -> bytes:
    """The whole layer with longitude and latitude exchanged (a CSV-to-GIS slip)."""
    features = base.features()
    for feat in features:
        geometry = shapely.geometry.shape(feat["geometry"])
        flipped = shapely.transform(geometry, lambda xy: xy[:, ::-1])
        feat["geometry"] = shapely.geometry.mapping(flipped)
    return base.with_features(features)


def too_many_vertices(base: Base) -> bytes:
    import math

    ring = [
        [76.75 + 0.01 * math.cos(t / 1000), 30.72 + 0.01 * math.sin(t / 1000)]
        for t in range(0, 6284)
    ]
    ring.append(ring[0])
    return base.with_geometry(0, {"type": "Polygon", "coordinates": [ring]})


CASES = [
    # --- archives ---------------------------------------------------------------------------------
    Case(
        "zip-declares-600MB",
        "Archives",
        zp(lambda b, _: patch_sizes(b.zip(), f"{SHP}.shp", 600 * 1024 * 1024)),
        400,
        "bad-archive",
        "inflates to more than 500 MB",
    ),
    Case(
        "zip-lies-small-inflates-1MB",
        "Archives",
        zp(lambda b, _: patch_sizes(b.zip(deflated("pad.txt", b"\0" * 1_000_000)), "pad.txt", 10)),
        400,
        "bad-archive",
        "corrupt",
    ),
    *(
        Case(
            f"zip-member-{label}",
            "Archives",
            zp(lambda b, _, n=name: b.zip((n, b"x"))),
            400,
            "bad-archive",
            says,
        )
        for label, name, says in (
            ("dotdot", "../evil.shp", "outside the archive"),
            ("deep-dotdot", "a/../../evil.shp", "outside the archive"),
            ("backslash-dotdot", "..\\evil.shp", "outside the archive"),
            ("absolute", "/etc/evil.shp", "absolute path"),
            ("drive-letter", "C:\\evil.shp", "absolute path"),
            ("nested-zip", "inner.zip", "archive inside the archive"),
            ("nested-kmz", "sub/doc.KMZ", "archive inside the archive"),
            ("duplicate", f"{SHP}.dbf", "more than once"),
            ("duplicate-other-case", f"{SHP}.DBF", "more than once"),
            ("second-shapefile", "zones/Zones.shp", "2 shapefiles in one zip"),
            ("file-and-folder", f"{SHP}.shp/x.txt", "cannot be extracted"),
        )
    ),
    Case(
        "zip-symlink",
        "Archives",
        zp(lambda b, _: b.zip(symlink("link.cpg", "/etc/passwd"))),
        400,
        "bad-archive",
        "symbolic link",
    ),
    Case(
        "zip-encrypted-member",
        "Archives",
        zp(lambda b, _: mark_encrypted(b.zip(("secret.txt", b"x" * 64)), "secret.txt")),
        400,
        "bad-archive",
        "encrypted",
    ),
    Case(
        "zip-unknown-method",
        "Archives",
        zp(lambda b, _: patch_method(b.zip(), 99)),
        400,
        "bad-archive",
        "compression method",
    ),
    Case(
        "zip-truncated",
        "Archives",
        zp(lambda b, _: b.zip()[:5000]),
        400,
        "bad-archive",
        "corrupt",
    ),
    Case(
        "zip-201-members",
        "Archives",
        zp(lambda b, _: many_members(b)),
        400,
        "bad-archive",
        "more than the 200 allowed",
    ),
    Case(
        "zip-only-junk",
        "Archives",
        zp(lambda b, _: b.zip(drop=(".shp", ".shx", ".dbf", ".prj", ".qpj"))),
        400,
        "bad-archive",
        "no .shp file",
    ),
    Case(
        "zip-no-shx",
        "Archives",
        zp(lambda b, _: b.zip(drop=(".shx",))),
        400,
        "missing-sidecar",
        ".shx is missing",
    ),
    Case(
        "zip-no-dbf",
        "Archives",
        zp(lambda b, _: b.zip(drop=(".dbf",))),
        400,
        "missing-sidecar",
        ".dbf is missing",
    ),
    # --- GDAL safety: files that point at the listener --------------------------------------------
    Case(
        "kml-networklink",
        "GDAL safety",
        gj(
            lambda _, li: kml_document(
                f"<NetworkLink><Link><href>{li.url}/n.kml</href></Link></NetworkLink>"
            ),
            "wards.kml",
        ),
        400,
        "bad-kml",
        "networklink",
    ),
    Case(
        "kml-xxe-external-entity",
        "GDAL safety",
        gj(
            lambda _, li: kml_document(
                "<name>&x;</name>", f'<!DOCTYPE kml [<!ENTITY x SYSTEM "{li.url}/xxe">]>'
            ),
            "wards.kml",
        ),
        400,
        "bad-kml",
        "!doctype",
    ),
    Case(
        "kml-billion-laughs",
        "GDAL safety",
        gj(
            lambda _, __: kml_document(
                "<name>&l3;</name>",
                '<!DOCTYPE kml [<!ENTITY l0 "ha"><!ENTITY l1 "&l0;&l0;&l0;&l0;&l0;&l0;&l0;">'
                '<!ENTITY l2 "&l1;&l1;&l1;&l1;&l1;&l1;&l1;"><!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;">]>',
            ),
            "wards.kml",
        ),
        400,
        "bad-kml",
        "!doctype",
    ),
    Case(
        "kml-root-is-not-kml",
        "GDAL safety",
        gj(
            lambda b, _: (
                b"<!-- <kml> --><gml:FeatureCollection xmlns:gml='http://www.opengis.net/gml'/>"
            ),
            "wards.kml",
        ),
        400,
        "bad-kml",
        "not kml",
    ),
    Case(
        "kml-not-well-formed",
        "GDAL safety",
        gj(lambda b, _: b.kml[: len(b.kml) // 2], "wards.kml"),
        400,
        "bad-kml",
        "not well-formed",
    ),
    Case(
        "geojson-crs-link-to-listener",
        "GDAL safety",
        gj(
            lambda b, li: b.geojson_bytes(
                crs={"type": "link", "properties": {"href": f"{li.url}/crs", "type": "proj4"}}
            )
        ),
        422,
        "bad-crs",
        "'crs' member",
    ),
    Case(
        "geojson-crs-name-is-url",
        "GDAL safety",
        gj(
            lambda b, li: b.geojson_bytes(
                crs={"type": "name", "properties": {"name": f"{li.url}/crs"}}
            )
        ),
        422,
        "bad-crs",
        "'crs' member",
    ),
    Case(
        "vrt-as-geojson",
        "GDAL safety",
        gj(lambda _, li: vrt(li.url).encode()),
        400,
        "unsupported-format",
        "not a zipped shapefile",
    ),
    Case(
        "vrt-behind-kml-comment",
        "GDAL safety",
        gj(lambda _, li: ("<!-- <kml> -->" + vrt(li.url)).encode()),
        400,
        "unsupported-format",
        "ogrvrtdatasource",
    ),
    Case(
        "vrt-inside-geojson-string",
        "GDAL safety",
        gj(lambda b, li: b.geojson_bytes(name=vrt(li.url))),
        400,
        "unsupported-format",
        "ogrvrtdatasource",
    ),
    Case(
        "gdalg-pipeline-as-geojson",
        "GDAL safety",
        gj(lambda _, li: gdalg(li.url)),
        400,
        "unsupported-format",
        "gdal_streamed_alg",
    ),
    Case(
        "gdalg-pipeline-as-shp",
        "GDAL safety",
        zp(lambda b, li: b.zip((f"{SHP}.shp", gdalg(li.url)), drop=(".shp",))),
        400,
        "bad-archive",
        "not a shapefile",
    ),
    Case(
        "bare-shp",
        "GDAL safety",
        lambda b, _: (
            "wards.shp",
            next(d for i, d in b.zip_members if i.filename.endswith(".shp")),
        ),
        400,
        "unsupported-format",
        "bare .shp",
    ),
    Case(
        "csv-as-wards",
        "GDAL safety",
        gj(lambda _, __: b"ward_no,population,WKT\n1,5,POLYGON((0 0,1 0,1 1,0 0))\n", "w.csv"),
        400,
        "unsupported-format",
        "not a zipped shapefile",
    ),
    Case(
        "sqlite-not-gpkg",
        "GDAL safety",
        gj(lambda _, __: b"SQLite format 3\x00" + b"\x00" * 200, "wards.gpkg"),
        400,
        "unreadable",
        "could not be read",
    ),
    # --- CRS --------------------------------------------------------------------------------------
    Case(
        "zip-no-prj-no-crs",
        "CRS",
        zp(lambda b, _: b.zip(drop=(".prj", ".qpj"))),
        400,
        "missing-sidecar",
        ".prj is missing (or name the CRS",
    ),
    Case(
        "crs-form-is-url",
        "CRS",
        gj(lambda b, _: b.geojson_bytes()),
        422,
        "bad-crs",
        "give an authority code",
        {"crs": "http://127.0.0.1:9/crs"},
    ),
    Case(
        "crs-form-is-proj-string",
        "CRS",
        gj(lambda b, _: b.geojson_bytes()),
        422,
        "bad-crs",
        "give an authority code",
        {"crs": "+proj=longlat +init=/etc/passwd"},
    ),
    Case(
        "crs-unknown-code",
        "CRS",
        gj(lambda b, _: b.geojson_bytes()),
        422,
        "bad-crs",
        "unknown CRS",
        {"crs": "EPSG:999999"},
    ),
    Case(
        "crs-contradicts-file",
        "CRS",
        gj(
            lambda b, _: b.geojson_bytes(
                crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}
            )
        ),
        422,
        "crs-mismatch",
        "declares EPSG:4326 but EPSG:32643 was given",
        {"crs": "EPSG:32643"},
    ),
    Case(
        "axes-swapped",
        "CRS",
        gj(lambda b, _: swap_axes(b)),
        422,
        "outside-india",
        "swapped",
    ),
    Case(
        "metres-as-degrees",
        "CRS",
        gj(lambda b, _: b.with_geometry(0, polygon(500000.0, 3400000.0, 1000.0))),
        422,
        "outside-india",
        "look like metres",
    ),
    Case(
        "outside-india",
        "CRS",
        gj(lambda b, _: b.with_geometry(0, polygon(2.35, 48.85))),
        422,
        "outside-india",
        "outside India",
    ),
    # --- encodings --------------------------------------------------------------------------------
    *(
        Case(
            f"text-{label}",
            "Encodings",
            gj(lambda b, _, k=key, v=value: b.with_property(1, k, v)),
            422,
            "bad-text",
            says,
        )
        for label, key, value, says in (
            ("bidi-override-name", "ward_name", "Sector \u202e71", "U+202E"),
            ("bidi-isolate-name", "ward_name", "\u2067Sector\u2069", "U+2067"),
            ("bell-in-name", "ward_name", "Sector\x0771", "U+0007"),
            ("escape-in-id", "ward_id", "\x1b[31m2", "U+001B"),
            ("c1-control-in-name", "ward_name", "Sector\x8571", "U+0085"),
        )
    ),
    Case(
        "nul-in-zone",
        "Encodings",
        gj(lambda b, _: b.with_property(1, "zone", "Zone\x001")),
        422,
        "bad-text",
        "NUL character",
    ),
    Case(
        "mojibake-devanagari",
        "Encodings",
        gj(lambda b, _: b.with_property(0, "ward_name", "हज़रतगंज".encode().decode("latin-1"))),
        422,
        "bad-encoding",
        "UTF-8 read as Latin-1",
    ),
    # --- geometry ---------------------------------------------------------------------------------
    *(
        Case(
            f"geometry-{label}",
            "Geometry",
            gj(lambda b, _, g=geometry: b.with_geometry(2, g)),
            status,
            "bad-geometry" if status == 422 else code,
            says,
        )
        for label, geometry, status, code, says in (
            ("null", None, 422, "", "has no geometry"),
            ("empty", {"type": "Polygon", "coordinates": []}, 422, "", "empty geometry"),
            ("point", {"type": "Point", "coordinates": [76.75, 30.72]}, 422, "", "Point"),
            (
                "line",
                {"type": "LineString", "coordinates": [[76.75, 30.72], [76.76, 30.73]]},
                422,
                "",
                "LineString",
            ),
            (
                "collection-with-point",
                {
                    "type": "GeometryCollection",
                    "geometries": [polygon(), {"type": "Point", "coordinates": [76.7, 30.7]}],
                },
                422,
                "",
                "GeometryCollection holding Point",
            ),
            (
                "infinite-coordinate",
                {
                    "type": "Polygon",
                    "coordinates": [[[1e400, 30.7], [76.8, 30.7], [76.8, 30.8], [1e400, 30.7]]],
                },
                422,
                "",
                "infinite",
            ),
            (
                "ring-of-two-points",
                {"type": "Polygon", "coordinates": [[[76.75, 30.72], [76.76, 30.72]]]},
                422,
                "",
                "cannot be read",
            ),
            (
                "coordinates-are-strings",
                {"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"]]]},
                422,
                "",
                "cannot be read",
            ),
        )
    ),
    Case(
        "too-many-vertices",
        "Geometry",
        gj(lambda b, _: too_many_vertices(b)),
        422,
        "too-complex",
        "more than 5000 vertices",
    ),
    # --- attributes -------------------------------------------------------------------------------
    *(
        Case(
            f"population-{label}",
            "Attributes",
            gj(lambda b, _, v=value: b.with_property(3, "population", v)),
            422,
            "bad-number",
            says,
        )
        for label, value, says in (
            ("negative", -5, "is negative"),
            ("text", "many", "'many' is not a number"),
            ("infinity-text", "Infinity", "not a finite number"),
            ("overflow", 1e400, "not a finite number"),
            ("implausible", 5e9, "implausible"),
        )
    ),
    Case(
        "population-nan-text",
        "Attributes",
        gj(lambda b, _: b.with_property(3, "population", "NaN")),
        422,
        "missing-population",
        "no population",
    ),
    Case(
        "population-missing",
        "Attributes",
        gj(lambda b, _: b.with_property(3, "population", None)),
        422,
        "missing-population",
        "no population",
    ),
    Case(
        "duplicate-id-after-trim-and-case",
        "Attributes",
        gj(lambda b, _: b.with_property(1, "ward_id", " 1 ")),
        422,
        "duplicate-id",
        "used by 2 features",
    ),
    Case(
        "duplicate-id-letter-case",
        "Attributes",
        gj(
            lambda b, _: json.dumps(
                {
                    **b.geojson,
                    "features": [
                        {**f, "properties": {**f["properties"], "ward_id": i}}
                        for f, i in zip(b.features()[:2], ("12a", "12A "), strict=True)
                    ],
                }
            ).encode()
        ),
        422,
        "duplicate-id",
        "used by 2 features",
    ),
    Case(
        "no-id-column",
        "Attributes",
        gj(
            lambda b, _: b.with_features(
                [{**f, "properties": {"kramank": 1, "population": 5}} for f in b.features()]
            )
        ),
        422,
        "missing-column",
        "ward_id, ward_no",
    ),
    Case(
        "named-column-absent",
        "Attributes",
        gj(lambda b, _: b.geojson_bytes()),
        422,
        "missing-column",
        "'KRAMANK' is not in the file",
        {"id_field": "KRAMANK"},
    ),
    # --- request shapes ---------------------------------------------------------------------------
    Case(
        "empty-file",
        "Request limits",
        gj(lambda _, __: b""),
        400,
        "unsupported-format",
        "not a zipped shapefile",
    ),
    Case(
        "filename-is-a-url",
        "GDAL safety",
        lambda b, li: (f"/vsicurl/{li.url}/x.zip", b"<kml>" + b"x" * 10),
        400,
        "bad-kml",
        "not well-formed",
    ),
]

#: Cases per RELIABILITY.md area (quoted in RELIABILITY.md, "Bad inputs tried").
AREAS: dict[str, int] = {}
for _case in CASES:
    AREAS[_case.area] = AREAS.get(_case.area, 0) + 1


@pytest.fixture(scope="module")
def base(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Base:
    return load_base(shared_data, tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's temp dir for this test: whatever the upload leaves there is a leftover."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_refused(
    response: Any,
    status: int,
    code: str,
    says: str,
    *,
    client: TestClient,
    connection: Connection,
    before: dict[str, int],
    scratch: Path,
    listener: Listener,
    filename: str,
) -> None:
    """The reject contract of RELIABILITY.md for one refused upload."""
    problem = expect_problem(response, status)
    assert problem.type == f"/problems/{code}", response.text
    text = json.dumps(problem.model_dump(), ensure_ascii=False)
    assert says.casefold() in text.casefold(), text
    shown = Path(filename.replace("\\", "/")).name
    assert shown, filename
    assert shown[:20] in text, text
    for secret in ("Traceback", str(scratch), "/tmp/", "site-packages", "psycopg"):
        assert secret not in text, text
    assert counts(connection) == before
    assert list(scratch.iterdir()) == []
    assert client.get("/health").status_code == 200
    assert listener.requests == [], listener.requests


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_upload_is_refused(
    case: Case,
    base: Base,
    client: TestClient,
    db_connection: Connection,
    listener: Listener,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if case.area == "Geometry":
        monkeypatch.setattr("gis.io.MAX_VERTICES", 5000)
    filename, data = case.build(base, listener)
    form = dict(case.form)
    if filename.endswith(".zip") and case.area != "CRS":
        form.update(LUCKNOW_FORM)
    before = counts(db_connection)
    response = client.post("/cities/hostile/layers", files={"file": (filename, data)}, data=form)
    assert_refused(
        response,
        case.status,
        case.type,
        case.says,
        client=client,
        connection=db_connection,
        before=before,
        scratch=scratch,
        listener=listener,
        filename=filename,
    )
