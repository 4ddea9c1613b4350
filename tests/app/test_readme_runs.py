"""The README's `curl` examples run as written against the demo (issue 20): a fresh database loaded
as `make demo` loads it (scripts/load_demo.py), a real uvicorn and a real `wardplan worker` on it,
and every example sent with real `curl`, in the README's order, with the demo's admin key as
``$KEY``. Each must answer below 400 (curl -f exits 0), each download must be a file of its kind,
and where the README queues a job the examples after it wait for that job to succeed."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.app.test_readme_examples import ROOT, readme_commands

pytestmark = [pytest.mark.slow, pytest.mark.db]

BIN = Path(sys.executable).parent
#: The address the README's examples name; each is sent to the test's server instead.
README_HOSTS = ("http://127.0.0.1:8000", "http://localhost:8000")
#: Examples that cannot run against the demo as written, each with the reason. Every entry must
#: match exactly one example (a stale entry fails the test).
NOT_RUN = {
    "file=@wards.geojson": "uploads a layer of the reader's own (wards.geojson, ward_names.csv): "
    "placeholder names, no such files are shipped",
    "/cities/lucknow/jobs/1/cancel": "cancels the plan job whose plan 2 every example after it "
    "uses (run after the job has finished it answers 409 job-finished, by design)",
    "file=@my-city/": "uploads a layer with every intake option, all files of the reader's own "
    "(placeholders under my-city/, not shipped)",
    "/states/UP/import": "imports a state's own bundle (state.zip, manifest.xlsx): placeholder "
    "names, no such files are shipped",
}
#: What a downloaded file starts with, by its extension.
MAGIC = {
    ".pdf": b"%PDF-",
    ".xlsx": b"PK\x03\x04",
    ".zip": b"PK\x03\x04",
    ".gpkg": b"SQLite format 3\x00",
    ".kml": b"<?xml",
}
#: How long a job the README queues may take (its time_limit plus the worker's room, on a busy
#: machine); only a bound for a hung job, not a speed check.
JOB_BOUND_S = 900.0
FINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class Demo:
    base: str
    key: str
    url: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The cluster's superuser (scripts/postgres.sh creates its databases and PostGIS as it; the
#: cluster trusts local connections): the test's role may not create databases.
SUPERUSER = "postgres"


def _url(cluster_url: str, database: str, *, superuser: bool = False) -> str:
    url = make_url(cluster_url).set(database=database)
    if superuser:
        url = url.set(username=SUPERUSER)
    return url.render_as_string(hide_password=False)


def _as_superuser(cluster_url: str, database: str, statement: str) -> None:
    engine = create_engine(
        _url(cluster_url, database, superuser=True), isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def _create_database(cluster_url: str, name: str) -> str:
    """A new database owned by the test's role, with PostGIS, as scripts/postgres.sh makes one."""
    owner = make_url(cluster_url).username
    _as_superuser(cluster_url, "postgres", f'CREATE DATABASE "{name}" OWNER "{owner}"')
    _as_superuser(cluster_url, name, "CREATE EXTENSION IF NOT EXISTS postgis")
    return _url(cluster_url, name)


def _drop_database(cluster_url: str, name: str) -> None:
    _as_superuser(cluster_url, "postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after a bound; then no process of it is left."""
    group = process.pid
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        process.wait(timeout=30)
    for _ in range(100):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)
    pytest.fail(f"processes of group {group} ({process.args!r}) were left running")


def _wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the API server ended:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the API did not answer /health:\n{log.read_text(errors='replace')[-3000:]}")


def _load_demo(env: dict[str, str], shared_data: Path) -> tuple[int, str]:
    """scripts/load_demo.py as `make demo` runs it (a 10 s solve): the plan id and the key."""
    for args in (
        [str(BIN / "alembic"), "upgrade", "head"],
        [str(BIN / "python"), "scripts/load_demo.py", str(shared_data), "10"],
    ):
        done = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    plan = re.search(r"^plan (\d+):", done.stdout, flags=re.M)
    key = re.search(r"^key (\S+)$", done.stdout, flags=re.M)
    assert plan, done.stdout
    assert key, "load_demo.py printed no key"
    return int(plan.group(1)), key.group(1)


@pytest.fixture(scope="module")
def demo(
    database_url: str, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """The demo's database in a fresh database of the test cluster, served by uvicorn with a
    solve worker beside it, as scripts/demo.sh serves it; all stopped and dropped afterwards."""
    name = f"wardplan_readme_{secrets.token_hex(4)}"
    logs = tmp_path_factory.mktemp("readme-logs")
    url = _create_database(database_url, name)
    env = {**os.environ, "WARDPLAN_DB_URL": url, "WARDPLAN_API_LINK_SECRET": secrets.token_hex(32)}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        plan_id, key = _load_demo(env, shared_data)
        assert plan_id == 1, "the README's examples take the demo's plan to be plan 1"
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server_log = logs / "uvicorn.log"
        processes.append(_start([str(BIN / "wardplan"), "worker"], env, logs / "worker.log"))
        processes.append(
            _start(
                [str(BIN / "uvicorn"), "app.main:create_app", "--factory", "--port", str(port)],
                env,
                server_log,
            )
        )
        _wait_healthy(base, processes[-1], server_log)
        yield Demo(base=base, key=key, url=url)
    finally:
        for process in reversed(processes):
            _stop(process)
        _drop_database(database_url, name)


def _workdir(tmp_path: Path) -> Path:
    """A folder where the README's relative paths resolve: examples/ beside it and ../shared."""
    work = tmp_path / "wardplan"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    return work


def _assignment(args: list[str], variables: dict[str, str]) -> bool:
    """A shell assignment such as ``D=../shared/data/lucknow``: remembered for the lines after."""
    if len(args) == 1 and re.fullmatch(r"[A-Z]\w*=\S+", args[0]):
        name, value = args[0].split("=", 1)
        variables[name] = value
        return True
    return False


def _expand(arg: str, variables: dict[str, str]) -> str:
    """``$NAME`` as the shell expands it (an unknown name fails the test)."""
    return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], arg)


def _argv(args: list[str], demo: Demo, variables: dict[str, str]) -> list[str]:
    values = {**variables, "KEY": demo.key}
    out = []
    for arg in args:
        for host in README_HOSTS:
            arg = arg.replace(host, demo.base)
        out.append(_expand(arg, values))
    # -sS: no progress meter, errors still shown; the status goes last on stdout
    return [out[0], "-sS", "-w", "\n%{http_code}", *out[1:]]


def _job_url(output: str) -> str | None:
    """The job a 202 answer names: its Location header (curl -i) or its body's ``url``."""
    location = re.search(r"^location: *(\S+)", output, flags=re.M | re.I)
    if location:
        return location.group(1)
    try:
        body = json.loads(output.strip().rsplit("\n", 1)[0].split("\r\n\r\n")[-1])
    except ValueError:
        return None
    url = body.get("url") if isinstance(body, dict) else None
    return url if isinstance(url, str) and "/jobs/" in url else None


def _wait_for_job(demo: Demo, path: str) -> None:
    request = urllib.request.Request(
        demo.base + path, headers={"Authorization": f"Bearer {demo.key}"}
    )
    deadline = time.monotonic() + JOB_BOUND_S
    job: dict[str, object] = {}
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=30) as reply:
            job = json.loads(reply.read())
        if job["status"] in FINAL:
            break
        time.sleep(2)
    assert job.get("status") == "succeeded", f"the README's job {path} did not succeed: {job}"


def _check_download(args: list[str], work: Path) -> None:
    if "-o" in args:
        name = args[args.index("-o") + 1]
    elif "-O" in args:
        name = Path(urlsplit(next(a for a in args if a.startswith("http"))).path).name
    else:
        return
    path = work / name
    assert path.is_file(), f"{' '.join(args)} saved no file"
    assert path.stat().st_size > 0, f"{' '.join(args)} saved an empty file"
    magic = MAGIC[path.suffix]
    assert path.read_bytes().startswith(magic), f"{name} is not a {path.suffix} file"


def test_the_readme_curl_examples_run_as_written_against_the_demo(
    demo: Demo, tmp_path: Path
) -> None:
    work = _workdir(tmp_path)
    variables: dict[str, str] = {}
    ran, skipped, waited = 0, {mark: 0 for mark in NOT_RUN}, []
    for args in readme_commands():
        if _assignment(args, variables) or args[0] != "curl":
            continue
        if marks := [mark for mark in NOT_RUN if mark in " ".join(args)]:
            skipped.update({mark: skipped[mark] + 1 for mark in marks})
            continue
        argv = _argv(args, demo, variables)
        done = subprocess.run(
            argv, cwd=work, capture_output=True, text=True, timeout=120, check=False
        )
        shown = " ".join(args)
        assert done.returncode == 0, f"{shown}: curl exit {done.returncode}\n{done.stderr}"
        output, status = done.stdout.rsplit("\n", 1)
        assert int(status) < 400, f"{shown}: HTTP {status}\n{output[-2000:]}"
        _check_download(args, work)
        if int(status) == 202 and (job := _job_url(output)) is not None:
            _wait_for_job(demo, job)
            waited.append(job)
        ran += 1
    assert skipped == {mark: 1 for mark in NOT_RUN}, f"stale or repeated allow-list: {skipped}"
    assert ran >= 25, f"only {ran} of the README's curl examples ran"
    # the plan request (plan 2) and the re-plan (plan 3) the later examples use
    assert waited == ["/cities/lucknow/jobs/1", "/cities/lucknow/jobs/2"], waited


#: `uv run wardplan` examples the test does not run, with the reason (each must match one or more).
CLI_NOT_RUN = {
    "allocate ../shared/data/lucknow/raw": "a city-sized solve (--time-limit 120)",
    "check out/lucknow": "checks the folder the Lucknow solve above writes",
    "out/lucknow --": "edits or re-plans the folder the Lucknow solve writes (adjust, replan)",
    "wards.zip": "a ward file of the reader's own (placeholder name, not shipped)",
    "my-city/": "a poverty table, slum or sub-ward layer of the reader's own (placeholders "
    "under my-city/, not shipped)",
    "wards_households.geojson": "a ward file of the reader's own (placeholder name, not shipped)",
    "allocate wards.geojson": "a ward file and CO list of the reader's own (placeholders)",
    "--split-above": "a city-sized solve of Mumbai's wards with a CO list of the reader's own",
    "import-state": "a state's own folder of files (placeholder name, not shipped)",
    "plan-state": "plans every city of the state (a 60 s solve each) and shows an optional "
    "flag in brackets",
    "wardplan camps": "a city-sized solve (--time-limit 60)",
}
#: Other programs the README shows: what stands in for them here.
OTHER_PROGRAMS = {
    "make": "`make demo` is what the fixture does (load_demo.py, uvicorn, worker); `make test`, "
    "`make check`, `make serve` and `make worker` run the suite or the same servers",
    "export": "the fixture's admin key stands in for `export KEY=…`",
    "ogrinfo": "GDAL's command-line tools are not installed by the project",
}


def test_the_readme_cli_examples_run_as_written_against_the_demo(
    demo: Demo, tmp_path: Path
) -> None:
    work = _workdir(tmp_path)
    env = {
        **os.environ,
        "WARDPLAN_DB_URL": demo.url,
        "UV_PROJECT": str(ROOT),  # `uv run` from the examples' folder, on this checkout
        "UV_FROZEN": "1",
        "UV_NO_SYNC": "1",
    }
    ran, matched, variables = [], set(), {}
    for args in readme_commands():
        joined = " ".join(args)
        if _assignment(args, variables) or args[0] == "curl":
            continue
        if args[0] in OTHER_PROGRAMS:
            continue
        assert args[:3] == ["uv", "run", "wardplan"], (
            f"a README command the test cannot run: {joined}"
        )
        if marks := [mark for mark in CLI_NOT_RUN if mark in joined]:
            matched.update(marks)
            continue
        argv = [_expand(arg, variables) for arg in args]
        done = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"{joined}: exit {done.returncode}\n{done.stderr[-3000:]}"
        ran.append(joined)
    assert matched == set(CLI_NOT_RUN), f"stale allow-list entries: {set(CLI_NOT_RUN) - matched}"
    assert len(ran) >= 10, ran
