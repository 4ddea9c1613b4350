"""Uploads, the stateless allocation and its job are read in memory: the one file is the GIS file
(a ward, slum, zone or sub-ward layer, or a camp's venue points) that the sandboxed GDAL read writes
in its own private folder for GDAL (issue 16: no temp files but where GDAL needs one). Watched:
ward layers with their tables, slum, zone and sub-ward layers, ``/allocate`` and its job, the
organiser CSV and one CO sent as JSON, community centres, and a camp request's venues (CSV, points,
or the stored centres) with its ward table of registrants."""

from __future__ import annotations

import builtins
import csv
import hashlib
import io
import json
import os
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.api.allocate import allocation
from app.api.schemas import AllocateRequest, JobOut
from app.api.schemas.camps import CampJobOut
from app.core.options import LayerOptions
from app.core.settings import get_settings
from app.services import allocate, layers
from app.services.layers import Upload
from tests.app.apihelp import PLACE_FORM, expect_problem, issue_key, make_app, run_job_here

#: Files of the GDAL read itself (the sandbox's own request and result files) are allowed.
GDAL_READ = ("gis/sandbox.py", "gis/parse_child.py", "gis/parse_server.py")


def _in_gdal_read() -> bool:
    return any(f.filename.endswith(GDAL_READ) for f in traceback.extract_stack())


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file this process opens for writing, or makes with ``tempfile``, outside the read."""
    seen: list[str] = []
    real_open = builtins.open

    def spy_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # /dev/null is no file (highspy's banner is sent there once per process)
        if any(c in mode for c in "wax+") and file != os.devnull and not _in_gdal_read():
            seen.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def spy(name: str) -> Callable[..., Any]:
        real = getattr(tempfile, name)

        def made(*args: Any, **kwargs: Any) -> Any:
            out = real(*args, **kwargs)
            if not _in_gdal_read():
                seen.append(f"tempfile.{name}: {out}")
            return out

        return made

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile"):
        monkeypatch.setattr(tempfile, name, spy(name))
    return seen


def _body(shared_data: Path, time_limit: float | None = None) -> AllocateRequest:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    return AllocateRequest.model_validate(
        {
            "wards": fc,
            "organisers": [
                {"organiser_id": "CO-1", "name": "CO 1", "home_ward": "1"},
                {"organiser_id": "CO-2", "name": "CO 2", "lat": 30.73, "lon": 76.78},
            ],
            "parameters": {"tolerance": 0.3, "time_limit": time_limit},
        }
    )


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of the test's own (``tempfile`` reads it at each call), to see what stays in it."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_allocate_request_is_read_in_memory(
    shared_data: Path, private_tmp: Path, written: list[str]
) -> None:
    """The wards go to the sandboxed GDAL read as bytes (it stages them in its own folder);
    the service writes nothing."""
    request = allocation(_body(shared_data))
    written.clear()  # reading the test's own file above is not the service's
    layer, organisers = allocate.read_request(request)
    assert len(layer) == 26
    assert [s.path for s in layer.sources] == [allocate.LABEL]
    assert [o.organiser_id for o in organisers] == ["CO-1", "CO-2"]
    assert organisers[0].home_ward == "1"
    assert written == []
    assert list(private_tmp.iterdir()) == []  # the sandbox's folder went with the read


def test_allocate_job_writes_no_file(
    client: TestClient,
    session_factory: sessionmaker[Session],
    shared_data: Path,
    private_tmp: Path,
    written: list[str],
) -> None:
    """An ``/allocate`` above the synchronous limit is checked when submitted and read again when
    its job runs: both from memory and the job's stored request, no file written for either."""
    body = _body(shared_data, time_limit=get_settings().api.sync_time_limit + 1)
    payload = body.model_dump(mode="json", exclude_none=True)
    written.clear()
    response = client.post("/allocate", json=payload)
    assert response.status_code == 202, response.text
    job = JobOut.model_validate(response.json())
    assert job.request == payload  # the job's payload is the request as it came
    assert written == []  # the submission read the request from memory
    run_job_here(session_factory, job.id)
    done = JobOut.model_validate(client.get(job.url).json())
    assert done.status == "succeeded", done.error
    assert done.result is not None
    assert len(done.result.assignment) == 26
    assert written == []
    assert list(private_tmp.iterdir()) == []


def test_upload_tables_and_zone_layer_are_read_in_memory(
    shared_data: Path, private_tmp: Path, written: list[str]
) -> None:
    """The wards, the census table and the zone layer of an upload: nothing written, nothing left."""
    lucknow = shared_data / "lucknow"
    wards = Upload("wards.zip", (lucknow / "raw" / "Lucknow_ward_boundary-SHP.zip").read_bytes())
    table = Upload("census.csv", (lucknow / "census2011_wards.csv").read_bytes())
    names = Upload("names.csv", "ward_id,name_en,name_hi\n1,One,एक\n".encode())
    zones = Upload("zones.geojson", (lucknow / "zones.geojson").read_bytes())
    written.clear()
    layer = layers.read_upload(
        wards, table, LayerOptions(exclude_ids=("0",)), layers.PovertyUploads(zones=zones)
    )
    assert len(layer) == 110
    assert [s.path for s in layer.sources] == ["wards.zip", "census.csv", "zones.geojson"]
    assert layer.wards["zone"].nunique() == 6  # the zone layer's, read from its bytes
    assert layers._ward_names(names, layer)["1"] == ("One", "एक")
    assert written == []  # the wards too: the sandboxed read stages their bytes itself
    assert list(private_tmp.iterdir()) == []


def _mumbai_slums(shared_data: Path, points: bool) -> bytes:
    """300 of Mumbai's slum clusters as uploaded bytes (GeoJSON): polygons without a figure, or
    their points carrying households (area ÷ 12 m²), built in memory."""
    clusters = gpd.read_file(shared_data / "mumbai_slum_clusters" / "slum_clusters.geojson")
    clusters = clusters.iloc[:300]
    if points:
        households = (clusters.to_crs(clusters.estimate_utm_crs()).area / 12.0).round()
        clusters = gpd.GeoDataFrame(
            {"cluster_id": clusters["cluster_id"], "households": households},
            geometry=clusters.geometry.representative_point(),
            crs=clusters.crs,
        )
    return clusters.to_json().encode()


@pytest.mark.parametrize("points", [False, True], ids=["polygons", "points"])
def test_upload_slum_layer_is_read_in_memory(
    shared_data: Path, private_tmp: Path, written: list[str], points: bool
) -> None:
    """An uploaded slum layer (polygons or points) reaches the sandboxed read as bytes: the
    service writes no file and leaves none (issue 16)."""
    wards = Upload("wards.geojson", (shared_data / "mumbai_admin_wards/wards.geojson").read_bytes())
    slums = Upload("slums.geojson", _mumbai_slums(shared_data, points))
    options = LayerOptions(slum_households_total=None if points else 100_000.0)
    written.clear()
    layer = layers.read_upload(wards, None, options, layers.PovertyUploads(slums=slums))
    assert len(layer) == 24
    assert [s.path for s in layer.sources] == ["wards.geojson", "slums.geojson"]
    kind = "slum points" if points else "slum layer"
    assert {v.split(" slums.geojson")[0] for v in layer.poverty_sources.values()} == {kind}
    assert layer.wards["poor_households"].sum() > 0
    assert written == []
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("split", [(("13", 2),), ()], ids=["split", "no-split"])
def test_upload_subward_layer_is_read_in_memory(
    shared_data: Path, private_tmp: Path, written: list[str], split: tuple[tuple[str, int], ...]
) -> None:
    """Chandigarh's own sector layer as uploaded bytes: the units of ward 13 split in two, or,
    with no ward to split, named among the sources (its digest from the bytes) and said unused."""
    chandigarh = shared_data / "chandigarh"
    wards = Upload("wards.geojson", (chandigarh / "wards.geojson").read_bytes())
    sectors = (chandigarh / "raw" / "Chandigarh_Sectors.geojson").read_bytes()
    options = LayerOptions(split=split, subward_id_field="Sector_nam")
    written.clear()
    layer = layers.read_upload(
        wards, None, options, layers.PovertyUploads(subwards=Upload("sectors.geojson", sectors))
    )
    assert len(layer) == (27 if split else 26)
    if split:
        assert any("whole features of sectors.geojson" in w for w in layer.warnings)
    else:
        source = layer.sources[-1]
        assert (source.path, source.sha256) == (
            "sectors.geojson",
            hashlib.sha256(sectors).hexdigest(),
        )
        assert any("sectors.geojson: no ward needed splitting" in w for w in layer.warnings)
    assert written == []
    assert list(private_tmp.iterdir()) == []


# --- The city's own uploads: organisers, community centres, camp venues and registrants ----------

CITY = "bytes"


@dataclass(frozen=True)
class Chandigarh:
    """Chandigarh's 26 real wards stored as a city (module-wide, rolled back at the end), the API
    on them, and a point inside each ward (``ward_id`` → lon, lat)."""

    client: TestClient
    inside: dict[str, tuple[float, float]]


@pytest.fixture(scope="module")
def chandigarh(migrated_engine: Engine, shared_data: Path) -> Iterator[Chandigarh]:
    path = shared_data / "chandigarh" / "wards.geojson"
    wards = gpd.read_file(path)
    points = wards.geometry.representative_point()
    inside = {str(w): (p.x, p.y) for w, p in zip(wards["ward_id"], points, strict=True)}
    with migrated_engine.connect() as connection:
        outer = connection.begin()
        factory = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            admin = issue_key(factory, "no-temp-admin", "admin")
            with TestClient(make_app(factory), headers=admin) as client:
                made = client.post(
                    f"/cities/{CITY}/layers",
                    files={"file": ("wards.geojson", path.read_bytes())},
                    data=PLACE_FORM,
                )
                assert made.status_code == 201, made.text
                yield Chandigarh(client, inside)
        finally:
            outer.rollback()


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_organiser_uploads_are_read_in_memory(
    chandigarh: Chandigarh, private_tmp: Path, written: list[str]
) -> None:
    """The roster CSV is read from its bytes, and one CO sent as JSON is checked with no file;
    a refused CO is told as before (field and value, no file or line)."""
    lon, lat = chandigarh.inside["7"]
    roster = _csv(
        [
            ["organiser_id", "name", "lat", "lon", "home_ward"],
            ["CO-1", "Asha", lat, lon, ""],
            ["CO-2", "Sunita", "", "", "12"],
        ]
    )
    client = chandigarh.client
    written.clear()
    imported = client.post(f"/cities/{CITY}/organisers", files={"file": ("cos.csv", roster)})
    assert imported.status_code == 201, imported.text
    added = client.put(f"/cities/{CITY}/organisers/CO-3", json={"name": "Meena", "home_ward": "3"})
    assert added.status_code == 201, added.text
    refused = client.put(f"/cities/{CITY}/organisers/CO-4", json={"name": "R", "home_ward": "999"})
    problem = expect_problem(refused, 422)
    assert problem.title == "organiser 'CO-4' was refused"
    assert [(e.code, e.message, e.file, e.field, e.value) for e in problem.errors] == [
        ("unknown-ward", "home_ward '999' is not a ward of the layer", None, "home_ward", "999")
    ]
    listed = client.get(f"/cities/{CITY}/organisers").json()
    assert [(o["organiser_id"], o["home_ward"]) for o in listed] == [
        ("CO-1", "7"),
        ("CO-2", "12"),
        ("CO-3", "3"),
    ]
    assert written == []
    assert list(private_tmp.iterdir()) == []


def test_community_centres_upload_is_read_in_memory(
    chandigarh: Chandigarh, private_tmp: Path, written: list[str]
) -> None:
    """Centres are read from the upload's bytes; a refusal still names the upload's file."""
    rows: list[list[object]] = [["name", "lat", "lon"]]
    rows += [
        [f"Centre {w}", lat, lon] for w, (lon, lat) in chandigarh.inside.items() if w in ("1", "2")
    ]
    client = chandigarh.client
    written.clear()
    refused = client.post(
        f"/cities/{CITY}/community-centres",
        files={"file": ("centres.csv", _csv([*rows, ["Mumbai centre", 19.07, 72.87]]))},
    )
    problem = expect_problem(refused, 422)
    assert [(e.code, e.file, e.field, e.value) for e in problem.errors] == [
        ("outside-city", "centres.csv", "lat/lon", "19.07,72.87")
    ]
    made = client.post(f"/cities/{CITY}/community-centres", files={"file": ("c.csv", _csv(rows))})
    assert made.status_code == 201, made.text
    assert [c["ward_id"] for c in made.json()] == ["1", "2"]
    assert written == []
    assert list(private_tmp.iterdir()) == []


#: The wards of the candidate venues (enough of them for the window and the teams).
VENUE_WARDS = ("1", "5", "9", "13", "20")
CAMP_FORM = {
    "start": "2027-04-01",
    "end": "2027-05-15",
    "teams": "2",
    "per_camp_per_day": "300",
    "time_limit": "5",
}


def _venue_files(inside: dict[str, tuple[float, float]], kind: str) -> dict[str, Any]:
    """A venue in each of five wards as a CSV or as GeoJSON points (``centres``: no file)."""
    chosen = [(w, *inside[w]) for w in VENUE_WARDS]
    if kind == "centres":
        return {}
    if kind == "csv":
        rows = [["venue_id", "name", "lat", "lon"]]
        rows += [[f"V-{w}", f"Hall {w}", lat, lon] for w, lon, lat in chosen]
        return {"venues": ("venues.csv", _csv(rows), "text/csv")}
    points = gpd.GeoDataFrame(
        {"venue_id": [f"V-{w}" for w, _, _ in chosen], "name": [f"Hall {w}" for w, _, _ in chosen]},
        geometry=gpd.points_from_xy([c[1] for c in chosen], [c[2] for c in chosen]),
        crs="EPSG:4326",
    )
    return {"venues": ("venues.geojson", points.to_json().encode(), "application/geo+json")}


@pytest.mark.parametrize("kind", ["csv", "points", "centres"])
def test_camp_venues_and_registrants_are_read_in_memory(
    chandigarh: Chandigarh, private_tmp: Path, written: list[str], kind: str
) -> None:
    """A camp request's venues (a CSV, a GeoJSON point file that the sandboxed GDAL read stages
    in its own folder, or the city's community centres placed as they are) and its ward table of
    registrants: read from memory, nothing written, nothing left."""
    client = chandigarh.client
    if kind == "centres":
        centres = [["name", "lat", "lon"]] + [
            [f"Centre {w}", chandigarh.inside[w][1], chandigarh.inside[w][0]] for w in VENUE_WARDS
        ]
        made = client.post(
            f"/cities/{CITY}/community-centres", files={"file": ("c.csv", _csv(centres))}
        )
        assert made.status_code == 201, made.text
    table = _csv([["ward_no", "workers"]] + [[w, 100 + k] for k, w in enumerate(chandigarh.inside)])
    files = {**_venue_files(chandigarh.inside, kind), "ward_table": ("w.csv", table, "text/csv")}
    written.clear()
    made = client.post(f"/cities/{CITY}/camps", data=CAMP_FORM, files=files)
    assert made.status_code == 202, made.text
    job = CampJobOut.model_validate(made.json())
    source = {"csv": "venues.csv", "points": "venues.geojson", "centres": "community centres"}
    assert job.request["venue_source"] == source[kind]
    venues = job.request["venues"]
    if kind == "centres":
        assert [(v["venue_id"], v["name"], v["ward_id"]) for v in venues] == [
            (f"CC-{k:02d}", f"Centre {w}", w) for k, w in enumerate(VENUE_WARDS, start=1)
        ]
    else:
        assert [(v["venue_id"], v["ward_id"]) for v in venues] == [
            (f"V-{w}", w) for w in VENUE_WARDS
        ]
    registrants = job.request["registrants"]
    assert (registrants["basis"], registrants["column"]) == ("ward-table", "workers")
    assert registrants["by_ward"] == {w: 100 + k for k, w in enumerate(chandigarh.inside)}
    assert written == []
    assert list(private_tmp.iterdir()) == []
    cancelled = client.post(job.cancel_url)
    assert cancelled.json()["status"] == "cancelled"
