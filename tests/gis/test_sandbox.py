"""Uploads are parsed in a sandboxed child (``gis.sandbox``): no network, limits, nothing left.

The files are made from Chandigarh's real wards: a GeoJSON whose legacy ``crs`` link (spelled so a
byte search for ``"crs"`` misses it) points at a listener on 127.0.0.1, which must see nothing —
both in the child's own network namespace and, with the namespace turned off, by GDAL's settings
alone; and a GeoPackage whose ward layer is an SQL view over a recursive CTE that never ends, which
must be stopped at the CPU limit or at the wall-clock limit, leaving no process and no folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest

from gis import sandbox
from gis.errors import InputError
from gis.io import read_ward_layer
from gis.parse_server import CHILD_NAME, WARDEN_NAME
from gis.sandbox import ParseLimits, decode_source, encode_source, parse_in_sandbox
from tests.app.hostile import Listener, listening

#: Spellings of the key ``crs`` that a byte search for ``"crs"`` does not find.
CRS_KEYS = ("\\u0063rs", "c\\u0072s", "\\u0063\\u0072\\u0073")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's temp dir for this test: whatever a parse leaves there is a leftover."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture(params=["server", pytest.param("spawn", marks=pytest.mark.slow)])
def parse_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each guarantee holds for a child forked by the parse server and for a spawned one (the
    fallback; each spawn costs about two seconds, so those runs are left to the full suite)."""
    monkeypatch.setenv("WARDPLAN_PARSE_SERVER", "1" if request.param == "server" else "0")
    return str(request.param)


@pytest.fixture
def chandigarh(shared_data: Path) -> dict[str, Any]:
    doc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    return {**doc, "features": doc["features"][:5]}


def crs_link_file(doc: dict[str, Any], key: str, listener: Listener, folder: Path) -> Path:
    crs = {"type": "link", "properties": {"href": f"{listener.url}/crs", "type": "proj4"}}
    text = json.dumps({**doc, "crs": crs}).replace('"crs"', f'"{key}"')
    assert '"crs"' not in text
    path = folder / "wards.geojson"
    path.write_text(text, encoding="utf-8")
    return path


def parse_children() -> list[int]:
    """Live parse processes descending from this test process (or unreaped children of its own):
    spawned ``gis.parse_child`` processes, and the parse children and wardens of its parse server
    (a warden that has exited is the server's to reap)."""
    parents: dict[int, int] = {}
    parses = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            comm = (proc / "comm").read_bytes().strip()
            state, ppid = (proc / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            parents[int(proc.name)] = int(ppid)
        except (OSError, ValueError, IndexError):
            continue
        if state == "Z" and int(ppid) != os.getpid():
            continue
        if b"gis.parse_child" in cmdline or comm in (CHILD_NAME, WARDEN_NAME):
            parses.add(int(proc.name))
    return sorted(pid for pid in parses if _descends(pid, parents))


def _descends(pid: int, parents: dict[int, int]) -> bool:
    while pid in parents and pid > 1:
        pid = parents[pid]
        if pid == os.getpid():
            return True
    return False


@pytest.mark.parametrize("netns", ["1", "0"], ids=["namespace", "gdal-settings-only"])
@pytest.mark.parametrize("key", CRS_KEYS)
def test_a_crs_link_reaches_no_listener(
    chandigarh: dict[str, Any],
    key: str,
    netns: str,
    tmp_path: Path,
    scratch: Path,
    parse_mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WARDPLAN_PARSE_NETNS", netns)
    # Landlock (from ABI 4) also refuses TCP: off without the namespace, so that GDAL's own
    # settings are what is tested there.
    monkeypatch.setenv("WARDPLAN_PARSE_LANDLOCK", netns)
    with listening() as listener:
        path = crs_link_file(chandigarh, key, listener, tmp_path)
        layer = read_ward_layer(path)
        assert listener.requests == [], listener.requests
    # GDAL could not fetch the link and kept the GeoJSON default, WGS 84.
    assert layer.source_crs == "EPSG:4326"
    assert len(layer) == 5
    assert list(scratch.iterdir()) == []
    assert parse_children() == []


def never_ending_geopackage(doc: dict[str, Any], folder: Path) -> Path:
    """Chandigarh's wards in a GeoPackage whose one feature layer is a view that never ends."""
    path = folder / "wards.gpkg"
    frame = gpd.GeoDataFrame.from_features(doc["features"], crs="EPSG:4326")
    frame.to_file(path, driver="GPKG", layer="wards_data", engine="pyogrio")
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE VIEW wards AS
              WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r)
              SELECT d.* FROM wards_data d WHERE (SELECT max(i) FROM r) > 0;
            DELETE FROM gpkg_geometry_columns WHERE table_name = 'wards_data';
            DELETE FROM gpkg_contents WHERE table_name = 'wards_data';
            INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
              VALUES ('wards', 'features', 'wards', 4326);
            INSERT INTO gpkg_geometry_columns
              VALUES ('wards', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
            """
        )
    db.close()
    return path


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"WARDPLAN_PARSE_CPU_S": "2", "WARDPLAN_PARSE_TIMEOUT_S": "600"}, "2 s of CPU"),
        ({"WARDPLAN_PARSE_CPU_S": "600", "WARDPLAN_PARSE_TIMEOUT_S": "3"}, "longer than 3 s"),
    ],
    ids=["cpu-limit", "time-limit"],
)
def test_a_view_that_never_ends_is_stopped_at_the_limit(
    chandigarh: dict[str, Any],
    env: dict[str, str],
    says: str,
    tmp_path: Path,
    scratch: Path,
    parse_mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = never_ending_geopackage(chandigarh, tmp_path)
    with pytest.raises(InputError) as caught:
        read_ward_layer(path)
    assert caught.value.code == "parse-limit"
    assert [i.code for i in caught.value.issues] == ["parse-limit"]
    assert says in str(caught.value), str(caught.value)
    assert "wards.gpkg" in str(caught.value)
    assert list(scratch.iterdir()) == []
    assert parse_children() == []


def test_the_memory_limit_is_named(
    chandigarh: dict[str, Any], tmp_path: Path, scratch: Path, parse_mode: str
) -> None:
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(chandigarh), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        parse_in_sandbox(
            path,
            label="wards.geojson",
            crs_given=False,
            drivers=("GeoJSON",),
            limits=ParseLimits(memory_mb=64),
        )
    assert caught.value.code == "parse-limit"
    assert "64 MB" in str(caught.value), str(caught.value)
    assert list(scratch.iterdir()) == []


def test_only_the_formats_driver_is_loaded(
    chandigarh: dict[str, Any], tmp_path: Path, scratch: Path, parse_mode: str
) -> None:
    """A GeoJSON parsed with only the shapefile driver allowed cannot be opened at all."""
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps(chandigarh), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        parse_in_sandbox(path, label="wards.geojson", crs_given=False, drivers=("ESRI Shapefile",))
    assert caught.value.code == "unreadable", str(caught.value)
    parsed = parse_in_sandbox(path, label="wards.geojson", crs_given=False, drivers=("GeoJSON",))
    assert len(parsed.frame) == 5
    assert list(scratch.iterdir()) == []


def test_plain_data_round_trip_keeps_types_and_text(chandigarh: dict[str, Any]) -> None:
    frame = gpd.GeoDataFrame.from_features(chandigarh["features"], crs="EPSG:32643")
    frame["count"] = range(len(frame))
    frame["share"] = [0.5, float("nan"), 1e300, -0.0, 2.0]
    frame["when"] = gpd.pd.to_datetime(["2011-03-01"] * 4 + [None])
    frame["text"] = ["नगर", None, "a\x00b", "\ud800", "<b>"]
    data = json.loads(json.dumps(encode_source(frame, True, ["note"])))
    back = decode_source(data)
    assert back.declares_crs is True
    assert back.warnings == ["note"]
    assert back.frame.crs == frame.crs
    for column in ("count", "share", "when"):
        assert back.frame[column].dtype == frame[column].dtype
    assert back.frame["share"].isna().tolist() == frame["share"].isna().tolist()
    assert back.frame["text"].isna().tolist() == [False, True, False, False, False]
    assert back.frame["text"].dropna().tolist() == ["नगर", "a\x00b", "\ud800", "<b>"]
    assert back.frame.geometry.geom_equals_exact(frame.geometry, 0).all()


def test_a_malformed_result_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        decode_source(
            {"wkb": [None], "columns": [{"name": "x", "dtype": "object", "values": [{}]}]}
        )
    assert caught.value.code == "unreadable"


@pytest.mark.parametrize(
    "message",
    [
        # OpenBLAS ends the child itself (exit 1, no result): seen once under load
        "OpenBLAS error: Memory allocation still failed after 10 retries, giving up.",
        # the same class from a C++ library (GDAL, GEOS, PROJ) aborting on a failed allocation
        "terminate called after throwing an instance of 'std::bad_alloc'",
    ],
)
def test_a_native_library_out_of_memory_is_named_as_the_memory_limit(
    tmp_path: Path, message: str
) -> None:
    (tmp_path / "stderr.txt").write_text(message + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        sandbox._outcome(1, None, tmp_path, "wards.geojson", ParseLimits(memory_mb=64))
    assert caught.value.code == "parse-limit"
    assert "64 MB of memory" in str(caught.value)
    (tmp_path / "stderr.txt").write_text("Traceback: something else\n", encoding="utf-8")
    with pytest.raises(InputError) as other:
        sandbox._outcome(1, None, tmp_path, "wards.geojson", ParseLimits(memory_mb=64))
    assert other.value.code == "unreadable"
