"""A fork server for the upload sandbox: each parse is a child forked from a preloaded process.

Spawning ``python -m gis.parse_child`` costs about two seconds per parse, nearly all of it importing
numpy, pandas, shapely, pyproj and geopandas. The server (``python -m gis.parse_server``, one per
process that parses, started at its first parse) imports them once, in the same cleaned
environment the spawned child gets (no proxies, no GDAL/PROJ settings but the no-network ones,
``OPENBLAS_NUM_THREADS=1``; nor ``WARDPLAN_*``), and never loads GDAL itself: pyogrio registers
its drivers at import, and ``GDAL_SKIP`` (the format's allow-list) must be set before that.

For each parse the client (``run``, in the process that serves users) hands the server one end
of a fresh socket pair. The server forks a *warden* for it, which reads the request, forks the
*parse child* and watches both: the child puts itself in a process group of its own, keeps only
``/dev/null`` and its ``stderr.txt`` as open files, takes the per-parse environment (``GDAL_SKIP``,
``TMPDIR``, ``CPL_TMPDIR``), works in its private folder and then confines itself exactly as a
spawned child does (``gis.parse_child.confine_and_parse``: parent death signal, CPU, memory and
file-size limits, its own network namespace) before it imports GDAL and reads the file. When the
child exits, or the client shuts its end (the wall-clock limit, a shutdown, the client gone), the
warden kills the child's group, reaps it and answers its exit status; the client then reads the
result file exactly as after a spawn. The server exits when its client closes the control socket
(at exit, or when the client dies), and its wardens and children die with it.

``run`` answers ``None`` when the server cannot be used (it did not start, or died mid-parse); the
caller then spawns the child as before. ``WARDPLAN_PARSE_SERVER=0`` turns the server off.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: What the server imports before it forks (nothing that loads GDAL: see the module's doc).
PRELOAD = (
    *("numpy", "pandas", "shapely", "pyproj", "geopandas", "xml.etree.ElementTree", "uuid"),
    *("gis.errors", "gis.parse_child", "gis.archive", "gis.attributes", "gis.crs", "gis.fields"),
    *("gis.geometry", "gis.layer", "gis.text", "gis.unnumbered"),
)
#: Environment variables set per parse, in the child, before GDAL is loaded.
PER_PARSE_ENV = ("GDAL_SKIP", "TMPDIR", "CPL_TMPDIR")
#: Process names (``/proc/<pid>/comm``) of a warden and of a parse child.
WARDEN_NAME = b"wardplan-warden"
CHILD_NAME = b"wardplan-parse"
_READY = b"r"
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
_EXIT_CRASH = 1
_MAX_REQUEST = 1 << 20
#: Seconds a client waits for a server to start, and for a warden's answer once its child is
#: stopped (guards against a hang; a busy machine makes either take a few seconds).
_START_S = 120.0
_ANSWER_S = 60.0
#: After a server failed to start, parses spawn their child for this long before the next try.
_RETRY_S = 60.0
_POLL_S = 0.05
#: The module the server runs (``python -m``).
SERVER_MODULE = "gis.parse_server"


# --- the client (the process that serves users) --------------------------------------------------


@dataclass
class _Server:
    proc: subprocess.Popen[bytes]
    control: socket.socket
    env: dict[str, str]


class _State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.lock = threading.Lock()
        self.server: _Server | None = None
        self.failed_at: float | None = None


_state = _State()


def enabled() -> bool:
    return os.environ.get("WARDPLAN_PARSE_SERVER", "1") != "0"


def server_env(child_env: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: the spawned child's, less the per-parse and Wardplan settings."""
    return {
        k: v
        for k, v in child_env.items()
        if k not in PER_PARSE_ENV and not k.startswith(("WARDPLAN_", "PYTEST_"))
    }


def run(
    request: dict[str, Any],
    child_env: Mapping[str, str],
    wall_s: float,
    stopping: threading.Event,
) -> tuple[int, str | None] | None:
    """Parse in a child forked by the server: its exit status and what stopped it (``"time"``,
    ``"stopping"`` or ``None``); ``None`` when the server cannot be used (spawn instead)."""
    conn = _connect(server_env(child_env))
    if conn is None:
        return None
    with conn:
        warden = _warden_pidfd(conn)
        if warden is None:
            return None
        try:
            env = {k: child_env[k] for k in PER_PARSE_ENV}
            conn.sendall(json.dumps({**request, "env": env}).encode() + b"\n")
            stopped_by = _wait(conn, wall_s, stopping)
            if stopped_by is not None:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_WR)  # the warden kills the child and answers
            returncode = _answer(conn)
        except OSError:
            return None
        finally:
            _await_exit(warden)
    if returncode is None:
        log.warning("the parse server's warden gave no answer; the parse is spawned instead")
        return (-signal.SIGKILL, stopped_by) if stopped_by else None
    return returncode, stopped_by


def _warden_pidfd(conn: socket.socket) -> int | None:
    """A pidfd of the warden (which first sends its pid), so the client can see it gone; ``-1``
    where the kernel has no pidfds; ``None`` when no warden answered."""
    conn.settimeout(_ANSWER_S)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = conn.recv(1)
            if not chunk:
                return None
            data += chunk
        pid = json.loads(data).get("warden")
    except (OSError, ValueError, AttributeError):
        return None
    finally:
        conn.settimeout(None)
    if not isinstance(pid, int):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


def _await_exit(pidfd: int) -> None:
    """Wait until the warden has exited (it has answered and is ending), so that no process of
    this parse is left when the parse returns."""
    if pidfd < 0:
        return
    try:
        select.select([pidfd], [], [], _ANSWER_S)
    finally:
        os.close(pidfd)


def _wait(conn: socket.socket, wall_s: float, stopping: threading.Event) -> str | None:
    deadline = time.monotonic() + wall_s
    while True:
        ready, _, _ = select.select([conn], [], [], _POLL_S)
        if ready:
            return None
        if stopping.is_set():
            return "stopping"
        if time.monotonic() > deadline:
            return "time"


def _answer(conn: socket.socket) -> int | None:
    """The warden's answer, read to the end (the warden closes its end as it exits)."""
    conn.settimeout(_ANSWER_S)
    data = b""
    try:
        while chunk := conn.recv(4096):
            data += chunk
        answer = json.loads(data)
    except (OSError, ValueError):
        return None
    code = answer.get("returncode") if isinstance(answer, dict) else None
    return code if isinstance(code, int) else None


def _connect(env: dict[str, str]) -> socket.socket | None:
    """A socket whose other end a warden holds, or ``None`` when no server can be had."""
    with _state.lock:
        for _ in range(2):
            server = _ensure(env)
            if server is None:
                return None
            ours, theirs = socket.socketpair()
            try:
                socket.send_fds(server.control, [b"p"], [theirs.fileno()])
            except OSError:
                ours.close()
                _stop(server)
                _state.server = None
                continue
            finally:
                theirs.close()
            return ours
    return None


def _ensure(env: dict[str, str]) -> _Server | None:
    server = _state.server
    if server is not None and server.env == env and server.proc.poll() is None:
        return server
    if server is not None:
        _stop(server)
        _state.server = None
    if _state.failed_at is not None and time.monotonic() - _state.failed_at < _RETRY_S:
        return None
    _state.server = _start(env)
    _state.failed_at = None if _state.server else time.monotonic()
    return _state.server


def _start(env: dict[str, str]) -> _Server | None:
    ours, theirs = socket.socketpair()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        log.warning("the parse server did not start (%s); parses are spawned", exc)
        ours.close()
        return None
    finally:
        theirs.close()
    server = _Server(proc, ours, env)
    ours.settimeout(_START_S)
    try:
        ready = ours.recv(1)
    except OSError:
        ready = b""
    if ready != _READY:
        log.warning("the parse server did not start; parses are spawned")
        _stop(server)
        return None
    ours.settimeout(None)
    return server


def _stop(server: _Server) -> None:
    """End the server now: it holds nothing worth a clean exit, and its wardens and their
    children die with it (parent death signals)."""
    server.control.close()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()


def server_pid() -> int | None:
    """The pid of this process's parse server, while one runs."""
    server = _state.server
    return server.proc.pid if server is not None and server.proc.poll() is None else None


def shutdown() -> None:
    """Stop this process's server (and with it any warden and child); run at exit."""
    with _state.lock:
        if _state.server is not None:
            _stop(_state.server)
            _state.server = None


def _forget_after_fork() -> None:
    """In a forked copy of the client: drop (without stopping) the parent's server."""
    if _state.server is not None:
        _state.server.control.close()
    _state.reset()  # a fresh lock too: another thread may have held the old one


atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget_after_fork)


# --- the server, its wardens and their children --------------------------------------------------


def _prctl(option: int, value: int | bytes) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _reap(signum: int, frame: object) -> None:
    """Reap exited wardens (waited, not left to the kernel, so their CPU time is accounted)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def serve(control: socket.socket) -> None:
    """Fork a warden for each socket the client sends; return when the client closes ``control``."""
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1, 1)
        if not message:
            for fd in fds:
                os.close(fd)
            return
        for fd in fds:
            if os.fork() == 0:
                code = _EXIT_CRASH
                try:
                    control.close()
                    code = _warden(socket.socket(fileno=fd))
                finally:
                    os._exit(code)
            os.close(fd)


def _warden(conn: socket.socket) -> int:
    _prctl(_PR_SET_NAME, WARDEN_NAME)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    conn.sendall(json.dumps({"warden": os.getpid()}).encode() + b"\n")
    request = _read_request(conn)
    if request is None:
        return _EXIT_CRASH
    pid = os.fork()
    if pid == 0:
        code = _EXIT_CRASH
        try:
            code = _child(request)
        finally:
            os._exit(code)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # also done by the child: whichever runs first
    _watch(conn, pid)
    # Alive or a zombie (not yet reaped): its group id is still its own.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    conn.sendall(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())
    return 0


def _read_request(conn: socket.socket) -> dict[str, Any] | None:
    data = b""
    while not data.endswith(b"\n") and len(data) < _MAX_REQUEST:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    request = json.loads(data)
    return request if isinstance(request, dict) else None


def _watch(conn: socket.socket, pid: int) -> None:
    """Return when the child has exited or the client has shut its end (stop it)."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:  # before Linux 5.3
        while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if select.select([conn], [], [], _POLL_S)[0]:
                return
        return
    try:
        select.select([conn.fileno(), pidfd], [], [])
    finally:
        os.close(pidfd)


def _child(request: dict[str, Any]) -> int:
    """The parse child: its own group, two open files, the per-parse environment, then confined."""
    os.setpgid(0, 0)
    _prctl(_PR_SET_NAME, CHILD_NAME)
    tmp = str(request["tmp"])
    null = os.open(os.devnull, os.O_RDWR)
    stderr = os.open(os.path.join(tmp, "stderr.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(stderr, 2)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(tmp)
    env = request.get("env", {})
    os.environ.update({k: str(env[k]) for k in PER_PARSE_ENV if k in env})
    import tempfile

    tempfile.tempdir = None  # the next call reads TMPDIR again
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    from gis.parse_child import confine_and_parse

    return confine_and_parse(request)


def main() -> int:
    control = socket.socket(fileno=int(sys.argv[1]))
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    if "pyogrio" in sys.modules:  # GDAL would have registered its drivers without GDAL_SKIP
        return _EXIT_CRASH
    control.sendall(_READY)
    serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
