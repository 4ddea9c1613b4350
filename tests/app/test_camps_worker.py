"""A camp request run by a real worker process (``wardplan worker``) on the committed jobs
database: queued by the API (202), claimed and solved in the worker's job process, stored as camp
plan version 1 and served back with its files. (The API tests run the job in-process; this one
checks the worker's own path for the ``camps`` kind.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.schemas.camps import CampJobOut, CampPlanOut
from app.core.settings import ApiSettings, DatabaseSettings, JobSettings, Settings, SolverSettings
from app.main import create_app
from gis.camps import illustrative_venues, write_venues_csv
from gis.io import read_ward_layer
from tests.app.apihelp import issue_key, upload_lucknow

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def test_a_worker_runs_a_camp_job_to_a_stored_plan(
    jobs_db: str, lucknow_files: dict[str, Path], tmp_path: Path
) -> None:
    wards = read_ward_layer(lucknow_files["raw"], exclude_ids=["0"]).wards
    window = {"start": date(2027, 4, 1), "end": date(2027, 5, 15)}
    venues = write_venues_csv(illustrative_venues(wards, **window), tmp_path / "venues.csv")
    settings = Settings(
        db=DatabaseSettings(url=jobs_db),
        solver=SolverSettings(time_limit=60),
        api=ApiSettings(),
        jobs=JobSettings(),
    )
    app = create_app(settings)
    headers = issue_key(app.state.session_factory, "camps-worker-admin", "admin")
    log = tmp_path / "worker.log"
    with TestClient(app, headers=headers) as client, log.open("wb") as sink:
        uploaded = upload_lucknow(client, "lucknow", lucknow_files, exclude="0", force="true")
        assert uploaded.status_code in (200, 201), uploaded.text
        made = client.post(
            "/cities/lucknow/camps",
            data={"start": "2027-04-01", "end": "2027-05-15", "time_limit": "10"},
            files={"venues": ("venues.csv", venues.read_bytes(), "text/csv")},
        )
        assert made.status_code == 202, made.text
        job = CampJobOut.model_validate(made.json())
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "wardplan"), "worker"],
            cwd=REPO,
            env={**os.environ, "WARDPLAN_DB_URL": jobs_db},
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            seen = CampJobOut.model_validate(client.get(job.url).json())
            while seen.status in ("queued", "running"):
                assert time.monotonic() < deadline, f"the camp job never finished: {seen}"
                time.sleep(0.5)
                seen = CampJobOut.model_validate(client.get(job.url).json())
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)
        assert seen.status == "succeeded", (seen.error, log.read_text("utf-8", "replace")[-2000:])
        assert seen.attempts == 1
        assert seen.camp_plan_url is not None
        plan = CampPlanOut.model_validate(client.get(seen.camp_plan_url).json())
        assert plan.status in ("optimal", "feasible")
        assert plan.verified
        assert sum(len(c.ward_ids) for c in plan.camps) == 110
        ics = client.get(plan.files["camps.ics"])
        assert ics.status_code == 200
        assert ics.content.startswith(b"BEGIN:VCALENDAR")
