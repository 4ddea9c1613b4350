"""Slow clients (slowloris) against a real uvicorn process on the real PostGIS.

Raw sockets send an upload's headers and then its body a byte at a time: the server answers 408
problem+json once the body timeout (``WARDPLAN_API_BODY_TIMEOUT_S``, small here) has passed,
stores nothing, keeps no spooled upload open, and serves other clients meanwhile. A body sent
slowly but steadily (above ``WARDPLAN_API_BODY_MIN_RATE``) earns more time and is stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session, sessionmaker

from app.db.session import session_scope
from app.services import keys
from tests.app.apihelp import PLACE_FORM, PROBLEM_KEYS, counts

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BOUNDARY = "slowclientboundary"
#: Seconds a test waits for the server at most (a guard against hanging, not a measurement).
GUARD_S = 90


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    scratch: Path  # the server's TMPDIR
    headers: dict[str, str]  # a GIS key for Chandigarh

    def open_temp_files(self) -> list[str]:
        """Files under the server's TMPDIR that the server process holds open."""
        found = []
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith(str(self.scratch)):
                    found.append(target)
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            return int(response.status)
    except OSError:
        return None


@contextlib.contextmanager
def serving(
    url: str,
    scratch: Path,
    timeout_s: float,
    min_rate: int,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """uvicorn as ``make serve`` starts it, on a free port, with these body-timeout settings."""
    with session_scope(_factory(url)) as session:
        token = keys.issue(session, f"slow-{time.monotonic_ns()}", "gis", "chandigarh").token
    port = _free_port()
    env = {
        **os.environ,
        "WARDPLAN_DB_URL": url,
        "WARDPLAN_API_BODY_TIMEOUT_S": str(timeout_s),
        "WARDPLAN_API_BODY_MIN_RATE": str(min_rate),
        "TMPDIR": str(scratch),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + GUARD_S
        while _health(port) != 200:
            assert process.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn never answered"
            time.sleep(0.2)
        yield Server(port, process, scratch, {"Authorization": f"Bearer {token}"})
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def _factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=create_engine(url, poolclass=pool.NullPool), expire_on_commit=False)


def _domain_counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return counts(connection)
    finally:
        engine.dispose()


def _upload_body(content: bytes, name: str) -> bytes:
    place = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in PLACE_FORM.items()
    )
    return (
        place.encode()
        + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/geo+json\r\n\r\n".encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def _connect(server: Server, body_length: int) -> socket.socket:
    """A client that has sent an upload's request line and headers, and no body yet."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GUARD_S)
    head = [
        "POST /cities/chandigarh/layers HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {body_length}",
        *(f"{k}: {v}" for k, v in server.headers.items()),
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    return sock


def _answered(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The whole response, read until the server closes the connection."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return status, headers, body


def test_trickled_uploads_get_408_store_nothing_and_others_are_served(
    jobs_db: str, shared_data: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "server-tmp"
    scratch.mkdir()
    # A real GeoJSON padded past starlette's 1 MB spool limit: the part goes to a temp file.
    content = (shared_data / "chandigarh" / "wards.geojson").read_bytes() + b" " * 1_500_000
    body = _upload_body(content, "wards.geojson")
    fast = 1_200_000  # sent at once; the rest a byte at a time
    before = _domain_counts(jobs_db)
    with serving(jobs_db, scratch, timeout_s=5, min_rate=0) as server:
        clients = []
        for _ in range(4):
            sock = _connect(server, len(body))
            sock.sendall(body[:fast])
            clients.append(sock)
        try:
            # Every slow client is connected and unanswered, its upload spooled to a temp file:
            # the server still answers others.
            assert _health(server.port) == 200
            # sendall returns once the kernel holds the bytes: the server may spool them later
            deadline = time.monotonic() + GUARD_S
            while len(spooled := server.open_temp_files()) < len(clients):
                assert not any(_answered(s) for s in clients), f"answered first: {spooled}"
                assert time.monotonic() < deadline, f"never spooled: {spooled}"
                time.sleep(0.05)
            assert not any(_answered(s) for s in clients)

            sent = fast
            deadline = time.monotonic() + GUARD_S
            while not all(_answered(s) for s in clients):
                assert time.monotonic() < deadline, "a slow client was never answered"
                assert sent < len(body), "the whole body went out: the test is too slow"
                for sock in clients:
                    if not _answered(sock):
                        with contextlib.suppress(OSError):
                            sock.sendall(body[sent : sent + 1])
                sent += 1
                time.sleep(0.2)
            for sock in clients:
                status, headers, raw = _response(sock)
                assert status == 408, raw
                assert headers["content-type"].startswith("application/problem+json")
                assert headers["connection"] == "close"
                problem = json.loads(raw)
                assert set(problem) >= PROBLEM_KEYS
                assert problem["type"] == "/problems/request-timeout"
                assert "5 s" in problem["detail"]
                assert "nothing was stored" in problem["detail"]
        finally:
            for sock in clients:
                sock.close()
        assert _health(server.port) == 200  # still up
        assert server.open_temp_files() == []  # the spooled parts were closed
    assert _domain_counts(jobs_db) == before
    assert list(scratch.iterdir()) == []


def test_a_slow_but_steady_upload_earns_time_and_is_stored(
    jobs_db: str, shared_data: Path, tmp_path: Path
) -> None:
    """2,000 bytes every 0.25 s for about 4 s, past a 2 s timeout: each byte at the minimum rate
    of 1,000 bytes a second earns a millisecond, so the upload is stored."""
    scratch = tmp_path / "server-tmp"
    scratch.mkdir()
    body = _upload_body((shared_data / "chandigarh" / "wards.geojson").read_bytes(), "w.geojson")
    layers = _domain_counts(jobs_db)["ward_layer"]
    with serving(jobs_db, scratch, timeout_s=2, min_rate=1000) as server:
        with _connect(server, len(body)) as sock:
            started = time.monotonic()
            for at in range(0, len(body), 2000):
                assert not _answered(sock), "answered before the body was sent"
                sock.sendall(body[at : at + 2000])
                time.sleep(0.25)
            took = time.monotonic() - started
            status, _, raw = _response_once(sock)
        assert took > 2, "sent faster than the timeout: this test shows nothing"
        assert status == 201, raw
        assert json.loads(raw)["ward_count"] == 26
    assert _domain_counts(jobs_db)["ward_layer"] == layers + 1
    assert list(scratch.iterdir()) == []


def _response_once(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """A keep-alive response: read the head, then exactly Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(lines[0].split()[1]), headers, body
