"""The parse server (``gis.parse_server``): parses are children forked from one preloaded process.

The server holds numpy, pandas, shapely, pyproj and geopandas but never GDAL (which must load in
the child, after ``GDAL_SKIP``); a parse child holds no socket of the server's; a dead server is
replaced; a server that cannot start leaves parses to the spawned child; a forked copy of the
client does not share its parent's server; and no server, warden or child outlives its client —
whether the client exits or is killed. The hostile-file guarantees themselves are tested in both
modes by ``tests.gis.test_sandbox``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gis import parse_server, sandbox
from gis.io import read_ward_layer
from gis.parse_server import CHILD_NAME
from gis.sandbox import ParseStopped
from tests.gis.test_sandbox import never_ending_geopackage, parse_children

REPO = Path(__file__).resolve().parents[2]
#: Seconds a test waits at most for a process to go (a guard against hanging, not a measurement).
GUARD_S = 60


@pytest.fixture
def wards(shared_data: Path, tmp_path: Path) -> Path:
    doc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    path = tmp_path / "wards.geojson"
    path.write_text(json.dumps({**doc, "features": doc["features"][:5]}), encoding="utf-8")
    return path


@pytest.fixture
def server_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server mode, and a fresh start: a failed start is forgotten after the test."""
    monkeypatch.setenv("WARDPLAN_PARSE_SERVER", "1")
    yield
    parse_server._state.failed_at = None


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie left for a reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + GUARD_S
    while not gone(pid):
        assert time.monotonic() < deadline, f"process {pid} is still there"
        time.sleep(0.05)


def test_the_server_preloads_python_but_not_gdal(
    wards: Path, server_on: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gis"):
        first = read_ward_layer(wards)
        pid = parse_server.server_pid()
        second = read_ward_layer(wards)
    assert len(first) == len(second) == 5
    assert pid is not None
    assert parse_server.server_pid() == pid
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "_multiarray_umath" in maps
    assert "shapely" in maps
    assert "libgdal" not in maps
    assert not [r for r in caplog.records if "spawn" in r.getMessage()], caplog.text
    assert parse_children() == []


def test_a_dead_server_is_replaced(wards: Path, server_on: None) -> None:
    read_ward_layer(wards)
    old = parse_server.server_pid()
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_gone(old)
    assert len(read_ward_layer(wards)) == 5
    new = parse_server.server_pid()
    assert new is not None
    assert new != old
    assert parse_children() == []


@pytest.mark.slow  # a spawned child: about two seconds more
def test_a_server_that_cannot_start_leaves_parsing_to_a_spawned_child(
    wards: Path, server_on: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    parse_server.shutdown()
    monkeypatch.setattr(parse_server, "SERVER_MODULE", "gis.no_such_module")
    with caplog.at_level(logging.WARNING, logger="gis"):
        assert len(read_ward_layer(wards)) == 5
    assert parse_server.server_pid() is None
    assert "the parse server did not start; parses are spawned" in caplog.text
    assert parse_children() == []


@pytest.mark.slow  # a spawned child: about two seconds more
def test_the_namespace_is_entered_as_by_a_spawned_child(
    wards: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Both modes enter a network namespace of their own, or neither (where the machine refuses)."""
    refused = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("WARDPLAN_PARSE_SERVER", mode)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="gis"):
            read_ward_layer(wards)
        refused[mode] = "without a network namespace" in caplog.text
    assert refused["1"] == refused["0"], caplog.text


def test_a_parse_child_holds_no_socket(
    wards: Path, server_on: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a never-ending parse runs: its child has no socket (not the server's control, not
    the warden's line to the client); a shutdown then stops it through its warden, nothing left."""
    doc = json.loads(wards.read_text(encoding="utf-8"))
    gpkg = never_ending_geopackage(doc, tmp_path)
    monkeypatch.setenv("WARDPLAN_PARSE_TIMEOUT_S", "600")
    monkeypatch.setenv("WARDPLAN_PARSE_CPU_S", "600")
    stopping = threading.Event()
    monkeypatch.setattr(sandbox, "_stopping", stopping)  # stop_all() for this test only
    caught: list[BaseException] = []

    def parse() -> None:
        try:
            read_ward_layer(gpkg)
        except ParseStopped as exc:
            caught.append(exc)

    worker = threading.Thread(target=parse)
    worker.start()
    deadline = time.monotonic() + GUARD_S
    children: list[int] = []
    while not children:
        assert time.monotonic() < deadline, "the parse child never appeared"
        children = [p for p in parse_children() if _comm(p) == CHILD_NAME]
        time.sleep(0.05)
    links = _fd_links(children[0])
    stopping.set()
    worker.join(GUARD_S)
    assert not worker.is_alive()
    assert links
    assert not [link for link in links if link.startswith("socket:")], links
    assert len(caught) == 1
    assert parse_children() == []


def _comm(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/comm").read_bytes().strip()
    except OSError:
        return b""


def _fd_links(pid: int) -> list[str]:
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue
    return links


def test_a_forked_copy_of_the_client_does_not_share_its_server(
    wards: Path, server_on: None
) -> None:
    read_ward_layer(wards)
    pid = parse_server.server_pid()
    assert pid is not None
    child = os.fork()
    if child == 0:  # pragma: no cover - the forked copy reports through its exit status
        os._exit(0 if parse_server.server_pid() is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parse_server.server_pid() == pid
    assert len(read_ward_layer(wards)) == 5


CLIENT = """
import os, pathlib, sys, time
from gis import parse_server
from gis.io import read_ward_layer
read_ward_layer(pathlib.Path(sys.argv[1]))
print(parse_server.server_pid(), flush=True)
if sys.argv[2] == "wait":
    time.sleep(600)
"""


@pytest.mark.slow  # two client processes, each importing the app and starting its server
@pytest.mark.parametrize("end", ["exit", "killed"])
def test_no_server_outlives_its_client(wards: Path, end: str) -> None:
    env = {**os.environ, "WARDPLAN_PARSE_SERVER": "1"}
    wait = "wait" if end == "killed" else "exit"
    args: list[Any] = [sys.executable, "-c", CLIENT, str(wards), wait]
    with subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as client:
        assert client.stdout is not None
        line = client.stdout.readline()
        server = int(line)
        assert not gone(server)
        if end == "killed":
            client.kill()
        assert client.wait(GUARD_S) == (-signal.SIGKILL if end == "killed" else 0)
    if end == "exit":
        assert gone(server)  # stopped before the client exited
    wait_gone(server)
