"""The upload sandbox on the command line: ``wardplan requirement`` run as a real process.

The GeoPackage whose ward layer never finishes (``tests.gis.test_sandbox``) ends the command at
the wall-clock limit with a message naming it; SIGTERM ends it at once. Either way no parse
process and no temp folder are left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.app.test_sandbox_http import parses_in
from tests.gis.test_sandbox import never_ending_geopackage

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
#: Seconds the test waits at most (a guard against hanging, not a measurement).
GUARD_S = 120


def start(gpkg: Path, scratch: Path, **limits: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(scratch), **limits}
    return subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "requirement", str(gpkg)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def gpkg(shared_data: Path, tmp_path: Path) -> Path:
    doc = json.loads((shared_data / "chandigarh" / "wards.geojson").read_text(encoding="utf-8"))
    folder = tmp_path / "files"
    folder.mkdir()
    return never_ending_geopackage({**doc, "features": doc["features"][:5]}, folder)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    folder = tmp_path / "cli-tmp"
    folder.mkdir()
    return folder


def test_the_cli_stops_at_the_time_limit(gpkg: Path, scratch: Path) -> None:
    proc = start(gpkg, scratch, WARDPLAN_PARSE_TIMEOUT_S="5", WARDPLAN_PARSE_CPU_S="600")
    _, stderr = proc.communicate(timeout=GUARD_S)
    assert proc.returncode == 2, stderr
    assert "wards.gpkg: the file was not read" in stderr
    assert "longer than 5 s, the time limit" in stderr
    assert "Traceback" not in stderr
    assert parses_in(scratch) == []
    assert list(scratch.iterdir()) == []


def test_sigterm_ends_the_cli_and_its_parse(gpkg: Path, scratch: Path) -> None:
    proc = start(gpkg, scratch, WARDPLAN_PARSE_TIMEOUT_S="3600", WARDPLAN_PARSE_CPU_S="3600")
    deadline = time.monotonic() + GUARD_S
    while not parses_in(scratch):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the parse never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=GUARD_S)
    assert proc.returncode == 128 + signal.SIGTERM
    assert parses_in(scratch) == []
    assert list(scratch.iterdir()) == []
