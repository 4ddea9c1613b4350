"""Uploads, the stateless allocation and its job are read in memory: the one file is the ward
layer the sandboxed GDAL read writes in its own private folder for GDAL (issue 16: no temp files
but where GDAL needs one)."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.api.allocate import allocation
from app.api.schemas import AllocateRequest, JobOut
from app.core.options import LayerOptions
from app.core.settings import get_settings
from app.services import allocate, layers
from app.services.layers import Upload
from tests.app.apihelp import run_job_here

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
