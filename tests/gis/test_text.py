"""Names kept exactly (``gis.text``): encodings decided by the bytes, NUL and surrogates refused.

Every file is made from Chandigarh's real wards with Devanagari names put in.
"""

from __future__ import annotations

import json
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

from gis.errors import InputError
from gis.io import read_ward_layer

NAMES = ["हज़रतगंज", "चौक", "अमीनाबाद", "Sector 1", "कैसरबाग"]


@pytest.fixture
def chandigarh(shared_data: Path) -> dict[str, Any]:
    doc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    return {**doc, "features": doc["features"][:5]}


def frame_of(doc: dict[str, Any], names: list[str]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame.from_features(doc["features"], crs="EPSG:4326")
    frame = frame[["ward_id", "population", "geometry"]].copy()
    frame["ward_name"] = names
    return frame


def shapefile_zip(
    folder: Path,
    frame: gpd.GeoDataFrame,
    *,
    encoding: str,
    cpg: bytes | None,
    patch: tuple[bytes, bytes] | None = None,
) -> Path:
    """The frame as a zipped shapefile whose DBF bytes are in ``encoding``, with ``cpg`` as the
    .cpg file's content (none if ``None``), and ``patch`` (old, new) applied to the DBF bytes."""
    shp = folder / "shp"
    shp.mkdir()
    frame.to_file(shp / "wards.shp", engine="pyogrio", encoding=encoding)
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(shp.iterdir()):
            data = file.read_bytes()
            if file.suffix == ".cpg":
                continue
            if file.suffix == ".dbf" and patch is not None:
                assert patch[0] in data
                data = data.replace(*patch)
            zf.writestr(f"wards/{file.name}", data)
        if cpg is not None:
            zf.writestr("wards/wards.cpg", cpg)
    path = folder / "wards.zip"
    path.write_bytes(out.getvalue())
    return path


def test_utf8_under_a_1252_cpg_is_read_as_utf8_and_said(
    chandigarh: dict[str, Any], tmp_path: Path
) -> None:
    path = shapefile_zip(tmp_path, frame_of(chandigarh, NAMES), encoding="UTF-8", cpg=b"1252")
    layer = read_ward_layer(path)
    assert layer.wards["ward_name"].tolist() == NAMES
    notes = [w for w in layer.warnings if ".cpg says '1252'" in w]
    assert notes, layer.warnings
    assert "read as UTF-8" in notes[0]


def test_real_1252_text_under_a_1252_cpg_is_kept(
    chandigarh: dict[str, Any], tmp_path: Path
) -> None:
    names = ["Café Sector", "Nagar – East", "Ward “A”", "Sector 1", "Façade"]
    path = shapefile_zip(tmp_path, frame_of(chandigarh, names), encoding="cp1252", cpg=b"1252")
    layer = read_ward_layer(path)
    assert layer.wards["ward_name"].tolist() == names
    assert not any("UTF-8" in w for w in layer.warnings), layer.warnings


def test_a_nul_inside_a_dbf_name_is_refused_naming_feature_and_field(
    chandigarh: dict[str, Any], tmp_path: Path
) -> None:
    names = ["Sector 1", "Sector 2", "WardQQnul", "Sector 4", "Sector 5"]
    path = shapefile_zip(
        tmp_path,
        frame_of(chandigarh, names),
        encoding="UTF-8",
        cpg=b"UTF-8",
        patch=(b"WardQQnul", b"Ward\x00Qnul"),
    )
    with pytest.raises(InputError) as caught:
        read_ward_layer(path)
    [issue] = caught.value.issues
    assert (issue.code, issue.feature, issue.field) == ("bad-text", 2, "ward_name")
    assert "NUL" in issue.message
    assert issue.value == "Ward\\x00Qnul"


@pytest.mark.parametrize(
    ("spelling", "says"),
    [
        ("Zone\\u00001", "NUL character"),
        ("Zone \\ud800", "unpaired surrogate (U+D800)"),
        ("Zone \\udc00\\ud800", "unpaired surrogate (U+DC00)"),
    ],
    ids=["escaped-nul", "lone-high-surrogate", "reversed-pair"],
)
def test_escaped_nul_and_surrogates_in_a_geojson_are_refused(
    chandigarh: dict[str, Any], tmp_path: Path, spelling: str, says: str
) -> None:
    doc = json.loads(json.dumps(chandigarh))
    doc["features"][3]["properties"]["zone"] = "PLACEHOLDER"
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(doc).replace("PLACEHOLDER", spelling), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_ward_layer(path)
    [issue] = caught.value.issues
    assert (issue.code, issue.feature, issue.field) == ("bad-text", 3, "zone")
    assert says in issue.message, issue.message


def test_a_raw_nul_byte_in_a_geojson_is_refused(chandigarh: dict[str, Any], tmp_path: Path) -> None:
    doc = json.loads(json.dumps(chandigarh))
    doc["features"][1]["properties"]["ward_name"] = "PLACEHOLDER"
    data = json.dumps(doc).encode().replace(b"PLACEHOLDER", b"Sector\x001")
    path = tmp_path / "wards.geojson"
    path.write_bytes(data)
    with pytest.raises(InputError) as caught:
        read_ward_layer(path)
    assert caught.value.code == "bad-text"
    assert "raw NUL byte" in str(caught.value)


def test_a_valid_surrogate_pair_is_kept(chandigarh: dict[str, Any], tmp_path: Path) -> None:
    doc = json.loads(json.dumps(chandigarh))
    doc["features"][0]["properties"]["ward_name"] = "PLACEHOLDER"
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(doc).replace("PLACEHOLDER", "Ward \\ud83c\\udf33"), encoding="utf-8")
    layer = read_ward_layer(path)
    assert layer.wards["ward_name"].iloc[0] == "Ward \U0001f333"
