"""The registration-camp job, start to finish: ward file → expected registrants → venues → the camp
plan (:mod:`solver.camps`) → the calendar → the independent check → files.

Expected registrants per ward are ``share × base``, the base being the project's poor-household
estimate (:mod:`solver.poverty`, the mission letter's rate) or the ward's population.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd

from app.pipeline.planning import DATA_CREDITS, LayerRequest, load_layer, ward_figures
from gis.adjacency import Adjacency, build_adjacency
from gis.camp_files import Camp, CampHours, camps_calendar, write_camps_csv, write_wards_csv
from gis.camp_map import camp_map
from gis.camp_registrants import read_ward_registrants
from gis.camp_sheets import camp_notices, camp_schedule
from gis.camps import Venue, read_venues, venue_distances_km
from gis.errors import InputError, Issue
from gis.export import dissolve_areas
from gis.layer import WardLayer
from gis.sheets import SheetInfo
from solver.backends import make_backend
from solver.camp_calendar import Schedule, schedule_camps
from solver.camp_solve import solve_camps
from solver.camp_verify import check_camp_plan
from solver.camps import Campaign, CampParams, CampProblem, CampSolution
from solver.poverty import EstimateParams, poor_households
from solver.verify import Violation

BASES = ("poor-households", "population")
#: Share of the time limit kept for the calendar (a small assignment; it rarely needs 1 s).
CALENDAR_SHARE = 0.1


@dataclass(frozen=True)
class CampRequest:
    layer: LayerRequest
    venues: Path
    campaign: Campaign
    share: float = 0.1
    basis: str = "poor-households"
    estimate: EstimateParams = field(default_factory=EstimateParams)
    params: CampParams = field(default_factory=CampParams)
    hours: CampHours = field(default_factory=CampHours)
    solver: str = "highs"
    snap_metres: float = 5.0
    #: Expected registrants per ward id from a ward table (``gis.camp_registrants``); when given,
    #: ``basis`` is ``ward-table`` and ``share`` is not applied.
    by_ward: dict[str, float] | None = None
    #: A ward table to read ``by_ward`` from once the layer is read (the command line's).
    registrant_table: Path | None = None
    registrant_column: str | None = None

    def check(self) -> None:
        if self.by_ward is not None:
            return
        if self.basis not in BASES:
            raise ValueError(f"registrant basis {self.basis!r}: choose {' or '.join(BASES)}")
        if not (math.isfinite(self.share) and 0 < self.share <= 1):
            raise ValueError(f"registrant share {self.share!r} must be a fraction in (0, 1]")


@dataclass
class CampResult:
    request: CampRequest
    layer: WardLayer
    adjacency: Adjacency
    venues: list[Venue]
    problem: CampProblem
    solution: CampSolution
    schedule: Schedule | None
    violations: list[Violation]
    warnings: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.schedule is not None and self.schedule.dates is not None and not self.violations


def registrants(layer: WardLayer, req: CampRequest) -> list[float]:
    if req.by_ward is not None:
        return [req.by_ward[str(w)] for w in layer.wards["ward_id"]]
    figures = ward_figures(layer.wards)
    if req.basis == "population":
        missing = [
            str(w)
            for w, f in zip(layer.wards["ward_id"], figures, strict=True)
            if f.population is None
        ]
        if missing:
            raise InputError(
                "the registrant basis is population, but some wards have none",
                [
                    Issue(
                        "missing-population", "no population", file=req.layer.wards.name, ward_id=w
                    )
                    for w in missing
                ],
                code="missing-population",
            )
        return [req.share * float(f.population or 0.0) for f in figures]
    est = req.estimate
    return [req.share * poor_households(f, est.rate, est.household_size) for f in figures]


def build_camp_problem(
    layer: WardLayer, adjacency: Adjacency, venues: Sequence[Venue], req: CampRequest
) -> CampProblem:
    ids = [str(w) for w in layer.wards["ward_id"]]
    position = {w: i for i, w in enumerate(ids)}
    return CampProblem(
        unit_ids=tuple(ids),
        registrants=tuple(registrants(layer, req)),
        edges=tuple(adjacency.edges),
        venue_ids=tuple(v.venue_id for v in venues),
        venue_unit=tuple(position[v.ward_id] for v in venues),
        distance_km=tuple(tuple(row) for row in venue_distances_km(layer.wards, venues)),
        venue_capacity=tuple(v.capacity_per_day for v in venues),
        venue_unavailable=tuple(v.unavailable for v in venues),
    )


def plan_camps(req: CampRequest) -> CampResult:
    """Run the whole camp job from files and check its answer. ``InputError`` on bad input."""
    req.check()
    layer = load_layer(req.layer)
    notes = [*layer.warnings, *req.estimate.check()]
    venues = read_venues(req.venues, layer.wards, warnings=notes)
    if req.registrant_table is not None:
        table = read_ward_registrants(
            layer.wards, req.registrant_table, column=req.registrant_column
        )
        notes += table.notes
        req = replace(req, by_ward=table.by_ward)
    return solve_camp_layer(req, layer, venues, notes)


def solve_camp_layer(
    req: CampRequest, layer: WardLayer, venues: Sequence[Venue], notes: list[str]
) -> CampResult:
    """The camp plan of a layer already read (a file, or a stored layer) and its venues."""
    adjacency = build_adjacency(layer.wards, snap_metres=req.snap_metres)
    notes += list(adjacency.warnings)
    problem = build_camp_problem(layer, adjacency, venues, req)
    p = req.params
    backend = make_backend(req.solver, threads=p.threads, seed=p.seed)
    calendar_s = max(1.0, p.time_limit * CALENDAR_SHARE)
    inner = CampParams(p.camps, max(0.5, p.time_limit - calendar_s), p.gap, p.seed, p.threads)
    solution = solve_camps(problem, req.campaign, inner, backend=backend)
    schedule = None
    violations: list[Violation] = []
    if solution.assignment is not None and solution.days is not None:
        schedule = schedule_camps(
            problem, req.campaign, solution.days, time_limit=calendar_s, backend=backend
        )
        violations = check_camp_plan(problem, req.campaign, solution.assignment, schedule.dates)
    return CampResult(
        req, layer, adjacency, list(venues), problem, solution, schedule, violations, notes
    )


def camps_of(result: CampResult) -> list[Camp]:
    """The camps, numbered C01… by first date (then venue)."""
    sol, sched, p = result.solution, result.schedule, result.problem
    if sol.assignment is None or sched is None or sched.dates is None:
        return []
    dates = sched.dates
    open_v = sorted(set(sol.assignment), key=lambda v: (dates[v][0], p.venue_ids[v]))
    width = max(2, len(str(len(open_v))))
    out = []
    for k, v in enumerate(open_v, start=1):
        units = [i for i, a in enumerate(sol.assignment) if a == v]
        out.append(
            Camp(
                camp_id=f"C{str(k).zfill(width)}",
                venue=result.venues[v],
                ward_ids=tuple(sorted((p.unit_ids[i] for i in units), key=ward_key)),
                registrants=math.fsum(p.registrants[i] for i in units),
                capacity_per_day=p.capacity(v, result.request.campaign),
                dates=tuple(dates[v]),
            )
        )
    return out


def cluster_frames(
    layer_wards: gpd.GeoDataFrame, camps: Sequence[Camp]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The wards with their ``camp_id``, and one dissolved cluster per camp."""
    mapping = {w: c.camp_id for c in camps for w in c.ward_ids}
    wards = layer_wards.copy()
    wards["camp_id"] = [mapping[str(w)] for w in wards["ward_id"]]
    clusters = dissolve_areas(layer_wards, mapping).rename(columns={"organiser_id": "camp_id"})
    return wards, clusters


def parameters(result: CampResult) -> dict[str, str]:
    req, sol, c = result.request, result.solution, result.request.campaign
    days = c.camp_days()
    return {
        "Window / अवधि": f"{c.start:%d %b %Y} – {c.end:%d %b %Y}, {len(days)} camp days",
        "Teams / दल": str(c.teams),
        "Registrations per camp per day": f"{c.per_camp_per_day:g}",
        "Expected registrants": (
            "from the ward table"
            if req.by_ward is not None
            else f"{req.share:g} × {req.basis.replace('-', ' ')}"
        )
        + f" = {math.fsum(result.problem.registrants):,.0f}",
        "Plan / योजना": sol.describe(),
        "Calendar": result.schedule.describe() if result.schedule else "—",
        "Solver": f"{sol.solver_version}, {sol.seconds:.1f} s, {sol.cuts} contiguity cuts",
    }


def write_camp_outputs(
    result: CampResult, out_dir: Path, *, city: str, sheets: bool = True, tiles: str | None = None
) -> list[Path]:
    """camps.csv, camp-wards.csv, camps.ics, camps-map.html, the PDFs and camps-report.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    camps = camps_of(result)
    hours = result.request.hours
    written: list[Path] = []
    if camps:
        wards, clusters = cluster_frames(result.layer.wards, camps)
        written.append(write_camps_csv(camps, hours, out_dir / "camps.csv"))
        written.append(_write_clusters(clusters, camps, out_dir / "camp-clusters.geojson"))
        written.append(write_wards_csv(_ward_rows(result, camps), out_dir / "camp-wards.csv"))
        ics = out_dir / "camps.ics"
        ics.write_bytes(camps_calendar(camps, hours, city=city))
        written.append(ics)
        used = {c.venue.venue_id for c in camps}
        fmap = camp_map(
            wards,
            clusters,
            camps,
            hours,
            title=f"{city}: registration camps / पंजीयन शिविर",
            credits=DATA_CREDITS,
            unused=[v for v in result.venues if v.venue_id not in used],
            tiles=tiles,
        )
        html = out_dir / "camps-map.html"
        fmap.save(str(html))
        written.append(html)
        if sheets:
            info = SheetInfo(city=city, parameters=parameters(result))
            for name, pdf in (
                ("camp-schedule.pdf", camp_schedule(wards, clusters, camps, hours, info)),
                ("camp-notices.pdf", camp_notices(wards, camps, hours, info)),
            ):
                (out_dir / name).write_bytes(pdf)
                written.append(out_dir / name)
    report = out_dir / "camps-report.json"
    report.write_text(
        json.dumps(
            report_dict(result, camps, written), indent=2, ensure_ascii=False, default=_json
        ),
        encoding="utf-8",
    )
    return [*written, report]


def _write_clusters(clusters: gpd.GeoDataFrame, camps: Sequence[Camp], path: Path) -> Path:
    """One polygon per camp with its venue and dates (GeoJSON, EPSG:4326)."""
    by_id = {c.camp_id: c for c in camps}
    frame = clusters[["camp_id", "n_wards", "ward_ids", "n_parts", "geometry"]].copy()
    frame["venue_id"] = [by_id[c].venue.venue_id for c in frame["camp_id"]]
    frame["venue_name"] = [by_id[c].venue.name for c in frame["camp_id"]]
    frame["dates"] = [";".join(d.isoformat() for d in by_id[c].dates) for c in frame["camp_id"]]
    frame["expected_registrants"] = [round(by_id[c].registrants, 1) for c in frame["camp_id"]]
    if path.exists():
        path.unlink()
    frame.to_file(path, driver="GeoJSON")
    return path


def _ward_rows(result: CampResult, camps: Sequence[Camp]) -> list[list[object]]:
    p = result.problem
    camp_of = {w: c for c in camps for w in c.ward_ids}
    venue_pos = {v: k for k, v in enumerate(p.venue_ids)}
    names = result.layer.wards["ward_name"].tolist()
    rows: list[list[object]] = []
    for i, w in enumerate(p.unit_ids):
        c = camp_of[w]
        name = names[i] if isinstance(names[i], str) else ""
        km = p.distance_km[i][venue_pos[c.venue.venue_id]]
        rows.append([w, name, c.camp_id, c.venue.venue_id, f"{p.registrants[i]:.1f}", f"{km:.3f}"])
    return rows


def report_dict(
    result: CampResult, camps: Sequence[Camp], outputs: Sequence[Path]
) -> dict[str, object]:
    sol, c = result.solution, result.request.campaign
    sched = result.schedule
    return {
        "status": sol.status.value,
        "describe": sol.describe(),
        "objective_registrant_km": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "camps": sol.camps,
        "camps_bound": sol.camps_bound,
        "camps_count_proved": sol.count_proved,
        "explanation": sol.explanation,
        "solver": sol.solver_version,
        "seconds": sol.seconds,
        "cuts": sol.cuts,
        "calendar": None
        if sched is None
        else {
            "status": sched.status.value,
            "describe": sched.describe(),
            "explanation": sched.explanation,
        },
        "verified": result.verified,
        "violations": [v.message for v in result.violations],
        "campaign": {**asdict(c), "camp_days": len(c.camp_days())},
        "registrants": {
            "share": None if result.request.by_ward is not None else result.request.share,
            "basis": "ward-table" if result.request.by_ward is not None else result.request.basis,
            "total": math.fsum(result.problem.registrants),
        },
        "venues": len(result.venues),
        "wards": result.problem.n_units,
        "warnings": result.warnings,
        "outputs": [p.name for p in outputs],
    }


def report_json(result: CampResult, camps: Sequence[Camp]) -> dict[str, Any]:
    """:func:`report_dict` as plain JSON values (dates as ISO text, sets as sorted lists)."""
    data: dict[str, Any] = json.loads(
        json.dumps(report_dict(result, camps, []), ensure_ascii=False, default=_json)
    )
    return data


def _json(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    return str(value)


def ward_key(ward_id: str) -> tuple[int, float, str]:
    """Ward numbers in numeric order, other ids after them."""
    try:
        return (0, float(ward_id), ward_id)
    except ValueError:
        return (1, 0.0, ward_id)
