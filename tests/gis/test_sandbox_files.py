"""The parse child's file access is confined with Landlock where the kernel has it (``gis.landlock``).

A probe child confines itself exactly as a parse child does (``gis.parse_child.confine_files``, with
the request and environment ``gis.sandbox`` gives a parse) and then tries what an exploited reader
would: read a secret file beside its input and one elsewhere (by Python and through GDAL), list a
folder, write outside its private folder, run a program, connect to a TCP listener (Landlock ABI
4 and later). Each must be refused (``EACCES``) while the input itself, the private folder, Python,
numpy and GDAL still work; real uploads from ``../shared/data`` still parse through the sandbox,
which reports the confinement it had. Without the confinement (``WARDPLAN_PARSE_LANDLOCK=0``, the
fallback of a kernel without Landlock) the same probe reads the secret, so the refusals above are
Landlock's.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from gis import landlock, sandbox
from gis.io import ALLOWED_DRIVERS, read_ward_layer
from gis.sandbox import ParseLimits, parse_in_sandbox

KERNEL_ABI = landlock.abi_version()
needs_landlock = pytest.mark.skipif(
    isinstance(KERNEL_ABI, str), reason=f"this kernel has no Landlock: {KERNEL_ABI}"
)

#: The probe: confine as a parse child, then try each step; prints what each step gave.
PROBE = """
import json, os, socket, subprocess, sys
from gis.parse_child import confine_files

request, secrets = json.loads(sys.argv[1]), json.loads(sys.argv[2])
report = {"confined": confine_files(request)}

def attempt(name, step):
    try:
        step()
        report[name] = "ok"
    except OSError as exc:
        report[name] = exc.errno
    except Exception as exc:
        report[name] = type(exc).__name__ + ": " + str(exc)

def gdal_rows(path):
    import pyogrio
    assert pyogrio.read_info(path)["features"] > 0

attempt("read input", lambda: open(request["path"], "rb").read())
attempt("read secret beside the input", lambda: open(secrets["beside"], "rb").read())
attempt("read secret elsewhere", lambda: open(secrets["elsewhere"], "rb").read())
attempt("read /etc/passwd", lambda: open("/etc/passwd", "rb").read())
attempt("list the input's folder", lambda: os.listdir(os.path.dirname(request["path"])))
attempt("write in its folder", lambda: open(os.path.join(request["tmp"], "x"), "w").write("x"))
attempt("write elsewhere", lambda: open(secrets["write"], "w").write("x"))
attempt("run a program", lambda: subprocess.run(["/bin/true"], check=True))
attempt("connect over TCP", lambda: socket.create_connection(("127.0.0.1", secrets["port"]), 5))
attempt("numpy", lambda: __import__("numpy").arange(3).sum())
attempt("GDAL reads the input", lambda: gdal_rows(request["path"]))
attempt("GDAL reads the secret", lambda: gdal_rows(secrets["elsewhere"]))
attempt("remove the secret", lambda: os.unlink(secrets["elsewhere"]))
print(json.dumps(report))
"""


def _probe(tmp_path: Path, wards: Path, *, landlock_on: bool) -> dict[str, Any]:
    """Run the probe on a copy of ``wards`` with two secrets (valid GeoJSON layers)."""
    upload, hidden = tmp_path / "upload", tmp_path / "elsewhere"
    upload.mkdir()
    hidden.mkdir()
    private = Path(tempfile.mkdtemp(prefix="wardplan-parse-probe-", dir=tmp_path))
    source = upload / "wards.geojson"
    shutil.copyfile(wards, source)
    secrets: dict[str, Any] = {
        "beside": str(upload / "secret.geojson"),
        "elsewhere": str(hidden / "secret.geojson"),
        "write": str(hidden / "written.txt"),
    }
    for key in ("beside", "elsewhere"):
        shutil.copyfile(wards, secrets[key])
    request = {"path": str(source), "tmp": str(private), "landlock": landlock_on}
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    secrets["port"] = listener.getsockname()[1]
    env = sandbox._child_env(private, ALLOWED_DRIVERS["geojson"])
    with listener:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(request), json.dumps(secrets)],
            cwd=private,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@needs_landlock
def test_the_confined_child_reads_only_its_input_and_writes_only_its_folder(
    tmp_path: Path, shared_data: Path
) -> None:
    report = _probe(tmp_path, shared_data / "chandigarh" / "wards.geojson", landlock_on=True)
    assert report.pop("confined") == KERNEL_ABI
    eacces = 13
    assert report == {
        "read input": "ok",
        "read secret beside the input": eacces,
        "read secret elsewhere": eacces,
        "read /etc/passwd": eacces,
        "list the input's folder": eacces,
        "write in its folder": "ok",
        "write elsewhere": eacces,
        "remove the secret": eacces,
        "run a program": eacces,
        # without the network namespace (the probe does not enter one): Landlock's TCP rule
        "connect over TCP": eacces if isinstance(KERNEL_ABI, int) and KERNEL_ABI >= 4 else "ok",
        "numpy": "ok",
        "GDAL reads the input": "ok",
        "GDAL reads the secret": report["GDAL reads the secret"],
    }
    # GDAL cannot open it either, and says why.
    assert str(report["GDAL reads the secret"]).startswith("DataSourceError: ")
    assert str(report["GDAL reads the secret"]).endswith("secret.geojson: Permission denied")
    assert (tmp_path / "elsewhere" / "secret.geojson").exists()
    assert not (tmp_path / "elsewhere" / "written.txt").exists()


def test_without_the_confinement_the_same_probe_reads_the_secret(
    tmp_path: Path, shared_data: Path
) -> None:
    """The fallback (no Landlock: turned off here, as on a kernel without it): the child is not
    confined and says why; the probe's refusals above are the confinement's, not the test's."""
    report = _probe(tmp_path, shared_data / "chandigarh" / "wards.geojson", landlock_on=False)
    assert report["confined"] == "not asked"
    assert report["read secret elsewhere"] == "ok"
    assert report["GDAL reads the secret"] == "ok"
    assert report["write elsewhere"] == "ok"
    assert report["connect over TCP"] == "ok"


@pytest.fixture(params=["server", pytest.param("spawn", marks=pytest.mark.slow)])
def parse_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WARDPLAN_PARSE_SERVER", "1" if request.param == "server" else "0")
    return str(request.param)


@needs_landlock
@pytest.mark.usefixtures("parse_mode")
@pytest.mark.parametrize(
    ("relative", "kind", "count"),
    [
        ("chandigarh/wards.geojson", "geojson", 26),
        ("chandigarh/raw/Chandigarh_Wards-SHP.zip", "zip", 28),
    ],
)
def test_real_uploads_parse_under_the_confinement(
    shared_data: Path, relative: str, kind: str, count: int
) -> None:
    parsed = parse_in_sandbox(
        shared_data / relative,
        label=Path(relative).name,
        crs_given=False,
        drivers=ALLOWED_DRIVERS[kind],
        limits=ParseLimits(),
    )
    assert len(parsed.frame) == count
    assert parsed.frame.crs is not None
    assert sandbox.confinement()["files"] == f"landlock ABI {KERNEL_ABI}"
    assert (
        sandbox.confinement()["network"] in ("namespace",)
        or "GDAL settings only" in (sandbox.confinement()["network"])
    )


def test_turned_off_it_is_reported_and_uploads_still_parse(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDPLAN_PARSE_LANDLOCK", "0")
    layer = read_ward_layer(shared_data / "chandigarh" / "wards.geojson")
    assert len(layer.wards) == 26
    assert sandbox.confinement()["files"] == "not confined (not asked)"
