"""Every upload is parsed in a sandboxed child process, never in the process that serves users.

``parse_in_sandbox`` runs the child forked from a preloaded parse server (``gis.parse_server``,
which has not loaded GDAL), or, when that server cannot be used (``WARDPLAN_PARSE_SERVER=0``),
starts ``python -m gis.parse_child``; either way in a process group of its own,
with a private temporary folder (its working directory, ``TMPDIR`` and ``CPL_TMPDIR``) and an
environment in which GDAL can reach no network and load no driver but the ones allowed for the
format (``GDAL_SKIP`` lists every other vector driver). The child sets its own limits before it
imports GDAL (``gis.parse_child``): CPU time (``RLIMIT_CPU``), address space (``RLIMIT_AS``), file
size (``RLIMIT_FSIZE``), enters a network namespace of its own where the machine allows it, and
confines its file access with Landlock where the kernel has it (``gis.landlock``: read Python,
its packages, the system's libraries and the input file; write only its folder; execute nothing).
The parent enforces the wall-clock limit. On any limit the child's whole process group is killed,
its folder removed, and an ``InputError`` (code ``parse-limit``) names the limit.

The child sends back plain data only — JSON holding WKB (hex), column values and the CRS as
PROJJSON — which the parent checks before building a ``GeoDataFrame`` from it: nothing the child
sends is unpickled or executed.

Limits come from the environment (read at each parse): ``WARDPLAN_PARSE_CPU_S`` (60),
``WARDPLAN_PARSE_TIMEOUT_S`` (120), ``WARDPLAN_PARSE_MEMORY_MB`` (4096), ``WARDPLAN_PARSE_FILE_MB``
(2048), ``WARDPLAN_PARSE_NETNS`` (1; 0 skips the namespace, for tests of GDAL's own settings),
``WARDPLAN_PARSE_LANDLOCK`` (1; 0 skips Landlock). Which confinement a parse had is logged when
one is missing, and :func:`confinement` gives the last parse's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from gis import landlock, parse_server
from gis.errors import InputError, Issue
from gis.layer import FileBytes

log = logging.getLogger(__name__)

#: GDAL and PROJ settings of the child: no URL may be opened through ``/vsicurl/``, PROJ fetches
#: no grid, and any HTTP request GDAL would still make goes to a proxy that is not there.
CHILD_GDAL_CONFIG: Mapping[str, str] = {
    "CPL_VSIL_CURL_ALLOWED_FILENAME": "/wardplan-reads-no-urls",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "PROJ_NETWORK": "OFF",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
#: Environment variables the child never inherits (proxies, and any GDAL/PROJ setting).
_DROPPED_PREFIXES = ("GDAL_", "CPL_", "OGR_", "PROJ_", "VSI_", "AWS_", "GS_", "AZURE_")
_DROPPED_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy"}
_FOLDER_PREFIX = "wardplan-parse-"
#: Where bytes as received (an upload's, a request's) are given to GDAL, in the parse's folder.
_INPUT = "input"
_POLL_S = 0.05
_EXIT_MEMORY = 3
_NOT_LIMITS = ("wall_s", "netns", "landlock")
_ARCHIVE_SETTINGS = (
    "MAX_INFLATED_BYTES",
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_TOTAL_RATIO",
    "RATIO_FLOOR",
)


@dataclass(frozen=True)
class ParseLimits:
    """What one parse may use; ``wall_s`` is enforced by the parent, the rest by the kernel."""

    cpu_s: int = 60
    wall_s: float = 120.0
    memory_mb: int = 4096
    file_mb: int = 2048
    netns: bool = True
    landlock: bool = True

    @classmethod
    def from_env(cls) -> ParseLimits:
        env = os.environ
        return cls(
            cpu_s=int(env.get("WARDPLAN_PARSE_CPU_S", cls.cpu_s)),
            wall_s=float(env.get("WARDPLAN_PARSE_TIMEOUT_S", cls.wall_s)),
            memory_mb=int(env.get("WARDPLAN_PARSE_MEMORY_MB", cls.memory_mb)),
            file_mb=int(env.get("WARDPLAN_PARSE_FILE_MB", cls.file_mb)),
            netns=env.get("WARDPLAN_PARSE_NETNS", "1") != "0",
            landlock=env.get("WARDPLAN_PARSE_LANDLOCK", "1") != "0",
        )


@dataclass
class Parsed:
    """What the child read: the frame as GDAL gave it, whether it declares a CRS, its notes."""

    frame: gpd.GeoDataFrame
    declares_crs: bool
    warnings: list[str]


#: How the last parse of this process was confined (see :func:`confinement`).
_last_confinement: dict[str, str] = {}


def confinement() -> dict[str, str]:
    """How the last parse of this process was confined: ``network`` (``"namespace"`` or why
    not) and ``files`` (``"landlock ABI n"`` or why not). Before the first parse: what the
    kernel offers for the files, and the network not yet known."""
    if _last_confinement:
        return dict(_last_confinement)
    abi = landlock.abi_version() if ParseLimits.from_env().landlock else "not asked"
    files = f"landlock ABI {abi}" if isinstance(abi, int) else f"not confined ({abi})"
    return {"files": files, "network": "not known before the first parse"}


def _note_confinement(result: dict[str, Any]) -> None:
    netns, files = result.get("netns"), result.get("landlock")
    _last_confinement["network"] = "namespace" if netns is True else f"GDAL settings only ({netns})"
    if isinstance(files, int) and not isinstance(files, bool):
        _last_confinement["files"] = f"landlock ABI {files}"
    else:
        _last_confinement["files"] = f"not confined ({files})"
    if netns is not True:
        log.warning("upload parsed without a network namespace: %s", netns)
    if _last_confinement["files"].startswith("not"):
        log.warning("upload parsed without file confinement: %s", files)


class ParseStopped(Exception):
    """The process is shutting down (SIGTERM): the parse was stopped, nothing was read."""


_stopping = threading.Event()


def stop_all() -> None:
    """Stop every parse of this process now (their children are killed) and refuse new ones."""
    _stopping.set()


def parse_in_sandbox(
    path: Path | FileBytes,
    *,
    label: str,
    crs_given: bool,
    drivers: Collection[str],
    limits: ParseLimits | None = None,
) -> Parsed:
    """Read ``path`` with ``gis.io._read_source`` in a sandboxed child (see the module's doc).

    Bytes as received (``FileBytes``) are written into the parse's own private folder, the one
    file GDAL needs, and go with it: the caller writes nothing.

    Raises the child's ``InputError`` as is, an ``InputError`` coded ``parse-limit`` when a limit
    stopped it, and ``ParseStopped`` when the process is shutting down.
    """
    limits = limits or ParseLimits.from_env()
    if _stopping.is_set():
        raise ParseStopped("the server is shutting down")
    sweep_stale_folders(_FOLDER_PREFIX)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))
    try:
        request = {
            "path": str(_input(tmp, path)),
            "label": label,
            "crs_given": crs_given,
            "tmp": str(tmp),
            "netns": limits.netns,
            "landlock": limits.landlock,
            "limits": {k: v for k, v in asdict(limits).items() if k not in _NOT_LIMITS},
            "archive": _archive_settings(),
        }
        returncode, stopped_by = _run_child(request, tmp, drivers, limits)
        return _outcome(returncode, stopped_by, tmp, label, limits)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _input(tmp: Path, source: Path | FileBytes) -> Path:
    """The file the child reads: ``source`` itself, or its bytes written into ``tmp``."""
    if not isinstance(source, FileBytes):
        return source.resolve()
    (tmp / _INPUT).mkdir()
    staged = tmp / _INPUT / "received"
    staged.write_bytes(source.data)
    return staged


def _archive_settings() -> dict[str, Any]:
    from gis import archive

    return {name: getattr(archive, name) for name in _ARCHIVE_SETTINGS if hasattr(archive, name)}


def _child_env(tmp: Path, drivers: Collection[str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in _DROPPED_NAMES and not k.upper().startswith(_DROPPED_PREFIXES)
    }
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.update(CHILD_GDAL_CONFIG)
    env["GDAL_SKIP"] = ",".join(sorted(set(pyogrio.list_drivers()) - set(drivers)))
    env["TMPDIR"] = env["CPL_TMPDIR"] = str(tmp)
    return env


def _run_child(
    request: dict[str, Any], tmp: Path, drivers: Collection[str], limits: ParseLimits
) -> tuple[int, str | None]:
    """Run the child to its end or to a limit; returns its exit status and what stopped it.

    The child is forked from the preloaded parse server (``gis.parse_server``) when it can be,
    else spawned (``python -m gis.parse_child``); it is confined the same way either way."""
    env = _child_env(tmp, drivers)
    if parse_server.enabled():
        ran = parse_server.run(request, env, limits.wall_s, _stopping)
        if ran is not None:
            return ran
        _empty(tmp)  # the spawned child starts from an empty folder (but for the input)
    return _spawn_child(request, tmp, env, limits)


def _empty(folder: Path) -> None:
    for item in folder.iterdir():
        if item.name == _INPUT:
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)


def _spawn_child(
    request: dict[str, Any], tmp: Path, env: dict[str, str], limits: ParseLimits
) -> tuple[int, str | None]:
    with (tmp / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gis.parse_child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=tmp,
            env=env,
            start_new_session=True,
        )
    stopped_by: str | None = None
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request).encode())
        proc.stdin.close()
        deadline = time.monotonic() + limits.wall_s
        while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if _stopping.is_set():
                stopped_by = "stopping"
                break
            if time.monotonic() > deadline:
                stopped_by = "time"
                break
            _stopping.wait(_POLL_S)
    finally:
        # The child is alive or a zombie (not yet reaped), so its group id is still its own.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode, stopped_by


def _limit_error(label: str, message: str) -> InputError:
    return InputError(
        f"{label}: the file was not read: {message}",
        [Issue("parse-limit", message, file=label)],
        code="parse-limit",
    )


def _outcome(
    returncode: int, stopped_by: str | None, tmp: Path, label: str, limits: ParseLimits
) -> Parsed:
    if stopped_by == "stopping":
        raise ParseStopped("the server is shutting down; the file was not read")
    if stopped_by == "time":
        raise _limit_error(
            label,
            f"reading it took longer than {limits.wall_s:g} s, the time limit; it was stopped",
        )
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise _limit_error(
            label,
            f"reading it used more than {limits.cpu_s} s of CPU, the CPU limit; it was stopped",
        )
    if returncode == _EXIT_MEMORY:
        raise _limit_error(
            label, f"reading it needed more than {limits.memory_mb} MB of memory, the memory limit"
        )
    if returncode == -signal.SIGXFSZ:
        raise _limit_error(label, f"reading it wrote a file larger than {limits.file_mb} MB")
    if returncode < 0:
        _log_stderr(tmp, f"signal {signal.Signals(-returncode).name}")
        raise _limit_error(
            label,
            f"the reader crashed ({signal.Signals(-returncode).name}); it may have passed the "
            f"memory limit of {limits.memory_mb} MB",
        )
    result = _result(tmp)
    if result is None and _out_of_memory(tmp):
        # a native library that cannot allocate ends the process itself (OpenBLAS: exit 1)
        _log_stderr(tmp, f"exit {returncode}")
        raise _limit_error(
            label, f"reading it needed more than {limits.memory_mb} MB of memory, the memory limit"
        )
    if result is None or "crash" in result:
        _log_stderr(tmp, str(result.get("crash") if result else f"exit {returncode}"))
        from gis.io import file_error

        name = result.get("crash") if result else None
        raise file_error(label, f"could not be read (the reader failed: {name})", "unreadable")
    _note_confinement(result)
    if "error" in result:
        raise decode_error(result["error"])
    return decode_source(result["source"])


def _result(tmp: Path) -> dict[str, Any] | None:
    try:
        with (tmp / "result.json").open(encoding="ascii") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


#: What native libraries print when an allocation fails under the memory limit.
_NO_MEMORY = (
    "memory allocation",  # OpenBLAS
    "cannot allocate memory",  # ENOMEM from C
    "out of memory",
    "bad_alloc",  # C++ (GDAL, GEOS, PROJ)
    "memoryerror",
)


def _out_of_memory(tmp: Path) -> bool:
    try:
        tail = (tmp / "stderr.txt").read_bytes()[-2000:].decode("utf-8", "replace").lower()
    except OSError:
        return False
    return any(sign in tail for sign in _NO_MEMORY)


def _log_stderr(tmp: Path, what: str) -> None:
    try:
        tail = (tmp / "stderr.txt").read_bytes()[-2000:].decode("utf-8", "replace")
    except OSError:
        tail = ""
    log.warning("the upload parser failed (%s): %s", what, tail)


def sweep_stale_folders(prefix: str) -> None:
    """Remove ``<prefix><pid>-*`` folders in the temp dir whose process is gone (a SIGKILL)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{prefix}*"):
        pid_text = folder.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:
            continue


# --- the child's side and the plain data it sends ------------------------------------------------


def run_in_child(request: dict[str, Any]) -> dict[str, Any]:
    """In the child: read the file and return the JSON-ready result."""
    from gis import archive, io

    for name, value in request.get("archive", {}).items():
        if name in _ARCHIVE_SETTINGS:
            setattr(archive, name, value)
    try:
        source = io._read_source(
            Path(request["path"]),
            Path(request["tmp"]),
            str(request["label"]),
            crs_given=bool(request["crs_given"]),
        )
    except InputError as exc:
        return {"error": encode_error(exc)}
    return {"source": encode_source(source.frame, source.declares_crs, source.warnings)}


def encode_error(exc: InputError) -> dict[str, Any]:
    return {"title": exc.title, "code": exc.code, "issues": [asdict(i) for i in exc.issues]}


def decode_error(data: Any) -> InputError:
    if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
        raise _bad_result("error")
    fields = set(Issue.__dataclass_fields__)
    issues = []
    for item in data["issues"]:
        if not isinstance(item, dict) or not set(item) <= fields:
            raise _bad_result("issue")
        issues.append(Issue(**item))
    return InputError(str(data.get("title")), issues, code=str(data.get("code")))


def encode_source(frame: gpd.GeoDataFrame, declares_crs: bool, notes: list[str]) -> dict[str, Any]:
    geometry = frame.geometry.name
    columns = [_encode_column(str(c), frame[c]) for c in frame.columns if c != geometry]
    wkb = shapely.to_wkb(frame.geometry.to_numpy(), hex=True, output_dimension=4, flavor="iso")
    return {
        "columns": columns,
        "geometry_name": str(geometry),
        "wkb": [None if g is None else str(g) for g in wkb],
        "crs": None if frame.crs is None else frame.crs.to_json(),
        "declares_crs": bool(declares_crs),
        "warnings": [str(n) for n in notes],
    }


def _encode_column(name: str, series: pd.Series[Any]) -> dict[str, Any]:
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return {"name": name, "dtype": dtype.str, "values": series.tolist()}
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return {"name": name, "dtype": dtype.str, "ints": series.to_numpy().view("i8").tolist()}
    return {"name": name, "dtype": "object", "values": [_plain(v) for v in series.tolist()]}


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def decode_source(data: Any) -> Parsed:
    """The child's result as a frame; anything not of the expected shape is refused."""
    if not isinstance(data, dict) or not isinstance(data.get("wkb"), list):
        raise _bad_result("source")
    wkb = data["wkb"]
    if not all(g is None or isinstance(g, str) for g in wkb):
        raise _bad_result("geometry")
    columns: dict[str, Any] = {}
    for column in data.get("columns", []):
        name, series = _decode_column(column, len(wkb))
        columns[name] = series
    crs = data.get("crs")
    frame = gpd.GeoDataFrame(
        columns,
        geometry=gpd.GeoSeries(shapely.from_wkb(np.array(wkb, dtype=object)), name="geometry"),
        crs=None if crs is None else CRS.from_json(str(crs)),
    )
    if data.get("geometry_name") not in (None, "geometry"):
        frame = frame.rename_geometry(str(data["geometry_name"]))
    notes = data.get("warnings", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise _bad_result("warnings")
    return Parsed(frame, bool(data.get("declares_crs")), notes)


def _decode_column(column: Any, length: int) -> tuple[str, pd.Series[Any]]:
    if not isinstance(column, dict) or not isinstance(column.get("name"), str):
        raise _bad_result("column")
    dtype = str(column.get("dtype"))
    if "ints" in column:
        values = np.array(column["ints"], dtype="i8").view(np.dtype(dtype))
        if values.dtype.kind != "M":
            raise _bad_result("column")
        series = pd.Series(values)
    elif dtype == "object":
        plain = column.get("values")
        if not isinstance(plain, list) or not all(
            v is None or isinstance(v, str | int | float) for v in plain
        ):
            raise _bad_result("column")
        series = pd.Series(plain, dtype=object)
    else:
        target = np.dtype(dtype)
        if target.kind not in "biuf":
            raise _bad_result("column")
        series = pd.Series(np.array(column.get("values"), dtype=target))
    if len(series) != length:
        raise _bad_result("column")
    return column["name"], series


def _bad_result(what: str) -> InputError:
    log.warning("the upload parser sent a malformed %s", what)
    message = "could not be read (the reader sent a malformed result)"
    return InputError(message, [Issue("unreadable", message)], code="unreadable")
