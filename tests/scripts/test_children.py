"""scripts/children.sh (sourced by scripts/demo.sh): a signal to the demo stops every child.

Ctrl-C worked (the terminal signals the whole foreground group), but a signal sent to one process
stopped nothing: bash waits for its foreground child before acting on a signal, so the API server
and the worker kept running. Here a script that, like the demo, runs one child in the foreground
and one in the background is signalled alone: SIGINT and SIGTERM to the script, and SIGTERM to the
``make`` running it (GNU make passes SIGTERM on to its children; a SIGINT it keeps, waiting for
the children the terminal would have signalled too — that case is left to Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state != "Z"


def _wait_for(path: Path, lines: int) -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and len(found := path.read_text().split()) >= lines:
            return found
        time.sleep(0.05)
    pytest.fail(f"{path} never listed {lines} children")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize(
    ("through_make", "signal_number"),
    [(False, signal.SIGINT), (False, signal.SIGTERM), (True, signal.SIGTERM)],
)
def test_a_signal_to_the_demo_alone_stops_every_child(
    tmp_path: Path, through_make: bool, signal_number: int
) -> None:
    pids = tmp_path / "pids"
    script = tmp_path / "long.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        f". {REPO / 'scripts' / 'children.sh'}\n"
        f"start bash -c 'echo $$ >>{pids}; exec sleep 300'\n"
        f"run bash -c 'echo $$ >>{pids}; exec sleep 300'\n"
        "echo never reached\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"demo:\n\t{script}\n", encoding="utf-8")
    command = ["make", "-s", "-f", str(makefile), "demo"] if through_make else [str(script)]
    make = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # no terminal group: only the signal sent below reaches anyone
        # as from a terminal: a suite started in the background inherits SIGINT ignored, and
        # bash cannot trap a signal that was ignored when it started
        preexec_fn=_default_sigint,
    )
    try:
        children = [int(p) for p in _wait_for(pids, 2)]
        assert all(_alive(p) for p in children)
        make.send_signal(signal_number)  # to one process only, not to its process group
        out, _ = make.communicate(timeout=60)
        assert make.returncode != 0
        assert b"never reached" not in out
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p for p in children if _alive(p)] == []
    finally:
        if _alive(make.pid):
            os.killpg(make.pid, signal.SIGKILL)
        make.wait(timeout=30)
        for stream in (make.stdout, make.stderr):
            if stream is not None:
                stream.close()
