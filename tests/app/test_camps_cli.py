"""``wardplan example-venues`` and ``wardplan camps`` on Lucknow (110 wards, the raw shapefile and
the census table): the done-when case of issue 17 — a 45-day window without Sundays and one holiday,
2 teams — and a window too short, refused with the days and teams it would need. The files are
checked here independently of the solver's own checker (adjacency rebuilt from the layer)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.options import LayerOptions
from app.pipeline.planning import LayerRequest, load_layer
from gis.adjacency import build_adjacency
from solver.graph import is_connected

pytestmark = pytest.mark.slow

HOLIDAY = date(2027, 4, 14)
WINDOW = ["--start", "2027-04-01", "--end", "2027-05-15", "--no-camp-weekday", "sun"]


@pytest.fixture(scope="module")
def lucknow(shared_data: Path) -> list[str]:
    d = shared_data / "lucknow"
    return [
        str(d / "raw" / "Lucknow_ward_boundary-SHP.zip"),
        "--exclude",
        "0",
        "--population-table",
        str(d / "census2011_wards.csv"),
    ]


@pytest.fixture(scope="module")
def venues(lucknow: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("venues") / "venues.csv"
    args = ["example-venues", lucknow[0], "--exclude", "0", *WINDOW[:4], "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "wrote 110 illustrative venues" in result.output
    return out


@pytest.fixture(scope="module")
def plan_dir(lucknow: list[str], venues: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("camps")
    args = [
        "camps", *lucknow, "--venues", str(venues), *WINDOW, "--holiday", HOLIDAY.isoformat(),
        "--teams", "2", "--per-camp-per-day", "300", "--registrant-share", "0.1",
        "--time-limit", "20", "--city", "Lucknow", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "check: passed" in result.output
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_camp_plan_fits_the_window_teams_and_venues(plan_dir: Path, venues: Path) -> None:
    camps = _rows(plan_dir / "camps.csv")
    report = json.loads((plan_dir / "camps-report.json").read_text(encoding="utf-8"))
    assert report["status"] in ("optimal", "feasible"), report
    assert report["gap"] is not None, report
    assert report["bound"] is not None, report
    assert report["bound"] <= report["objective_registrant_km"] + 1e-6, report
    assert report["verified"] is True, report
    assert report["camps"] == len(camps)
    closed = {r["venue_id"]: set(filter(None, r["unavailable"].split(";"))) for r in _rows(venues)}
    capacity = {r["venue_id"]: r["capacity_per_day"] for r in _rows(venues)}
    per_day: Counter[str] = Counter()
    for camp in camps:
        dates = camp["dates"].split(";")
        assert len(dates) == int(camp["days"])
        assert 1 <= len(dates) <= 3
        for d in dates:
            day = date.fromisoformat(d)
            assert date(2027, 4, 1) <= day <= date(2027, 5, 15)
            assert day.weekday() != 6
            assert day != HOLIDAY
            assert d not in closed[camp["venue_id"]]
            per_day[d] += 1
        cap = float(capacity[camp["venue_id"]] or 300)
        assert float(camp["capacity_per_day"]) == cap
        assert float(camp["expected_registrants"]) <= cap * len(dates) + 0.5
    assert max(per_day.values()) <= 2


def test_every_ward_in_one_connected_cluster_with_its_venue(
    plan_dir: Path, lucknow: list[str]
) -> None:
    layer = load_layer(
        LayerRequest(
            Path(lucknow[0]),
            LayerOptions(exclude_ids=("0",)),
            population_table=Path(lucknow[4]),
        )
    )
    adjacency = build_adjacency(layer.wards)
    ids = [str(w) for w in layer.wards["ward_id"]]
    nb: list[list[int]] = [[] for _ in ids]
    for a, b in adjacency.edges:
        nb[a].append(b)
        nb[b].append(a)
    wards = _rows(plan_dir / "camp-wards.csv")
    assert sorted(r["ward_id"] for r in wards) == sorted(ids)
    for camp in _rows(plan_dir / "camps.csv"):
        members = camp["wards"].split(";")
        assert camp["venue_ward"] in members
        assert is_connected([ids.index(w) for w in members], nb), camp["camp_id"]
        assert {r["ward_id"] for r in wards if r["camp_id"] == camp["camp_id"]} == set(members)


def test_calendar_file_and_papers(plan_dir: Path) -> None:
    camps = _rows(plan_dir / "camps.csv")
    cal = icalendar.Calendar.from_ical((plan_dir / "camps.ics").read_bytes())
    events = list(cal.walk("VEVENT"))
    assert len(events) == sum(int(c["days"]) for c in camps)
    starts = sorted(e.decoded("DTSTART").date().isoformat() for e in events)
    assert starts == sorted(d for c in camps for d in c["dates"].split(";"))
    for name in (
        "camp-schedule.pdf",
        "camp-notices.pdf",
        "camps-map.html",
        "camp-clusters.geojson",
    ):
        assert (plan_dir / name).stat().st_size > 1000


def test_too_short_a_window_is_refused_with_days_and_teams_needed(
    lucknow: list[str], venues: Path, tmp_path: Path
) -> None:
    args = [
        "camps", *lucknow, "--venues", str(venues), *WINDOW, "--teams", "2",
        "--per-camp-per-day", "300", "--registrant-share", "0.275", "--time-limit", "5",
        "--out", str(tmp_path),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "infeasible" in result.output
    # 0.275 × 147,991 poor households = 40,698 registrants, 300 a camp-day: 136 camp-days;
    # 39 camp days (45 less 6 Sundays) × 2 teams = 78
    assert "need at least 136 camp-days" in result.output
    assert "2 team(s) × 39 camp days = 78" in result.output
    assert "at least 68 camp days with 2 team(s), or at least 4 teams" in result.output
    assert not (tmp_path / "camps.csv").exists()


def test_registrants_from_a_ward_table_replace_the_share(
    lucknow: list[str], venues: Path, tmp_path: Path, shared_data: Path
) -> None:
    """--registrant-table: each ward's figure from a CSV (here a fifth of the census households,
    so the window is too short and the refusal states the table's total before any solve)."""
    census = shared_data / "lucknow" / "census2011_wards.csv"
    lines = [x for x in census.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    rows = list(csv.DictReader(lines))
    table = tmp_path / "workers.csv"
    table.write_text(
        "census_ward_no,workers\n"
        + "".join(f"{r['census_ward_no']},{int(r['households']) // 5}\n" for r in rows),
        encoding="utf-8",
    )
    total = sum(int(r["households"]) // 5 for r in rows)
    args = [
        "camps", *lucknow, "--venues", str(venues), *WINDOW, "--teams", "2",
        "--per-camp-per-day", "300", "--registrant-table", str(table), "--time-limit", "5",
        "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert f"the expected {total:,.0f} registrants need at least" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("census_ward_no,workers\n1,lots\n", encoding="utf-8")
    refused = CliRunner().invoke(cli, [str(bad) if a == str(table) else a for a in args])
    assert refused.exit_code != 0
    assert "'lots'" in refused.output or "lots" in refused.output
