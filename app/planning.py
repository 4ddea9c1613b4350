"""The allocation job, start to finish: ward file → poverty estimate → adjacency → solve → verify → files.

This is the one place that orchestrates ``gis`` (files, geometry) and ``solver`` (the optimisation);
the CLI (and later the HTTP routes) only parse arguments and call these functions.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis.adjacency import Adjacency, build_adjacency
from gis.credits import DATAMEET_LICENCE, DATAMEET_SOURCE, data_credit
from gis.errors import InputError, Issue
from gis.export import (
    assignment_mapping,
    dissolve_areas,
    plan_wards,
    write_gis_files,
    write_plan_files,
)
from gis.fields import FieldMapping
from gis.figures import km_value, percent_value
from gis.io import read_ward_layer
from gis.layer import SourceFile, WardLayer
from gis.maps import plan_map
from gis.organisers import Organiser, organiser_distances_km, read_organisers
from gis.tables import join_population_table
from solver import verify
from solver.backends import make_backend
from solver.poverty import (
    HOUSEHOLD_SIZE_SOURCE,
    RATE_HIGH,
    RATE_LOW,
    EstimateParams,
    Requirement,
    WardFigures,
    poor_households,
    requirement,
)
from solver.problem import Problem, Progress, Solution
from solver.solve import SolveParams, solve

#: The credit of the bundled sample data, when its user states it (``--source``/``--licence``).
DATA_CREDITS = data_credit(DATAMEET_SOURCE, DATAMEET_LICENCE)


@dataclass(frozen=True)
class LayerRequest:
    """Where the wards come from and how to read them."""

    wards: Path
    mapping: FieldMapping = field(default_factory=FieldMapping)
    crs: str | None = None
    exclude_ids: tuple[str, ...] = ()
    merge_ids: tuple[str, ...] = ()
    population_table: Path | None = None
    table_key: str | None = None
    source: str | None = None  # the data's source and licence, as the user states them
    licence: str | None = None

    @property
    def credits(self) -> str:
        """The data credit the outputs print ("" when no source is stated)."""
        return data_credit(self.source, self.licence)


@dataclass(frozen=True)
class PlanRequest:
    layer: LayerRequest
    organisers: Path
    estimate: EstimateParams = field(default_factory=EstimateParams)
    solve: SolveParams = field(default_factory=SolveParams)
    solver: str = "highs"
    snap_metres: float = 5.0


@dataclass
class PlanResult:
    request: PlanRequest
    layer: WardLayer
    adjacency: Adjacency
    organisers: list[Organiser]
    problem: Problem
    solution: Solution
    violations: list[verify.Violation]
    warnings: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.solution.has_plan and not self.violations


def load_layer(req: LayerRequest) -> WardLayer:
    """Read the ward file, join the population table, and make sure every ward can be estimated."""
    layer = read_ward_layer(
        req.wards,
        mapping=req.mapping,
        crs=req.crs,
        exclude_ids=req.exclude_ids,
        merge_ids=req.merge_ids,
    )
    if req.population_table is not None:
        layer = join_population_table(layer, req.population_table, key=req.table_key)
    missing = [
        Issue(
            "missing-population",
            "no population, households or poverty figure for this ward",
            file=req.wards.name,
            ward_id=str(row.ward_id),
        )
        for row in layer.wards.itertuples()
        if all(_missing(getattr(row, c)) for c in ("population", "households", "poor_households"))
    ]
    if missing:
        raise InputError(
            f"{len(missing)} ward(s) have no population: name the population column "
            "(--population-field) or join a census table (--population-table)",
            missing,
            code="missing-population",
        )
    return layer


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def ward_figures(wards: gpd.GeoDataFrame) -> list[WardFigures]:
    def num(x: object) -> float | None:
        return None if _missing(x) else float(x)  # type: ignore[arg-type]

    return [
        WardFigures(num(r.population), num(r.households), num(r.poor_households))
        for r in wards.itertuples()
    ]


def estimate_requirement(
    layer: WardLayer, estimate: EstimateParams, organisers_in_post: int | None
) -> Requirement:
    return requirement(ward_figures(layer.wards), estimate, organisers_in_post)


def build_problem(
    layer: WardLayer,
    adjacency: Adjacency,
    organisers: Sequence[Organiser],
    estimate: EstimateParams,
) -> Problem:
    wards = layer.wards
    figures = ward_figures(wards)
    weights = [poor_households(f, estimate.rate, estimate.household_size) for f in figures]
    zones = [None if _missing(z) else str(z) for z in wards["zone"]]
    return Problem.from_lists(
        unit_ids=[str(w) for w in wards["ward_id"]],
        weights=weights,
        edges=list(adjacency.edges),
        organiser_ids=[o.organiser_id for o in organisers],
        distance_km=organiser_distances_km(wards, list(organisers)),
        zones=zones if any(z is not None for z in zones) else None,
    )


def plan(req: PlanRequest, on_progress: Callable[[Progress], None] | None = None) -> PlanResult:
    """Run the whole job from files and verify its answer. Raises ``InputError`` on bad input."""
    layer = load_layer(req.layer)
    warnings: list[str] = []
    organisers = read_organisers(req.organisers, layer.wards, warnings=warnings)
    return solve_layer(req, layer, organisers, warnings, on_progress=on_progress)


def solve_layer(
    req: PlanRequest,
    layer: WardLayer,
    organisers: list[Organiser],
    warnings: Sequence[str] = (),
    *,
    on_progress: Callable[[Progress], None] | None = None,
) -> PlanResult:
    """Adjacency → problem → solve → independent check, for a layer and organisers already read
    (from files by :func:`plan`, from the database by the service)."""
    notes = [*layer.warnings, *warnings, *req.estimate.check()]
    if req.solve.respect_zones and layer.wards["zone"].isna().all():
        raise InputError(
            "respecting zones needs a zone for every ward, and this layer has none",
            [Issue("missing-zone", "no zone column found or mapped", file=req.layer.wards.name)],
            code="missing-zone",
        )
    adjacency = build_adjacency(layer.wards, snap_metres=req.snap_metres)
    notes += list(adjacency.warnings)
    problem = build_problem(layer, adjacency, organisers, req.estimate)
    backend = make_backend(req.solver, threads=req.solve.threads, seed=req.solve.seed)
    solution = solve(problem, req.solve, backend=backend, on_progress=on_progress)
    violations = (
        verify.check_plan(
            problem,
            solution.assignment,
            solution.tolerance,
            respect_zones=req.solve.respect_zones,
        )
        if solution.assignment is not None
        else []
    )
    return PlanResult(req, layer, adjacency, organisers, problem, solution, violations, notes)


# -- outputs ---------------------------------------------------------------------------------------


def summary_frame(result: PlanResult) -> pd.DataFrame:
    """Per organiser: wards, population, poor households (chosen rate and both band ends), load
    deviation from the mean, and distance from home."""
    p, sol = result.problem, result.solution
    assert sol.assignment is not None
    est = result.request.estimate
    figures = ward_figures(result.layer.wards)
    low = [poor_households(f, RATE_LOW, est.household_size) for f in figures]
    high = [poor_households(f, RATE_HIGH, est.household_size) for f in figures]
    pops = [f.population or 0.0 for f in figures]
    mean = p.mean_load
    rows = []
    for j, org in enumerate(result.organisers):
        units = [i for i, a in enumerate(sol.assignment) if a == j]
        load = math.fsum(p.weights[i] for i in units)
        dist = [p.distance_km[i][j] for i in units]
        weighted = math.fsum(p.weights[i] * p.distance_km[i][j] for i in units)
        rows.append(
            {
                "organiser_id": org.organiser_id,
                "name": org.name,
                "wards": len(units),
                "ward_ids": " ".join(p.unit_ids[i] for i in units),
                "population": round(math.fsum(pops[i] for i in units)),
                "poor_households": round(load, 1),
                "poor_households_at_25pct": round(math.fsum(low[i] for i in units), 1),
                "poor_households_at_30pct": round(math.fsum(high[i] for i in units), 1),
                "deviation_from_mean_pct": percent_value(100 * (load - mean) / mean)
                if mean
                else 0.0,
                "mean_km_from_home": km_value(weighted / load) if load else 0.0,
                "max_km_from_home": km_value(max(dist)),
            }
        )
    return pd.DataFrame(rows)


def plan_frames(result: PlanResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Wards with their organiser and numbers, and one dissolved area per organiser."""
    p, sol = result.problem, result.solution
    assignment = assignment_mapping(p, sol)
    est = result.request.estimate
    wards = result.layer.wards.copy()
    figures = ward_figures(wards)
    wards["poor_households_est"] = [round(w, 1) for w in p.weights]
    wards["poor_households_at_25pct"] = [
        round(poor_households(f, RATE_LOW, est.household_size), 1) for f in figures
    ]
    wards["poor_households_at_30pct"] = [
        round(poor_households(f, RATE_HIGH, est.household_size), 1) for f in figures
    ]
    pw = plan_wards(wards, assignment)
    areas = dissolve_areas(
        wards,
        assignment,
        close_gaps_m=result.request.snap_metres,  # neighbours for the plan: one piece here too
        organisers=result.organisers,
        sum_columns=["population", "poor_households_est"],
    )
    summary = summary_frame(result).set_index("organiser_id")
    areas["deviation_from_mean_pct"] = [
        summary.loc[o, "deviation_from_mean_pct"] for o in areas["organiser_id"]
    ]
    areas["mean_km_from_home"] = [
        summary.loc[o, "mean_km_from_home"] for o in areas["organiser_id"]
    ]
    return pw, areas


def report_dict(result: PlanResult, outputs: Sequence[Path] = ()) -> dict[str, object]:
    sol = result.solution
    req = result.request
    sources: list[SourceFile] = list(result.layer.sources)
    return {
        "wardplan_version": _version("wardplan"),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "inputs": [asdict(s) for s in sources]
        + [{"path": req.organisers.name, "sha256": _sha256(req.organisers)}],
        "parameters": {
            "field_mapping": asdict(req.layer.mapping),
            "crs": req.layer.crs,
            "exclude_ids": list(req.layer.exclude_ids),
            "merge_ids": list(req.layer.merge_ids),
            "poverty_rate": req.estimate.rate,
            "poverty_rate_band": [RATE_LOW, RATE_HIGH],
            "household_size": req.estimate.household_size,
            "household_size_source": HOUSEHOLD_SIZE_SOURCE,
            "households_per_organiser": req.estimate.households_per_organiser,
            "tolerance_requested": "auto" if req.solve.tolerance is None else req.solve.tolerance,
            "respect_zones": req.solve.respect_zones,
            "snap_metres": req.snap_metres,
            "time_limit_s": req.solve.time_limit,
            "gap_accepted": req.solve.gap,
            "seed": req.solve.seed,
            "solver": req.solver,
        },
        "wards": result.problem.n_units,
        "organisers": result.problem.n_organisers,
        "adjacency": {
            "rule": result.adjacency.rule,
            "edges": len(result.adjacency.edges),
            "island_links": [asdict(link) for link in result.adjacency.links],
        },
        "solver": {"name": sol.solver, "version": sol.solver_version},
        "status": sol.status.value,
        "summary": sol.describe(),
        "explanation": sol.explanation,
        "objective": sol.objective,
        "objective_unit": "poor households × km from home",
        "bound": sol.bound,
        "gap": sol.gap,
        "tolerance_used": sol.tolerance,
        "tightest_tolerance": sol.tightest_tolerance,
        "max_deviation": (
            verify.max_deviation(result.problem, sol.assignment) if sol.assignment else None
        ),
        "mean_load": result.problem.mean_load,
        "seconds": round(sol.seconds, 3),
        "timings": {k: round(v, 3) for k, v in sol.timings.items()},
        "iterations": sol.iterations,
        "contiguity_cuts": sol.cuts,
        "check": {
            "passed": result.verified,
            "violations": [v.message for v in result.violations],
        },
        "warnings": result.warnings + list(sol.warnings),
        "outputs": [p.name for p in outputs],
        "credits": req.layer.credits,
    }


def write_outputs(
    result: PlanResult,
    out_dir: Path,
    *,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    city: str | None = None,
) -> list[Path]:
    """Write every output file of a plan into ``out_dir``; ``report.json`` last.

    ``city``: the city's name, for the map's title (default: the ward file's name).

    ``map.html`` carries its assets inline, so it works opened from disk with no server or internet;
    ``tiles`` (a URL template) adds a base layer.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if result.solution.has_plan:
        pw, areas = plan_frames(result)
        written += write_plan_files(out_dir, pw, areas)
        written += write_gis_files(out_dir, pw, areas)
        summary = out_dir / "summary.csv"
        summary_frame(result).to_csv(summary, index=False)
        written.append(summary)
        title = (
            f"Wardplan: {city or result.request.layer.wards.name} — {result.solution.describe()}"
        )
        m = plan_map(
            pw,
            areas,
            result.organisers,
            title=title,
            credits=result.request.layer.credits,
            load_column="poor_households_est",
            deviation_column="deviation_from_mean_pct",
            tiles=tiles,
            tiles_attribution=tiles_attribution,
            asset_base=None,
        )
        html = out_dir / "map.html"
        m.save(str(html))
        written.append(html)
    report = out_dir / "report.json"
    report.write_text(
        json.dumps(report_dict(result, [*written, report]), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    written.append(report)
    return written


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
