"""Uploads that are accepted after a reported normalisation, and the request-level limits.

The other side of ``test_hostile_uploads.py``: what Wardplan repairs (and says so in ``warnings``),
what must come back exactly as sent (Devanagari), and how the multipart parser's limits answer.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from app.api.schemas import LayerOut
from gis.io import NO_NETWORK_GDAL_CONFIG
from gis.sandbox import CHILD_GDAL_CONFIG, _child_env
from tests.app.apihelp import PLACE_FORM, counts, expect_problem
from tests.app.hostile import Base, Listener, listening, load_base

pytestmark = pytest.mark.slow

#: Names as GIS cells type them: nukta written precomposed and decomposed, a ZWJ/ZWNJ, a conjunct.
DEVANAGARI = ("हज़रतगंज", "हज\u093c रतगंज", "राजा बिजली पासी", "क्\u200dष", "श्\u200cरी")


@pytest.fixture(scope="module")
def base(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Base:
    return load_base(shared_data, tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with listening() as server:
        yield server


def upload(client: TestClient, name: str, data: bytes, **form: str) -> LayerOut:
    response = client.post(
        "/cities/normal/layers", files={"file": (name, data)}, data={**PLACE_FORM, **form}
    )
    assert response.status_code == 201, response.text
    return LayerOut.model_validate(response.json())


def stored_wards(client: TestClient, layer: LayerOut) -> list[dict[str, Any]]:
    page = client.get(f"/cities/{layer.city}/layers/{layer.version}/wards", params={"limit": 1000})
    assert page.status_code == 200, page.text
    return [f["properties"] for f in page.json()["features"]]


def shapefile_zip(
    tmp_path: Path, frame: gpd.GeoDataFrame, *, encoding: str, cpg: bool, extra: dict[str, bytes]
) -> bytes:
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "wards.shp", engine="pyogrio", encoding=encoding)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.iterdir()):
            if cpg or file.suffix != ".cpg":
                zf.write(file, f"Ward Layer/{file.name}")
        for name, data in extra.items():
            zf.writestr(name, data)
    return out.getvalue()


def small_frame(base: Base, names: list[str]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(base.features(), crs="EPSG:4326")
    frame = frame[["ward_id", "population", "geometry"]].copy()
    frame["ward_name"] = (names * len(frame))[: len(frame)]
    return frame


# --- round trips ----------------------------------------------------------------------------------


def test_devanagari_names_round_trip_exactly(client: TestClient, base: Base) -> None:
    names = [*DEVANAGARI, "Sector 1"]
    features = base.features()
    for feat, name in zip(features, names, strict=True):
        feat["properties"]["ward_name"] = name
    layer = upload(client, "वार्ड.geojson", base.with_features(features))

    assert [w["ward_name"] for w in stored_wards(client, layer)] == names
    assert layer.source_filename == "_.geojson"  # the client's name is never a server path


def test_utf8_shapefile_without_cpg_is_read_as_utf8_with_a_hint(
    client: TestClient, base: Base, tmp_path: Path
) -> None:
    frame = small_frame(base, list(DEVANAGARI))
    data = shapefile_zip(tmp_path, frame, encoding="UTF-8", cpg=False, extra={})
    layer = upload(client, "wards.zip", data)

    assert [w["ward_name"] for w in stored_wards(client, layer)] == list(frame["ward_name"])
    assert any("no .cpg" in w and "UTF-8" in w for w in layer.warnings)


def test_latin1_shapefile_without_cpg_is_kept_with_a_hint(
    client: TestClient, base: Base, tmp_path: Path
) -> None:
    """Real Latin-1 ("Café") cannot be told from intent: it is read as Latin-1 and the GIS cell
    is told to check the names and add a .cpg; it is not mojibake, so it is not refused."""
    frame = small_frame(base, ["Café Ward", "Señora"])
    data = shapefile_zip(tmp_path, frame, encoding="ISO-8859-1", cpg=False, extra={})
    layer = upload(client, "wards.zip", data)

    assert [w["ward_name"] for w in stored_wards(client, layer)][:2] == ["Café Ward", "Señora"]
    assert any("decoded as Latin-1" in w and ".cpg" in w for w in layer.warnings)


def test_macosx_junk_is_ignored_with_a_warning(
    client: TestClient, base: Base, tmp_path: Path
) -> None:
    frame = small_frame(base, ["A"])
    junk = {"__MACOSX/Ward Layer/._wards.shp": b"\0\5\26\7", "Ward Layer/.DS_Store": b"\0" * 8}
    layer = upload(
        client, "wards.zip", shapefile_zip(tmp_path, frame, encoding="UTF-8", cpg=True, extra=junk)
    )
    assert layer.ward_count == len(frame)
    assert any("ignored 2 archiver junk" in w for w in layer.warnings)


@pytest.mark.parametrize(
    ("value", "stored"),
    [("१२३४", 1234), ("१२,३४५", 12345), ("28,17,105", 2817105), (" 4521.0 ", 4521)],
)
def test_population_written_in_devanagari_or_grouped_digits(
    client: TestClient, base: Base, value: str, stored: int
) -> None:
    """Decision: digits of any script are numbers (Hindi census tables print Devanagari digits);
    Indian (28,17,105) and international grouping both accepted."""
    layer = upload(client, "w.geojson", base.with_property(0, "population", value))
    assert stored_wards(client, layer)[0]["population"] == stored


# --- geometry repairs, reported -----------------------------------------------------------------


def test_z_values_and_self_intersections_are_repaired_and_reported(
    client: TestClient, base: Base
) -> None:
    features = base.features()
    x, y = 76.75, 30.72
    bowtie = [[x, y], [x + 0.01, y + 0.01], [x + 0.01, y], [x, y + 0.01], [x, y]]
    features[0]["geometry"] = {"type": "Polygon", "coordinates": [bowtie]}
    ring = features[1]["geometry"]["coordinates"][0]
    if features[1]["geometry"]["type"] == "MultiPolygon":
        ring = features[1]["geometry"]["coordinates"][0][0]
    for point in ring:
        point.append(321.0)
    layer = upload(client, "w.geojson", base.with_features(features))

    assert any(w.startswith("repaired 1 invalid") and "wards 1" in w for w in layer.warnings)
    assert "dropped Z/M values from 1 feature(s)" in layer.warnings


def test_unclosed_ring_is_refused_naming_the_feature(
    client: TestClient, base: Base, db_connection: Connection
) -> None:
    """Policy: an open ring is refused (GDAL would accept it and GEOS cannot build it); the GIS
    cell closes it, knowing what the ward should look like."""
    x, y = 76.75, 30.72
    open_ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01]]
    before = counts(db_connection)
    data = base.with_geometry(0, {"type": "Polygon", "coordinates": [open_ring]})
    response = client.post("/cities/normal/layers", files={"file": ("w.geojson", data)})
    problem = expect_problem(response, 422)
    (issue,) = problem.errors
    assert (issue.feature, issue.ward_id, issue.code) == (0, "1", "bad-geometry")
    assert "not closed" in (issue.message or "")
    assert counts(db_connection) == before


# --- the client's file name and GDAL ---------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{url}/wards.geojson",
        "/vsicurl/{url}/w.geojson",
        "zip+{url}/w.zip!w.geojson",
        "../../w.gpkg",
    ],
)
def test_a_url_as_file_name_is_only_a_label(
    client: TestClient, base: Base, listener: Listener, template: str
) -> None:
    name = template.format(url=listener.url)
    layer = upload(client, name, base.geojson_bytes())
    assert layer.ward_count == len(base.geojson["features"])
    assert "/" not in layer.source_filename
    assert listener.requests == []


def test_gdal_reads_with_vsicurl_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parse child's GDAL may open no URL (``NO_NETWORK_GDAL_CONFIG``), inherits no proxy
    or GDAL setting, and loads no driver but the format's (``gis.sandbox``)."""
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    monkeypatch.setenv("GDAL_HTTP_PROXY", "proxy.invalid:3128")
    env = _child_env(tmp_path, ("GeoJSON",))
    for key, value in NO_NETWORK_GDAL_CONFIG.items():
        assert env[key] == value
    assert "https_proxy" not in env
    assert env["GDAL_HTTP_PROXY"] == CHILD_GDAL_CONFIG["GDAL_HTTP_PROXY"]
    skipped = set(env["GDAL_SKIP"].split(","))
    assert "GeoJSON" not in skipped
    assert {"GPKG", "OGR_VRT", "GDALG", "ESRI Shapefile", "CSV"} <= skipped
    assert set(pyogrio.list_drivers()) - skipped == {"GeoJSON"}


# --- request limits ------------------------------------------------------------------------------


def test_too_many_multipart_parts_are_refused(
    client: TestClient, db_connection: Connection
) -> None:
    before = counts(db_connection)
    files = [("file", (f"f{k}.geojson", b"{}")) for k in range(1001)]
    problem = expect_problem(client.post("/cities/normal/layers", files=files), 400)
    assert "1000" in (problem.detail or "")
    fields = {f"x{k}": "1" for k in range(1001)}
    problem = expect_problem(
        client.post("/cities/normal/layers", files={"file": ("w.geojson", b"{}")}, data=fields),
        400,
    )
    assert "1000" in (problem.detail or "")
    assert counts(db_connection) == before
    assert client.get("/health").status_code == 200


def test_upload_without_a_file_part_or_as_json(client: TestClient) -> None:
    problem = expect_problem(client.post("/cities/normal/layers", data={"crs": "EPSG:4326"}), 422)
    assert any(e.field == "body.file" for e in problem.errors)
    problem = expect_problem(
        client.post("/cities/normal/layers", content=json.dumps({"file": "x"})), 422
    )
    assert problem.type == "/problems/invalid-request"


def test_form_values_are_bounded_and_echoed_escaped(client: TestClient, base: Base) -> None:
    response = client.post(
        "/cities/normal/layers",
        files={"file": ("w.geojson", base.geojson_bytes())},
        data={"id_field": "\u202e" + "x" * 500},
    )
    problem = expect_problem(response, 422)
    text = response.text
    assert "\u202e" not in json.loads(text)["detail"]
    assert all(len(e.value or "") <= 200 for e in problem.errors)
