"""Uploads and the stateless allocation are read in memory: the one file they write is the ward
layer the sandboxed GDAL read needs (issue 16: no temp files but where GDAL needs one)."""

from __future__ import annotations

import builtins
import io
import json
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.options import LayerOptions
from app.schemas import AllocateRequest
from app.services import allocate, layers
from app.services.layers import Upload

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
        if any(c in mode for c in "wax+") and not _in_gdal_read():
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


def test_allocate_request_is_read_in_memory_but_for_the_ward_file(
    shared_data: Path, tmp_path: Path, written: list[str]
) -> None:
    fc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    body = AllocateRequest.model_validate(
        {
            "wards": fc,
            "organisers": [
                {"organiser_id": "CO-1", "name": "CO 1", "home_ward": "1"},
                {"organiser_id": "CO-2", "name": "CO 2", "lat": 30.73, "lon": 76.78},
            ],
        }
    )
    written.clear()  # reading the test's own file above is not the service's
    layer, organisers = allocate.read_request(tmp_path, body)
    assert len(layer) == 26
    assert [o.organiser_id for o in organisers] == ["CO-1", "CO-2"]
    assert organisers[0].home_ward == "1"
    assert written == [str(tmp_path / "layer" / allocate.LABEL)]
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()] == [
        Path("layer") / allocate.LABEL
    ]


def test_upload_tables_are_read_in_memory(
    shared_data: Path, tmp_path: Path, written: list[str]
) -> None:
    lucknow = shared_data / "lucknow"
    wards = Upload("wards.zip", (lucknow / "raw" / "Lucknow_ward_boundary-SHP.zip").read_bytes())
    table = Upload("census.csv", (lucknow / "census2011_wards.csv").read_bytes())
    names = Upload("names.csv", "ward_id,name_en,name_hi\n1,One,एक\n".encode())
    written.clear()
    layer = layers.read_upload(tmp_path, wards, table, LayerOptions(exclude_ids=("0",)))
    assert len(layer) == 110
    assert [s.path for s in layer.sources] == ["wards.zip", "census.csv"]
    assert layers._ward_names(names, layer)["1"] == ("One", "एक")
    assert written == [str(tmp_path / "layer" / "wards.zip")]
