"""`make demo` plans DataMeet's Lucknow on the command line too: its allocate step states the data's
credit exactly as the service's demo upload does (gis/credits.py), so the offline map, the sheets
and report.json credit the source (CC BY-SA asks for it)."""

from __future__ import annotations

import shlex

from gis.credits import DATAMEET_LICENCE, DATAMEET_SOURCE
from tests.conftest import REPO


def test_the_demo_allocate_step_states_the_datameet_credit() -> None:
    script = (REPO / "scripts" / "demo.sh").read_text(encoding="utf-8")
    line = next(x for x in script.splitlines() if x.startswith("credit=("))
    words = shlex.split(line.removeprefix("credit=(").removesuffix(")"))
    assert words == ["--source", DATAMEET_SOURCE, "--licence", DATAMEET_LICENCE]
    allocate = script[script.index("wardplan allocate") :].split("\nrun ", 1)[0]
    assert '"${credit[@]}"' in allocate
