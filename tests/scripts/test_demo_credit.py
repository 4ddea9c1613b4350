"""`make demo` plans DataMeet's Lucknow on the command line too: its allocate step states the data's
credit that the service's demo upload states, read from gis/credits.py (not a copy), so the offline
map, the sheets and report.json credit the source (CC BY-SA asks for it)."""

from __future__ import annotations

import subprocess

from gis.credits import DATAMEET_LICENCE, DATAMEET_SOURCE
from tests.conftest import REPO


def test_the_demo_allocate_step_states_the_datameet_credit() -> None:
    script = (REPO / "scripts" / "demo.sh").read_text(encoding="utf-8")
    lines = script.splitlines()
    first = next(i for i, x in enumerate(lines) if x.startswith("source=$("))
    last = next(i for i, x in enumerate(lines) if x.startswith("credit=("))
    # run the script's own lines that make the credit, and print what they give
    body = "\n".join([*lines[first : last + 1], 'printf "%s\\n" "${credit[@]}"'])
    shown = subprocess.run(
        ["bash", "-c", body], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert shown == ["--source", DATAMEET_SOURCE, "--licence", DATAMEET_LICENCE]
    allocate = script[script.index("wardplan allocate") :].split("\nrun ", 1)[0]
    assert '"${credit[@]}"' in allocate
