"""The upload sandbox over HTTP: a real uvicorn process on the real PostGIS.

A GeoPackage whose ward layer is an SQL view that never finishes is uploaded: while its parse
runs (a ``gis.parse_child`` process working in the server's temp dir), ``/health`` answers; at the
wall-clock limit the client gets problem+json 422 naming the limit, nothing is stored, and neither
a process nor a folder is left. With no limit in reach, SIGTERM stops the server at once: the
upload is answered 503 and the parse is killed. ``/health`` says how uploads are confined.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gis import landlock, sandbox
from gis.io import read_ward_layer
from tests.app.test_slow_clients import (
    BOUNDARY,
    GUARD_S,
    _domain_counts,
    _health,
    _upload_body,
    serving,
)
from tests.gis.test_sandbox import never_ending_geopackage

pytestmark = pytest.mark.slow


def parses_in(scratch: Path) -> list[int]:
    """Parse processes (a spawned ``gis.parse_child`` or a child forked by ``gis.parse_server``)
    whose working folder is under ``scratch``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        parse = b"gis.parse_child" in cmdline or b"gis.parse_server" in cmdline
        if parse and cwd.startswith(str(scratch)):
            found.append(int(proc.name))
    return found


@dataclass
class Answer:
    status: int
    content_type: str
    body: dict[str, Any]


class Upload(threading.Thread):
    """An upload sent from a thread, so the test can act while the server parses it."""

    def __init__(self, port: int, headers: dict[str, str], path: Path) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/cities/chandigarh/layers"
        self.headers = headers
        self.path = path
        self.response: Answer | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        body = _upload_body(self.path.read_bytes(), self.path.name)
        headers = {**self.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=GUARD_S) as reply:
                self.response = Answer(
                    reply.status, reply.headers["content-type"], json.loads(reply.read())
                )
        except urllib.error.HTTPError as exc:
            self.response = Answer(exc.code, exc.headers["content-type"], json.loads(exc.read()))
        except OSError as exc:
            self.error = exc


def wait_for_parse(scratch: Path, upload: Upload) -> None:
    deadline = time.monotonic() + GUARD_S
    while not parses_in(scratch):
        assert upload.is_alive(), (upload.response, upload.error)
        assert time.monotonic() < deadline, "the parse never started"
        time.sleep(0.05)


@pytest.fixture
def chandigarh_gpkg(shared_data: Path, tmp_path: Path) -> Path:
    doc: dict[str, Any] = json.loads(
        (shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8")
    )
    folder = tmp_path / "files"
    folder.mkdir()
    return never_ending_geopackage({**doc, "features": doc["features"][:5]}, folder)


def test_a_never_ending_view_is_stopped_at_the_limit_while_health_answers(
    jobs_db: str, chandigarh_gpkg: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "server-tmp"
    scratch.mkdir()
    before = _domain_counts(jobs_db)
    limits = {"WARDPLAN_PARSE_TIMEOUT_S": "6", "WARDPLAN_PARSE_CPU_S": "600"}
    with serving(jobs_db, scratch, timeout_s=30, min_rate=0, extra_env=limits) as server:
        upload = Upload(server.port, server.headers, chandigarh_gpkg)
        upload.start()
        wait_for_parse(scratch, upload)
        assert _health(server.port) == 200  # answered while the parse runs
        upload.join(GUARD_S)
        assert upload.response is not None, upload.error
        problem = upload.response.body
        assert upload.response.status == 422, problem
        assert upload.response.content_type == "application/problem+json"
        assert problem["type"] == "/problems/parse-limit"
        assert "longer than 6 s" in problem["detail"]
        assert "wards.gpkg" in problem["detail"]
        assert _health(server.port) == 200
        assert parses_in(scratch) == []
        assert list(scratch.iterdir()) == []
    assert _domain_counts(jobs_db) == before


def test_sigterm_stops_a_parse_and_the_server_at_once(
    jobs_db: str, chandigarh_gpkg: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "server-tmp"
    scratch.mkdir()
    before = _domain_counts(jobs_db)
    # Far beyond the test's guard: only the shutdown can end this parse in time.
    limits = {"WARDPLAN_PARSE_TIMEOUT_S": "3600", "WARDPLAN_PARSE_CPU_S": "3600"}
    with serving(jobs_db, scratch, timeout_s=30, min_rate=0, extra_env=limits) as server:
        upload = Upload(server.port, server.headers, chandigarh_gpkg)
        upload.start()
        wait_for_parse(scratch, upload)
        os.kill(server.process.pid, signal.SIGTERM)
        server.process.wait(GUARD_S)
        upload.join(GUARD_S)
        assert upload.response is not None, upload.error
        assert upload.response.status == 503, upload.response
        assert upload.response.body["type"] == "/problems/server-stopping"
    assert parses_in(scratch) == []
    assert list(scratch.iterdir()) == []
    assert _domain_counts(jobs_db) == before


def test_health_says_how_uploads_are_confined(client: TestClient, shared_data: Path) -> None:
    """``/health`` reports the confinement the last parse of the process had (here: a real
    upload read just before), and the files' confinement is Landlock where the kernel has it."""
    abi = landlock.abi_version()
    before = client.get("/health").json()["upload_sandbox"]
    assert before["files"] == (
        f"landlock ABI {abi}" if isinstance(abi, int) else f"not confined ({abi})"
    )
    assert len(read_ward_layer(shared_data / "chandigarh" / "wards.geojson").wards) == 26
    after = client.get("/health")
    assert after.status_code == 200
    assert after.json()["upload_sandbox"] == sandbox.confinement()
    assert after.json()["upload_sandbox"]["files"] == before["files"]
    assert after.json()["upload_sandbox"]["network"] != "not known before the first parse"
