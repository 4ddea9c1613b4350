"""The allocation job, start to finish: ward file → poverty estimate → adjacency → solve → verify → files.

This is the one place that orchestrates ``gis`` (files, geometry) and ``solver`` (the optimisation);
the CLI (and later the HTTP routes) only parse arguments and call these functions.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from app.core.options import LayerOptions, PlanOptions
from app.pipeline import answer_time
from app.pipeline.plan_folders import first_version, folder_stamp
from app.pipeline.splitting import split_layer
from gis.adjacency import Adjacency, build_adjacency
from gis.credits import DATAMEET_LICENCE, DATAMEET_SOURCE, data_credit
from gis.crs import to_metric
from gis.errors import InputError, Issue
from gis.export import (
    assignment_mapping,
    dissolve_areas,
    plan_wards,
    write_gis_files,
    write_plan_files,
)
from gis.figures import PlanFigures, km_value, percent_value
from gis.formats import file_sha256
from gis.frontier_chart import add_frontier_chart, frontier_files
from gis.io import read_ward_layer
from gis.layer import FileBytes, SourceFile, WardLayer
from gis.maps import plan_map
from gis.organisers import Organiser, organiser_distances_km, read_organisers
from gis.slums import SlumRequest, join_slum_layer
from gis.subward import SubwardRequest
from gis.tables import join_population_table, join_poverty_table
from gis.zones import assign_zones
from solver import verify
from solver.backends import make_backend
from solver.deadline import Deadline
from solver.frontier import Frontier
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
from solver.poverty import basis as figure_basis
from solver.problem import Problem, Progress, Solution

#: The credit of the bundled sample data, when its user states it (``--source``/``--licence``).
DATA_CREDITS = data_credit(DATAMEET_SOURCE, DATAMEET_LICENCE)


@dataclass(frozen=True)
class LayerRequest:
    """The ward file and its companion files; how to read them is ``options``."""

    #: The wards may be given as their bytes (an upload's, a request's): GDAL gets them in the
    #: sandbox's own folder.
    wards: Path | FileBytes
    options: LayerOptions = field(default_factory=LayerOptions)
    #: Tables and the other layers may be given as their bytes too (an upload's): only the
    #: sandboxed GDAL read writes a layer's bytes, in its own folder.
    population_table: Path | FileBytes | None = None
    poverty_table: Path | FileBytes | None = None
    slum_layer: Path | FileBytes | None = None
    zones: Path | FileBytes | None = None
    #: The city's own sub-ward layer (blocks, slum clusters, mohallas): the units of split wards.
    subward_layer: Path | FileBytes | None = None

    @property
    def slums(self) -> SlumRequest | None:
        return self.options.slum_request(self.slum_layer)

    @property
    def subwards(self) -> SubwardRequest | None:
        return self.options.subward_request(self.subward_layer)

    @property
    def credits(self) -> str:
        """The data credit the outputs print ("" when no source is stated)."""
        return self.options.credits


@dataclass(frozen=True)
class PlanRequest:
    """A whole job from files: the layer, the organisers' CSV and the plan's options."""

    layer: LayerRequest
    organisers: Path
    config: PlanOptions = field(default_factory=PlanOptions)


@dataclass
class PlanResult:
    """A solved and independently checked plan, with what it was made from."""

    config: PlanOptions
    layer_options: LayerOptions
    #: The ward data's name in titles and messages (the ward file's name).
    label: str
    layer: WardLayer
    adjacency: Adjacency
    organisers: list[Organiser]
    problem: Problem
    solution: Solution
    violations: list[verify.Violation]
    warnings: list[str] = field(default_factory=list)
    #: Input files beyond the layer's own sources (the organisers' CSV), as report.json lists them.
    inputs: list[dict[str, str]] = field(default_factory=list)
    frontier: Frontier | None = None
    deadline: Deadline | None = None  # the whole answer's time limit, with its phase timings

    @property
    def verified(self) -> bool:
        return self.solution.has_plan and not self.violations


def load_layer(req: LayerRequest) -> WardLayer:
    """Read the ward file, join the population table, and make sure every ward can be estimated."""
    opts = req.options
    layer = read_ward_layer(
        req.wards,
        mapping=opts.mapping,
        crs=opts.crs,
        exclude_ids=opts.exclude_ids,
        merge_ids=opts.merge_ids,
        unnumbered=opts.unnumbered,
    )
    if req.population_table is not None:
        layer = join_population_table(layer, req.population_table, key=opts.table_key)
    layer = join_poverty_sources(layer, req)
    if req.zones is not None:
        layer = assign_zones(layer, req.zones, opts.zones_field)
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
    # after the check: a split spreads its ward's figures, so it needs them
    return _split(layer, req)


def join_poverty_sources(layer: WardLayer, req: LayerRequest) -> WardLayer:
    """The ward-level poverty table, then the slum layer (which then decides every ward)."""
    opts, slums = req.options, req.slums
    if req.poverty_table is not None:
        layer = join_poverty_table(
            layer,
            req.poverty_table,
            household_size=opts.household_size,
            key=opts.poverty_key,
            column=opts.poverty_column,
        )
    if slums is not None:
        if req.poverty_table is not None:
            layer.warnings.append(
                "both a poverty table and a slum layer were given: the slum layer's figures are "
                "used for every ward"
            )
        layer = join_slum_layer(layer, slums, opts.household_size)
    return layer


def _split(layer: WardLayer, req: LayerRequest) -> WardLayer:
    """Wards too large for one CO (``split_above``) or named (``split``) cut into units."""
    opts = req.options
    loads = [poor_households(f, opts.rate, opts.household_size) for f in ward_figures(layer.wards)]
    return split_layer(layer, opts, loads, req.slums, req.subwards)


def poverty_sources(layer: WardLayer) -> list[str]:
    """Per ward, where its poor households figure comes from: the joined source, the layer's
    own column, or the flat estimate's basis."""
    own = "the ward layer's poor households column"
    return [
        layer.poverty_sources.get(str(w))
        or (own if figure_basis(f) == "ward poverty figure" else f"estimate: {figure_basis(f)}")
        for w, f in zip(layer.wards["ward_id"], ward_figures(layer.wards), strict=True)
    ]


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


def metric_layer(layer: WardLayer) -> WardLayer:
    """The layer with its wards in their metric CRS: the one reprojection on the way to the solver
    (``build_adjacency`` and ``build_problem`` take it as it is)."""
    return dataclasses.replace(layer, wards=to_metric(layer.wards))


def build_problem(
    layer: WardLayer,
    adjacency: Adjacency,
    organisers: Sequence[Organiser],
    estimate: EstimateParams,
) -> Problem:
    """The solver's problem; give the layer from ``metric_layer`` so that it is not reprojected
    again for the distances."""
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


def plan(
    req: PlanRequest,
    on_progress: Callable[[Progress], None] | None = None,
    deadline: Deadline | None = None,
) -> PlanResult:
    """Run the whole job from files and verify its answer. Raises ``InputError`` on bad input.
    ``deadline``: the whole answer's time limit (default: the solve's time limit from now)."""
    deadline = deadline or Deadline(req.config.solve.time_limit)
    with deadline.phase("reading"):
        layer = load_layer(req.layer)
        warnings: list[str] = []
        organisers = read_organisers(req.organisers, _home_wards(layer), warnings=warnings)
        organisers = [_unit_home(o, layer) for o in organisers]
    return solve_layer(
        layer,
        organisers,
        req.config,
        options=req.layer.options,
        label=req.layer.wards.name,
        warnings=warnings,
        inputs=[
            {
                "path": req.organisers.name,
                "sha256": file_sha256(req.organisers, req.organisers.name),
            }
        ],
        on_progress=on_progress,
        deadline=deadline,
    )


def _home_wards(layer: WardLayer) -> gpd.GeoDataFrame:
    """The wards a CO's ``home_ward`` may name: the units, and the wards that were split."""
    if not layer.parents:
        return layer.wards
    units = layer.wards.copy()
    units["parent"] = [layer.parents.get(str(w), (str(w), 1, 1))[0] for w in units["ward_id"]]
    split = units[units["ward_id"].astype(str).isin(layer.parents)].copy()
    split["geometry"] = shapely.make_valid(split.geometry.to_numpy())
    whole = split.dissolve(by="parent", as_index=False)
    whole["ward_id"] = whole["parent"]
    frame = pd.concat([layer.wards, whole[list(layer.wards.columns)]], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=layer.wards.crs)


def _unit_home(organiser: Organiser, layer: WardLayer) -> Organiser:
    """A home in a split ward is in the unit holding the home's point (else the ward's first)."""
    parent = organiser.home_ward
    units = [u for u, (p, _, _) in layer.parents.items() if p == parent]
    if not units:
        return organiser
    point = shapely.Point(organiser.lon, organiser.lat)
    geoms = dict(zip(layer.wards["ward_id"].astype(str), layer.wards.geometry, strict=True))
    inside = next((u for u in units if geoms[u].covers(point)), units[0])
    return dataclasses.replace(organiser, home_ward=inside)


def solve_layer(
    layer: WardLayer,
    organisers: list[Organiser],
    config: PlanOptions,
    *,
    options: LayerOptions = LayerOptions(),
    label: str = "wards",
    warnings: Sequence[str] = (),
    inputs: Sequence[dict[str, str]] = (),
    on_progress: Callable[[Progress], None] | None = None,
    deadline: Deadline | None = None,
    pins: Mapping[str, str] | None = None,
) -> PlanResult:
    """Adjacency → problem → solve → independent check, for a layer and organisers already read
    (from files by :func:`plan`, from an upload or the database by the services). ``options``:
    how the layer was read (for the report and the data credit); ``label`` names it. With a
    ``deadline``, each phase is timed on it and the solver gets what is left of it
    (:mod:`app.pipeline.answer_time`). ``pins`` (``{ward_id: organiser_id}``): wards the plan keeps with
    those COs (:mod:`solver.pins`)."""
    timed = answer_time.timed(deadline)
    notes = [*layer.warnings, *warnings, *config.estimate.check()]
    if config.solve.respect_zones and layer.wards["zone"].isna().all():
        raise InputError(
            "respecting zones needs a zone for every ward, and this layer has none",
            [Issue("missing-zone", "no zone column found or mapped", file=label)],
            code="missing-zone",
        )
    with timed("adjacency"):
        metric = metric_layer(layer)  # the one reprojection: the adjacency and the distances
        adjacency = build_adjacency(metric.wards, snap_metres=config.snap_metres)
    notes += list(adjacency.warnings)
    with timed("model"):
        problem = build_problem(metric, adjacency, organisers, config.estimate)
        backend = make_backend(config.solver, threads=config.solve.threads, seed=config.solve.seed)
    params = answer_time.solver_params(config.solve, deadline)
    with timed("solve"):
        solution, front = answer_time.solve_step(
            problem, params, backend, config.frontier, on_progress, pins
        )
    with timed("check"):
        violations = (
            verify.check_plan(
                problem,
                solution.assignment,
                solution.tolerance,
                respect_zones=config.solve.respect_zones,
            )
            if solution.assignment is not None
            else []
        )
    return PlanResult(
        config=config,
        layer_options=options,
        label=label,
        layer=layer,
        adjacency=adjacency,
        organisers=organisers,
        problem=problem,
        solution=solution,
        violations=violations,
        warnings=notes,
        inputs=list(inputs),
        frontier=front,
        deadline=deadline,
    )


# -- outputs ---------------------------------------------------------------------------------------


def summary_frame(result: PlanResult) -> pd.DataFrame:
    """Per organiser: wards, population, poor households (chosen rate and both band ends), load
    deviation from the mean, and distance from home (``gis.figures.PlanFigures``)."""
    p, sol = result.problem, result.solution
    assert sol.assignment is not None
    est = result.config.estimate
    figures = ward_figures(result.layer.wards)
    low = [poor_households(f, RATE_LOW, est.household_size) for f in figures]
    high = [poor_households(f, RATE_HIGH, est.household_size) for f in figures]
    pops = [f.population or 0.0 for f in figures]
    plan = PlanFigures.of_problem(p, sol.assignment)
    rows = []
    for j, (org, fig) in enumerate(zip(result.organisers, plan.organisers, strict=True)):
        units = [i for i, a in enumerate(sol.assignment) if a == j]
        rows.append(
            {
                "organiser_id": org.organiser_id,
                "name": org.name,
                "wards": len(units),
                "ward_ids": " ".join(fig.ward_ids),
                "population": round(math.fsum(pops[i] for i in units)),
                "poor_households": round(fig.load, 1),
                "poor_households_at_25pct": round(math.fsum(low[i] for i in units), 1),
                "poor_households_at_30pct": round(math.fsum(high[i] for i in units), 1),
                # a zero mean or load (no poor households) reads 0, as it always has here
                "deviation_from_mean_pct": percent_value(fig.deviation_pct or 0.0),
                "mean_km_from_home": km_value(fig.mean_km or 0.0),
                "max_km_from_home": km_value(fig.max_km),
            }
        )
    return pd.DataFrame(rows)


def plan_frames(result: PlanResult) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Wards with their organiser and numbers, and one dissolved area per organiser."""
    p, sol = result.problem, result.solution
    assignment = assignment_mapping(p, sol)
    est = result.config.estimate
    wards = result.layer.wards.copy()
    figures = ward_figures(wards)
    wards["poor_households_est"] = [round(w, 1) for w in p.weights]
    wards["poor_households_at_25pct"] = [
        round(poor_households(f, RATE_LOW, est.household_size), 1) for f in figures
    ]
    wards["poor_households_at_30pct"] = [
        round(poor_households(f, RATE_HIGH, est.household_size), 1) for f in figures
    ]
    wards["poverty_source"] = poverty_sources(result.layer)
    if result.layer.parents:
        parents = result.layer.parents
        wards["parent"] = [parents.get(str(w), (str(w), 1, 1))[0] for w in wards["ward_id"]]
        wards["part"] = [
            "{1} of {2}".format(*parents[str(w)]) if str(w) in parents else ""
            for w in wards["ward_id"]
        ]
    pw = plan_wards(wards, assignment)
    areas = dissolve_areas(
        wards,
        assignment,
        close_gaps_m=result.config.snap_metres,  # neighbours for the plan: one piece here too
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
    config, opts = result.config, result.layer_options
    sources: list[SourceFile] = list(result.layer.sources)
    return {
        "wardplan_version": _version("wardplan"),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "inputs": [asdict(s) for s in sources] + list(result.inputs),
        "parameters": {
            "field_mapping": asdict(opts.mapping),
            "crs": opts.crs,
            "exclude_ids": list(opts.exclude_ids),
            "merge_ids": list(opts.merge_ids),
            "unnumbered_features": asdict(opts.unnumbered),
            "poverty_rate": config.estimate.rate,
            "poverty_rate_band": [RATE_LOW, RATE_HIGH],
            "household_size": config.estimate.household_size,
            "household_size_source": HOUSEHOLD_SIZE_SOURCE,
            "households_per_organiser": config.estimate.households_per_organiser,
            "tolerance_requested": config.tolerance_requested,
            "respect_zones": config.solve.respect_zones,
            "snap_metres": config.snap_metres,
            "time_limit_s": config.solve.time_limit,
            "gap_accepted": config.solve.gap,
            "seed": config.solve.seed,
            "solver": config.solver,
            "method": config.solve.method,
        },
        "wards": result.problem.n_units,
        "organisers": result.problem.n_organisers,
        "adjacency": {
            "rule": result.adjacency.rule,
            "edges": len(result.adjacency.edges),
            "island_links": [asdict(link) for link in result.adjacency.links],
        },
        "solver": {"name": sol.solver, "version": sol.solver_version},
        "method": answer_time.method_report(config.solve, sol),
        "status": sol.status.value,
        "summary": sol.describe(),
        "explanation": sol.explanation,
        "objective": sol.objective,
        "objective_unit": "poor households × km from home",
        "bound": sol.bound,
        "gap": sol.gap,
        "tolerance_used": sol.tolerance,
        "tightest_tolerance": sol.tightest_tolerance,
        "balance_floor": sol.balance_floor,
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
        "poverty_sources": poverty_source_report(result.layer),
        "split_wards": {u: list(p) for u, p in result.layer.parents.items()},
        "unnumbered": result.layer.unnumbered,
        "outputs": [p.name for p in outputs],
        "credits": opts.credits,
        "frontier": answer_time.frontier_table(result.frontier),
        **answer_time.time_report(result.deadline),
    }


def poverty_source_report(layer: WardLayer) -> dict[str, object]:
    """How many wards' figures came from each source, and each ward's source."""
    sources = poverty_sources(layer)
    return {
        "wards_by_source": {s: sources.count(s) for s in dict.fromkeys(sources)},
        "by_ward": dict(zip((str(w) for w in layer.wards["ward_id"]), sources, strict=True)),
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
        written += write_plan_files(out_dir, pw, areas, folder_stamp(1))
        written += write_gis_files(out_dir, pw, areas)
        summary = out_dir / "summary.csv"
        summary_frame(result).to_csv(summary, index=False)
        written.append(summary)
        title = f"Wardplan: {city or result.label} — {result.solution.describe()}"
        m = plan_map(
            pw,
            areas,
            result.organisers,
            title=title,
            credits=result.layer_options.credits,
            load_column="poor_households_est",
            deviation_column="deviation_from_mean_pct",
            tiles=tiles,
            tiles_attribution=tiles_attribution,
            asset_base=None,
        )
        add_frontier_chart(m, answer_time.frontier_table(result.frontier))
        html = out_dir / "map.html"
        m.save(str(html))
        written.append(html)
    written += frontier_files(out_dir, answer_time.frontier_table(result.frontier))
    report = out_dir / "report.json"
    report.write_text(
        json.dumps(
            {**first_version(), **report_dict(result, [*written, report])},
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    written.append(report)
    return written


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"
