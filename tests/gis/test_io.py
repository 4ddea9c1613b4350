"""read_ward_layer on the real city files and on small hand-made bad inputs."""

from __future__ import annotations

import json
import math
import stat
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from gis.errors import InputError
from gis.fields import FieldMapping
from gis.io import read_ward_layer
from gis.layer import STORAGE_CRS, WARD_COLUMNS

LUCKNOW_ZIP = "lucknow/raw/Lucknow_ward_boundary-SHP.zip"

# --- helpers -----------------------------------------------------------------------------------


def square(x: float, y: float, size: float = 0.01) -> Polygon:
    return box(x, y, x + size, y + size)


def write_geojson(path: Path, features: list[dict[str, Any]], **extra: Any) -> Path:
    doc = {"type": "FeatureCollection", **extra, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def feature(props: dict[str, Any], geometry: Any) -> dict[str, Any]:
    geom = None if geometry is None else shapely.geometry.mapping(geometry)
    return {"type": "Feature", "properties": props, "geometry": geom}


def two_wards(**overrides: Any) -> list[dict[str, Any]]:
    """Two valid neighbouring wards in Lucknow, with per-ward property overrides."""
    rows = [
        {"ward_no": 1, "ward_name": "Alpha", "population": 1000},
        {"ward_no": 2, "ward_name": "Beta", "population": 2000},
    ]
    for key, value in overrides.items():
        rows[1][key] = value
    return [feature(rows[0], square(80.9, 26.8)), feature(rows[1], square(80.91, 26.8))]


def shapefile_zip(tmp_path: Path, *, drop: tuple[str, ...] = (), folder: str = "") -> Path:
    """A zipped two-ward shapefile, optionally without some sidecars or inside a folder."""
    src = tmp_path / "shp"
    src.mkdir()
    gdf = gpd.GeoDataFrame(
        {"WARD_NO": [1, 2], "NAME": ["Alpha", "Beta"]},
        geometry=[square(80.9, 26.8), square(80.91, 26.8)],
        crs="EPSG:4326",
    )
    gdf.to_file(src / "My Wards.shp", engine="pyogrio")
    archive = tmp_path / "wards.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file in sorted(src.iterdir()):
            if file.suffix.lower() not in drop:
                zf.write(file, folder + file.name)
    return archive


def messages(error: pytest.ExceptionInfo[InputError]) -> str:
    return str(error.value)


# --- real files --------------------------------------------------------------------------------


def test_lucknow_zip_with_exclusion_gives_110_wards(shared_data: Path) -> None:
    layer = read_ward_layer(shared_data / LUCKNOW_ZIP, exclude_ids=["0"])

    assert len(layer) == 110
    assert list(layer.wards.columns) == list(WARD_COLUMNS)
    assert layer.wards.crs == STORAGE_CRS
    assert list(layer.wards.index) == list(range(110))
    assert sorted(layer.wards["ward_id"], key=int) == [str(i) for i in range(1, 111)]
    assert set(layer.wards["zone"]) == {"1", "2", "3", "4", "5", "6"}
    assert layer.wards.loc[layer.wards["ward_id"] == "2", "ward_name"].item() == "Raja Bijli Pasi"
    assert layer.wards["population"].isna().all()  # no population in the file: comes from census
    assert layer.sources[0].path == "Lucknow_ward_boundary-SHP.zip"
    assert len(layer.sources[0].sha256) == 64
    assert layer.source_crs == "EPSG:4326"
    assert any("Airport" in w and "Cantonment" in w for w in layer.warnings)


def test_lucknow_zip_without_exclusion_names_the_duplicate(shared_data: Path) -> None:
    with pytest.raises(InputError) as error:
        read_ward_layer(shared_data / LUCKNOW_ZIP)

    text = messages(error)
    assert "'0'" in text
    assert "Airport (feature 2)" in text
    assert "Cantonment (feature 111)" in text
    assert "`exclude`" in text
    assert "--exclude" in text
    assert any(
        issue.code == "duplicate-id" and issue.ward_id == "0" for issue in error.value.issues
    )


def test_lucknow_geojson_and_gpkg_agree(shared_data: Path) -> None:
    raw = read_ward_layer(
        shared_data / "lucknow/raw/Lucknow_ward_boundary.geojson", exclude_ids=["0"]
    )
    gpkg = read_ward_layer(shared_data / "lucknow/wards.gpkg")

    assert len(raw) == len(gpkg) == 110
    assert set(raw.wards["ward_id"]) == set(gpkg.wards["ward_id"])
    assert gpkg.wards["population"].sum() == 2_817_105
    # GDAL's own remark about the non-unique "id" member is reported, not leaked as a warning
    assert any(w.startswith("reader:") and "112" in w for w in raw.warnings)


def test_bangalore_geojson_decimal_ids_and_pop_total(shared_data: Path) -> None:
    layer = read_ward_layer(shared_data / "bangalore/raw/BBMP_oldWards.geojson")

    assert len(layer) == 198
    assert "2" in set(layer.wards["ward_id"])
    assert not any("." in i for i in layer.wards["ward_id"])
    assert layer.wards["population"].sum() == 5_840_155
    assert layer.wards["zone"].isna().all()
    assert any("198 ward id(s)" in w and "'2.0' → '2'" in w for w in layer.warnings)
    assert any("population ← 'POP_TOTAL'" in w for w in layer.warnings)


def test_bangalore_kml_matches_geojson(shared_data: Path) -> None:
    kml = read_ward_layer(shared_data / "bangalore/raw/BBMP_oldWards.kml")
    geojson = read_ward_layer(shared_data / "bangalore/raw/BBMP_oldWards.geojson")

    assert len(kml) == 198
    assert list(kml.wards["ward_id"]) == list(geojson.wards["ward_id"])
    assert kml.wards["population"].sum() == 5_840_155
    assert set(kml.wards.geom_type) <= {"Polygon", "MultiPolygon"}


def test_chandigarh_zip_needs_reserve_excluded(shared_data: Path) -> None:
    with pytest.raises(InputError) as error:
        read_ward_layer(shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip")

    text = messages(error)
    assert "no ward id column" in text
    assert "'Ward_name', 'Population'" in text  # lists the columns
    assert "'reserve' (feature 4)" in text


def test_chandigarh_zip_merges_the_exclave(shared_data: Path) -> None:
    layer = read_ward_layer(
        shared_data / "chandigarh/raw/Chandigarh_Wards-SHP.zip",
        exclude_ids=["reserve"],
        merge_ids=["5"],
    )

    assert len(layer) == 26
    ward5 = layer.wards[layer.wards["ward_id"] == "5"]
    assert ward5.geom_type.item() == "MultiPolygon"
    assert math.isnan(ward5["population"].item())  # the two parts disagree: left empty
    assert layer.wards["ward_name"].isna().all()  # Ward_name served as id, not as name
    assert any("disagree on population" in w for w in layer.warnings)


# --- archives ----------------------------------------------------------------------------------


def test_zip_in_subfolder_with_spaces(tmp_path: Path) -> None:
    layer = read_ward_layer(shapefile_zip(tmp_path, folder="Some Folder/"))

    assert list(layer.wards["ward_id"]) == ["1", "2"]
    assert list(layer.wards["ward_name"]) == ["Alpha", "Beta"]


def test_missing_prj_needs_a_crs(tmp_path: Path) -> None:
    archive = shapefile_zip(tmp_path, drop=(".prj",))
    with pytest.raises(InputError) as error:
        read_ward_layer(archive)
    assert "My Wards.prj is missing" in messages(error)

    layer = read_ward_layer(archive, crs="EPSG:4326")
    assert len(layer) == 2
    assert any("declares no CRS; using EPSG:4326" in w for w in layer.warnings)


def test_missing_dbf_and_shx_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        read_ward_layer(shapefile_zip(tmp_path, drop=(".dbf", ".shx")))
    assert ".shx, .dbf missing" in messages(error)


def test_macosx_junk_is_ignored_with_warning(tmp_path: Path) -> None:
    archive = shapefile_zip(tmp_path)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("__MACOSX/._My Wards.shp", b"\x00\x05\x16\x07junk")
        zf.writestr("__MACOSX/._My Wards.dbf", b"\x00\x05\x16\x07junk")

    layer = read_ward_layer(archive)
    assert len(layer) == 2
    assert any("ignored 2 archiver junk" in w and "__MACOSX" in w for w in layer.warnings)


@pytest.mark.parametrize("name", ["../evil.shp", "/etc/evil.shp", "a/../../evil.shp"])
def test_zip_traversal_member_is_refused(tmp_path: Path, name: str) -> None:
    archive = shapefile_zip(tmp_path)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(name, b"x")

    with pytest.raises(InputError) as error:
        read_ward_layer(archive)
    assert error.value.code == "bad-archive"
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_with_two_shapefiles_lists_them(tmp_path: Path) -> None:
    archive = shapefile_zip(tmp_path)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("other/Zones.shp", b"x")
    with pytest.raises(InputError) as error:
        read_ward_layer(archive)
    assert "My Wards.shp, other/Zones.shp" in messages(error)


def test_zip_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = shapefile_zip(tmp_path)
    info = zipfile.ZipInfo("link.dbf")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(InputError, match="symbolic link"):
        read_ward_layer(archive)


def test_zip_bomb_declared_size_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gis.archive.MAX_INFLATED_BYTES", 100_000)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("wards.dbf", b"\0" * 1_000_000)
    with pytest.raises(InputError, match="inflates to more than"):
        read_ward_layer(archive)


def test_zip_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("wards.shp", b"\0" * 1_000_000)
    data = bytearray(archive.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))

    with pytest.raises(InputError) as error:
        read_ward_layer(archive)
    assert error.value.code == "bad-archive"


def test_no_temp_files_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()

    read_ward_layer(shapefile_zip(good))
    with pytest.raises(InputError):
        read_ward_layer(shapefile_zip(bad, drop=(".dbf",)))

    assert list(scratch.iterdir()) == []


# --- formats and CRS ---------------------------------------------------------------------------


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wards.geojson"
    path.write_bytes(b"ward_no,population\n1,2\n")
    with pytest.raises(InputError, match="not a zipped shapefile"):
        read_ward_layer(path)


def test_geojson_crs_link_is_refused(tmp_path: Path) -> None:
    link = {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs", "type": "proj4"}}
    path = write_geojson(tmp_path / "w.geojson", two_wards(), crs=link)
    with pytest.raises(InputError, match="'crs' member"):
        read_ward_layer(path)


def test_legacy_crs84_member_is_accepted(tmp_path: Path) -> None:
    crs84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    layer = read_ward_layer(write_geojson(tmp_path / "w.geojson", two_wards(), crs=crs84))
    assert len(layer) == 2
    assert not any("reprojected" in w for w in layer.warnings)


def test_projected_utm_input_is_reprojected(tmp_path: Path) -> None:
    wgs = gpd.GeoDataFrame(
        {"ward_no": [1, 2]}, geometry=[square(80.9, 26.8), square(80.91, 26.8)], crs="EPSG:4326"
    )
    path = tmp_path / "utm.gpkg"
    wgs.to_crs("EPSG:32644").to_file(path, engine="pyogrio")

    layer = read_ward_layer(path)

    assert "reprojected EPSG:32644 → EPSG:4326" in layer.warnings
    assert layer.source_crs == "EPSG:32644"
    assert layer.wards.crs == STORAGE_CRS
    assert layer.wards.geometry.iloc[0].equals_exact(square(80.9, 26.8), tolerance=1e-7)


def test_user_crs_contradicting_the_file_is_refused(tmp_path: Path) -> None:
    crs84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}
    path = write_geojson(tmp_path / "w.geojson", two_wards(), crs=crs84)
    with pytest.raises(InputError) as error:
        read_ward_layer(path, crs="EPSG:32644")
    assert "declares EPSG:4326 but EPSG:32644 was given" in messages(error)


def test_crs_must_be_an_authority_code(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "w.geojson", two_wards())
    with pytest.raises(InputError, match="not accepted"):
        read_ward_layer(path, crs="http://example.com/crs")


def test_swapped_axes_get_a_hint(tmp_path: Path) -> None:
    swapped = [feature({"ward_no": 1}, square(26.8, 80.9))]
    with pytest.raises(InputError) as error:
        read_ward_layer(write_geojson(tmp_path / "w.geojson", swapped))
    assert "outside India" in messages(error)
    assert "swapped" in messages(error)


def test_metres_declared_as_degrees_get_a_hint(tmp_path: Path) -> None:
    metres = [feature({"ward_no": 1}, box(500000, 2960000, 501000, 2961000))]
    with pytest.raises(InputError) as error:
        read_ward_layer(write_geojson(tmp_path / "w.geojson", metres))
    assert "look like metres" in messages(error)


# --- attributes --------------------------------------------------------------------------------


def test_devanagari_names_round_trip(tmp_path: Path) -> None:
    names = ["हज़रतगंज", "राजा बिजली पासी"]
    features = two_wards()
    for feat, name in zip(features, names, strict=True):
        feat["properties"]["ward_name"] = name
    layer = read_ward_layer(write_geojson(tmp_path / "w.geojson", features))
    assert list(layer.wards["ward_name"]) == names


@pytest.mark.parametrize(
    ("value", "problem"),
    [(-5, "is negative"), ("abc", "'abc' is not a number"), ("nan", "not a finite number")],
)
def test_bad_population_is_refused(tmp_path: Path, value: object, problem: str) -> None:
    path = write_geojson(tmp_path / "w.geojson", two_wards(population=value))
    with pytest.raises(InputError) as error:
        read_ward_layer(path)
    (issue,) = error.value.issues
    assert (issue.ward_id, issue.field) == ("2", "population")
    assert problem in issue.message


def test_missing_population_is_nan_not_zero(tmp_path: Path) -> None:
    layer = read_ward_layer(write_geojson(tmp_path / "w.geojson", two_wards(population=None)))
    assert layer.wards["population"].iloc[0] == 1000
    assert math.isnan(layer.wards["population"].iloc[1])


def test_missing_id_column_lists_columns_and_aliases(tmp_path: Path) -> None:
    feats = [feature({"naam": "A", "pop": 1}, square(80.9, 26.8))]
    with pytest.raises(InputError) as error:
        read_ward_layer(write_geojson(tmp_path / "w.geojson", feats))
    text = messages(error)
    assert "'naam', 'pop'" in text
    assert "ward_id, ward_no, ward_num" in text


def test_explicit_mapping_to_missing_column(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "w.geojson", two_wards())
    with pytest.raises(InputError, match="'KRAMANK' is not in the file"):
        read_ward_layer(path, mapping=FieldMapping(ward_id="KRAMANK"))


def test_ids_compared_case_insensitively(tmp_path: Path) -> None:
    feats = [
        feature({"ward_id": "12a ", "ward_name": "X"}, square(80.9, 26.8)),
        feature({"ward_id": "12A", "ward_name": "Y"}, square(80.91, 26.8)),
    ]
    with pytest.raises(InputError) as error:
        read_ward_layer(write_geojson(tmp_path / "w.geojson", feats))
    assert "12a X (feature 0), 12A Y (feature 1)" in messages(error)


def test_bidi_override_in_name_is_refused(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "w.geojson", two_wards(ward_name="abc\u202edcb"))
    with pytest.raises(InputError, match="U\\+202E"):
        read_ward_layer(path)


# --- geometry ----------------------------------------------------------------------------------


def test_bowtie_is_repaired_with_warning(tmp_path: Path) -> None:
    bowtie = Polygon([(80.9, 26.8), (80.91, 26.81), (80.91, 26.8), (80.9, 26.81), (80.9, 26.8)])
    feats = [*two_wards(), feature({"ward_no": 3}, bowtie)]
    layer = read_ward_layer(write_geojson(tmp_path / "w.geojson", feats))

    assert layer.wards.is_valid.all()
    assert layer.wards.geom_type.iloc[2] == "MultiPolygon"
    assert any(w.startswith("repaired 1 invalid") and "wards 3" in w for w in layer.warnings)


def test_point_feature_is_refused_naming_it(tmp_path: Path) -> None:
    feats = [*two_wards(), feature({"ward_no": 7}, Point(80.9, 26.8))]
    with pytest.raises(InputError) as error:
        read_ward_layer(write_geojson(tmp_path / "w.geojson", feats))
    (issue,) = error.value.issues
    assert (issue.feature, issue.ward_id) == (2, "7")
    assert "is a Point, not a polygon" in str(issue)


@pytest.mark.parametrize("geometry", [None, Polygon()])
def test_null_or_empty_geometry_is_refused(tmp_path: Path, geometry: Polygon | None) -> None:
    feats = [*two_wards(), feature({"ward_no": 9}, geometry)]
    with pytest.raises(InputError) as error:
        read_ward_layer(write_geojson(tmp_path / "w.geojson", feats))
    (issue,) = error.value.issues
    assert (issue.feature, issue.ward_id) == (2, "9")
    assert "no geometry" in issue.message or "empty geometry" in issue.message


def test_z_values_are_dropped_with_warning(tmp_path: Path) -> None:
    ring = [(80.9, 26.8, 100.0), (80.91, 26.8, 100.0), (80.91, 26.81, 100.0), (80.9, 26.8, 100.0)]
    layer = read_ward_layer(
        write_geojson(tmp_path / "w.geojson", [feature({"ward_no": 1}, Polygon(ring))])
    )
    assert not layer.wards.has_z.any()
    assert "dropped Z/M values from 1 feature(s)" in layer.warnings


def test_excluded_feature_may_be_broken(tmp_path: Path) -> None:
    feats = [*two_wards(), feature({"ward_no": 0, "ward_name": "Airport"}, Point(80.9, 26.8))]
    layer = read_ward_layer(write_geojson(tmp_path / "w.geojson", feats), exclude_ids=["0"])
    assert list(layer.wards["ward_id"]) == ["1", "2"]


def test_gpkg_with_two_polygon_layers_lists_them(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    gdf = gpd.GeoDataFrame({"ward_no": [1]}, geometry=[square(80.9, 26.8)], crs="EPSG:4326")
    gdf.to_file(path, layer="wards", engine="pyogrio")
    gdf.to_file(path, layer="zones", engine="pyogrio")
    with pytest.raises(InputError) as error:
        read_ward_layer(path)
    assert "2 candidate layers ('wards', 'zones')" in str(error.value)


def test_kml_with_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.kml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="'!doctype'"):
        read_ward_layer(path)
