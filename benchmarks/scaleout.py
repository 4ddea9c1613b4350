"""Scale-out: plan a state of many cities with 1 and then 2 worker processes; report cities per
minute, the queue's overhead per job, and how the time would fall with more workers.

    WARDPLAN_DB_URL=… uv run python -m benchmarks.scaleout --cities 28 --time-limit 5 --fresh

The state ("BM") is made of the real layers in ``../shared/data`` (Lucknow, Chandigarh, Mumbai's
admin wards, Bangalore) and copies of them as further cities, imported in one step through the
manifest import (``app.services.imports``) with illustrative CO rosters, then planned with one
state plan request (``app.services.batches``) per run, solved by real ``wardplan worker``
processes. ``--fresh`` empties the database first (alembic downgrade base, upgrade head): use a
database of its own. Nothing here is a test: figures go in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from app.api.schemas import PlanParameters
from app.core.settings import get_settings
from app.db.models import Plan, SolveJob
from app.db.session import session_scope
from app.services import batches, imports
from app.services.layers import Upload
from gis.io import read_ward_layer
from gis.organisers import illustrative_organisers, write_organisers_csv

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("WARDPLAN_DATA", REPO.parent / "shared" / "data"))
#: source folder → (ward file, COs in the illustrative roster)
SOURCES = {
    "lucknow": ("lucknow/wards.geojson", 11),
    "chandigarh": ("chandigarh/wards.geojson", 3),
    "mumbai": ("mumbai_admin_wards/wards.geojson", 5),
    "bangalore": ("bangalore/wards.geojson", 12),
}


#: The manifest's columns after state, district, city and city_name.
HEADER_REST = (
    "ward_file",
    "census_table",
    "field_options",
    "cos_in_post",
    "cmms_in_post",
    "organisers",
)


@dataclass(frozen=True)
class Run:
    workers: int
    jobs: int
    succeeded: int
    wall_s: float
    run_s: list[float]  # per job: claimed → finished (process start, load, solve, store)
    solve_s: list[float]  # per job: the solver's own seconds (plan.seconds)

    @property
    def cities_per_minute(self) -> float:
        return 60 * self.jobs / self.wall_s

    @property
    def queue_overhead_s(self) -> float:
        """Per job, the worker time not spent running a job (waiting on the queue, claiming)."""
        return max(0.0, (self.workers * self.wall_s - sum(self.run_s)) / self.jobs)

    @property
    def job_overhead_s(self) -> float:
        """Per job, run time beyond the solve (child process start, loading, storing the plan)."""
        return statistics.fmean(r - s for r, s in zip(self.run_s, self.solve_s, strict=True))


def build_state(root: Path, count: int) -> Path:
    """A folder with ``count`` cities (the four real ones, then copies) and its manifest."""
    rows = []
    names = list(SOURCES)
    for k in range(count):
        source = names[k % len(names)]
        code = source if k < len(names) else f"{source}-{k // len(names) + 1}"
        ward_file, cos = SOURCES[source]
        folder = root / code
        folder.mkdir(parents=True)
        shutil.copy(DATA / ward_file, folder / "wards.geojson")
        wards = read_ward_layer(folder / "wards.geojson").wards
        write_organisers_csv(illustrative_organisers(wards, cos, seed=k), folder / "cos.csv")
        rows.append(
            [
                "BM",
                f"District {k % 5 + 1}",
                code,
                "",
                f"{code}/wards.geojson",
                "",
                "",
                str(cos),
                "1",
                f"{code}/cos.csv",
            ]
        )
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*list(imports.REQUIRED[:3]), "city_name", *HEADER_REST])
        writer.writerows(rows)
    return root


def import_state(root: Path) -> int:
    files = imports.Files.folder(root)
    with session_scope() as session:
        result = imports.import_state(
            session,
            "BM",
            Upload("manifest.csv", (root / "manifest.csv").read_bytes()),
            files,
            state_name="Benchmark State",
            actor="benchmark",
        )
    refused = [c for c in result.cities if c.refused]
    if refused:
        raise SystemExit(f"import refused cities: {[(c.city, c.refused) for c in refused]}")
    return len(result.cities)


def run_batch(workers: int, time_limit: float, logs: Path) -> Run:
    params = PlanParameters(tolerance=0.3, time_limit=time_limit)
    with session_scope() as session:
        view = batches.submit_batch(
            session,
            "BM",
            batches.BatchRequest(params.model_dump(mode="json"), {}),
            get_settings(),
            actor="benchmark",
        )
        batch_id = view.batch.id
        jobs = sum(c.job is not None for c in view.cities)
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "wardplan"), "worker"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"worker-{workers}-{k}.log").open("wb"),
            start_new_session=True,
        )
        for k in range(workers)
    ]
    try:
        while True:
            with session_scope() as session:
                view = batches.get_batch(session, "BM", batch_id)
                if view.done:
                    break
            time.sleep(0.5)
        wall = time.monotonic() - started
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(60)
    with session_scope() as session:
        rows = session.execute(
            select(SolveJob.status, SolveJob.started_at, SolveJob.finished_at, Plan.seconds)
            .outerjoin(Plan, SolveJob.plan_id == Plan.id)
            .where(SolveJob.batch_id == batch_id)
        ).all()
    done = [r for r in rows if r.status == "succeeded"]
    return Run(
        workers,
        jobs,
        len(done),
        wall,
        [(r.finished_at - r.started_at).total_seconds() for r in done],
        [float(r.seconds) for r in done],
    )


def stored_run(batch_id: int, workers: int) -> Run:
    """A finished batch's figures from the database (wall: the batch's creation to its last job's
    end, so it includes the workers' start)."""
    with session_scope() as session:
        view = batches.get_batch(session, "BM", batch_id)
        rows = session.execute(
            select(SolveJob.status, SolveJob.started_at, SolveJob.finished_at, Plan.seconds)
            .outerjoin(Plan, SolveJob.plan_id == Plan.id)
            .where(SolveJob.batch_id == batch_id)
        ).all()
        created = view.batch.created_at
    done = [r for r in rows if r.status == "succeeded"]
    wall = (max(r.finished_at for r in rows) - created).total_seconds()
    return Run(
        workers,
        len(rows),
        len(done),
        wall,
        [(r.finished_at - r.started_at).total_seconds() for r in done],
        [float(r.seconds) for r in done],
    )


def report(runs: list[Run], cities: int, time_limit: float) -> str:
    one = runs[0]
    per_job = one.wall_s / one.jobs  # one worker: the serial time per city
    lines = [
        f"{cities} cities, solver time limit {time_limit:g} s, tolerance ±30 %; "
        f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| workers | cities | succeeded | wall s | cities/min | mean run s | mean solve s |"
        " job overhead s | queue overhead s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r.workers} | {r.jobs} | {r.succeeded} | {r.wall_s:.0f} | "
            f"{r.cities_per_minute:.1f} | {statistics.fmean(r.run_s):.1f} | "
            f"{statistics.fmean(r.solve_s):.1f} | {r.job_overhead_s:.1f} | "
            f"{r.queue_overhead_s:.2f} |"
        )
    for r in runs[1:]:
        lines.append(
            f"\nSpeed-up from 1 to {r.workers} workers: ×{one.wall_s / r.wall_s:.2f} "
            f"(ideal ×{r.workers})."
        )
    lines += [
        "",
        "Expected with more workers (one core each; the serial time shared, no contention):",
    ]
    for n in (4, 8, 16):
        lines.append(
            f"- {n} workers: about {per_job * one.jobs / n / 60:.1f} min for {one.jobs} cities"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cities", type=int, default=28)
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fresh", action="store_true", help="empty the database first")
    parser.add_argument(
        "--stored",
        type=int,
        nargs="+",
        metavar="BATCH",
        help="report these finished batches (one per --workers entry) instead of running",
    )
    parser.add_argument("--note", default="", help="a sentence on the run, printed with it")
    args = parser.parse_args(argv)
    # stopped (e.g. by a time-out): the workers it started are stopped too (``finally`` runs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.stored:
        runs = [stored_run(b, n) for b, n in zip(args.stored, args.workers, strict=True)]
        text = report(runs, runs[0].jobs, args.time_limit) + "\n\n" + args.note + "\n"
        SECTION.write_text(section(text), encoding="utf-8")
        sys.stdout.write(text)
        return 0
    if args.fresh:
        for step in (["downgrade", "base"], ["upgrade", "head"]):
            subprocess.run([sys.executable, "-m", "alembic", *step], cwd=REPO, check=True)
    with tempfile.TemporaryDirectory(prefix="wardplan-scaleout-") as tmp:
        root = build_state(Path(tmp) / "state", args.cities)
        t0 = time.monotonic()
        cities = import_state(root)
        imported = time.monotonic() - t0
        runs = [run_batch(n, args.time_limit, Path(tmp)) for n in args.workers]
    text = report(runs, cities, args.time_limit)
    text += f"\n\nImport of the {cities} cities from one manifest: {imported:.0f} s.\n"
    SECTION.write_text(section(text), encoding="utf-8")
    sys.stdout.write(text)
    return 0


#: The section ``benchmarks.report`` includes in BENCHMARKS.md.
SECTION = REPO / "benchmarks" / "results" / "scaleout.md"


def section(results: str) -> str:
    """BENCHMARKS.md's scale-out section: the figures measured and how to run workers."""
    return "\n".join(
        [
            "## Scale-out: a state's cities on 1 and 2 workers (issue 14)",
            "",
            "Produced by `WARDPLAN_DB_URL=… uv run python -m benchmarks.scaleout --cities 28 "
            "--time-limit 5 --fresh` (then `uv run python -m benchmarks.report`).",
            "",
            results.strip(),
            "",
            *GUIDE,
        ]
    )


GUIDE = [
    "**Run workers on several machines.** Every worker takes jobs from the queue in the one",
    "PostgreSQL database (procrastinate's tables); it needs nothing else from the API. On one",
    "host: `docker compose up -d --scale worker=N`. On another machine: the same image or a",
    "checkout with `uv sync`, `WARDPLAN_DB_URL` pointing at the database, and `wardplan worker`",
    "(one per core to give to solving), e.g. as a service:",
    "",
    "```ini",
    "[Unit]",
    "Description=Wardplan solve worker %i",
    "After=network-online.target",
    "[Service]",
    "Environment=WARDPLAN_DB_URL=postgresql+psycopg://wardplan:…@db.example:5432/wardplan",
    "ExecStart=/opt/wardplan/.venv/bin/wardplan worker",
    "KillSignal=SIGINT",
    "Restart=always",
    "[Install]",
    "WantedBy=multi-user.target",
    "```",
    "",
    "(`systemctl enable --now wardplan-worker@1 wardplan-worker@2`.) SIGINT or SIGTERM stops a",
    "worker gracefully: its running job goes back to the queue; a worker that dies is noticed by",
    "the others (no heartbeat for `WARDPLAN_JOBS_STALLED_AFTER_S`) and its job runs again, once.",
    "`tests/app/test_state_batch.py` runs a state's batch on two such processes that share only",
    "the database URL.",
    "",
    "**What each worker needs.** Memory: the worker process about 300 MB resident, and each",
    "running solve a child process of about 370 MB resident on these cities (sampled with `ps`",
    "during this run; a 5,000-unit sub-ward layer needs more, see the per-instance memory above).",
    "Database connections: about 6–7 per worker running one job (its queue connections, the",
    "listener, the child's session and its progress writer; counted in `pg_stat_activity`), so",
    "size `max_connections` for the workers plus the API's pool (`WARDPLAN_DB_POOL_SIZE`).",
]


if __name__ == "__main__":
    raise SystemExit(main())
