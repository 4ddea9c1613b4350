"""``wardplan adjust`` (hand edits with live checks) and ``wardplan replan`` (the fewest changes
when the roster changes, pinned wards), over written plan folders (:mod:`app.pipeline.plan_folders`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.options import MaxMovesOpt
from app.pipeline.plan_folders import (
    PlanFolder,
    mean_km,
    problem_for,
    read_plan_folder,
    write_plan_folder,
)
from gis.errors import InputError
from gis.organisers import Organiser, read_organisers
from solver.backends import make_backend
from solver.edits import EditCheck, check_edit, parse_moves
from solver.params import SolveParams
from solver.problem import Problem
from solver.replan import Replan, base_positions, changes, replan

PlanDirArg = Annotated[
    Path,
    typer.Argument(
        help="A plan folder written by 'wardplan allocate' (only read).", file_okay=False
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for the new plan (not the original).")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _read(plan_dir: Path) -> PlanFolder:
    try:
        return read_plan_folder(plan_dir)
    except InputError as exc:
        raise _fail(str(exc)) from None


def adjust(
    plan_dir: PlanDirArg,
    move: Annotated[
        list[str], typer.Option("--move", help="WARD=CO: give the ward to that CO; repeatable.")
    ],
    out: OutOpt,
    draft: Annotated[
        bool,
        typer.Option(
            "--draft", help="Write the plan even when an edit breaks a rule (marked invalid)."
        ),
    ] = False,
    city: Annotated[
        str | None,
        typer.Option(
            "--city",
            help="Also keep this city's stored pins (wardplan pins, database of WARDPLAN_DB_URL).",
        ),
    ] = None,
) -> None:
    """Move wards to other COs by hand; every edit is checked like a solved plan. A move taking
    a pinned ward (the folder's pins, and the city's stored ones with --city) away from its CO
    breaks the edit."""
    parent = _read(plan_dir)
    pins = _pins(parent, city)
    try:
        result = check_edit(
            parent.problem,
            parent.assignment,
            parse_moves(move),
            parent.tolerance,
            respect_zones=parent.respect_zones,
            parent_bound=parent.bound,
            home_units=parent.home_units(),
            pins=pins,
        )
    except ValueError as exc:
        raise _fail(f"--move: {exc}") from None
    for d in result.deltas:
        typer.echo(d.describe())
    for b in result.breaks:
        typer.echo(f"breaks: {b}", err=True)
    above = result.above_bound
    above_txt = "unknown" if above is None else f"{above * 100:.2f} %"
    typer.echo(
        f"edited plan: distance {result.objective:,.1f} poor households × km (parent "
        f"{result.parent_objective:,.1f}); {above_txt} above the parent's best bound — an edited "
        "plan is not optimal"
    )
    if not result.valid and not draft:
        typer.echo(
            "not written: the edit breaks the rules above (use --draft to keep it)", err=True
        )
        raise typer.Exit(1)
    written = _write_edit(out, parent, move, result, pins)
    state = "valid" if result.valid else "INVALID draft (cannot be approved)"
    typer.echo(f"wrote {', '.join(p.name for p in written)} to {out}: {state}")


def _pins(parent: PlanFolder, city: str | None) -> dict[str, str]:
    """The pins an edit of ``parent`` keeps: the folder's own (a re-plan's, carried on by its
    edits) and, with ``city``, the city's stored pins (a stored pin wins over a folder's)."""
    kept = {str(w): str(o) for w, o in dict(parent.report.get("pins") or {}).items()}
    if city is None:
        return kept
    from app.cli.places import in_db
    from app.services import pins
    from app.services.cities import get_city

    return {**kept, **in_db(lambda s: pins.stored_pins(s, get_city(s, city).id))}


def _write_edit(
    out: Path, parent: PlanFolder, move: list[str], result: EditCheck, pins: dict[str, str]
) -> list[Path]:
    report: dict[str, Any] = {
        "kind": "edited",
        "parent": str(parent.path),
        "moves": move,
        "pins": pins,
        "status": "edited" if result.valid else "draft-invalid",
        "valid": result.valid,
        "breaks": list(result.breaks),
        "objective": result.objective,
        "objective_unit": "poor households × km from home",
        "parent_objective": result.parent_objective,
        "parent_bound": result.parent_bound,
        "above_parent_bound": result.above_bound,
        "tolerance_used": parent.tolerance,
        "deltas": [d.describe() for d in result.deltas],
    }
    try:
        return write_plan_folder(
            out, parent, parent.organisers, parent.problem, result.assignment, report
        )
    except InputError as exc:
        raise _fail(str(exc)) from None


def replan_cmd(
    plan_dir: PlanDirArg,
    organisers: Annotated[
        Path,
        typer.Option(
            "--organisers",
            help="CSV of the new roster: organiser_id, name, and lat,lon or home_ward.",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: OutOpt,
    pin: Annotated[
        list[str] | None,
        typer.Option("--pin", help="WARD=CO: the ward stays with that CO; repeatable."),
    ] = None,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", help="Seconds for the re-plan and again for the fresh plan."),
    ] = 60.0,
    gap: Annotated[float, typer.Option("--gap", help="Relative gap accepted as optimal.")] = 0.001,
    seed: Annotated[int, typer.Option("--seed", help="Solver random seed.")] = 0,
    max_moves: MaxMovesOpt = None,
) -> None:
    """Re-plan after a roster change moving the fewest poor households, beside a fresh plan."""
    parent = _read(plan_dir)
    if max_moves is not None and max_moves < 0:
        raise _fail(f"--max-moves {max_moves}: give a number of wards, 0 or more")
    try:
        roster = read_organisers(organisers, parent.wards)
        pins = parse_moves(pin or [])
        problem = _with_roster(parent, roster)
        params = SolveParams(
            tolerance=parent.tolerance,
            respect_zones=parent.respect_zones,
            time_limit=time_limit,
            gap=gap,
            seed=seed,
        )
        backend = make_backend("highs", seed=seed)
        stable = replan(
            problem, parent.mapping(), params, pins=pins, max_moves=max_moves, backend=backend
        )
        if stable.plan is None:
            raise _fail(f"no re-plan: {stable.refusal}", 1)
        fresh = replan(problem, {}, params, pins=pins, backend=backend)
    except (InputError, ValueError) as exc:
        raise _fail(str(exc)) from None
    _compare(problem, parent, stable, fresh)
    report = _replan_report(parent, organisers, pins, stable, fresh, problem)
    report["max_moves"] = max_moves
    try:
        written = write_plan_folder(out, parent, roster, problem, stable.plan, report)
    except InputError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {', '.join(p.name for p in written)} to {out}")


def _with_roster(parent: PlanFolder, roster: list[Organiser]) -> Problem:
    return problem_for(parent.wards, roster, parent.snap_metres)


def _figures(problem: Problem, parent: PlanFolder, r: Replan) -> list[str]:
    if r.plan is None or r.distance is None:
        return ["—", "—", "—", "—", r.refusal]
    ch = changes(problem, base_positions(problem, parent.mapping()), r.plan)
    return [
        str(len(ch.wards_moved)),
        f"{ch.households_moved:,.0f}",
        str(len(ch.organisers_affected)),
        f"{mean_km(problem, r.distance):.2f}",
        r.describe(),
    ]


def _compare(problem: Problem, parent: PlanFolder, stable: Replan, fresh: Replan) -> None:
    labels = [
        "wards that change CO",
        "poor households moved",
        "COs affected",
        "mean km from home",
        "proved",
    ]
    a, b = _figures(problem, parent, stable), _figures(problem, parent, fresh)
    typer.echo(f"{'':24} {'re-plan':>12}  {'fresh plan':>12}")
    for label, x, y in zip(labels[:-1], a, b, strict=False):
        typer.echo(f"{label:24} {x:>12}  {y:>12}")
    typer.echo(f"re-plan: {a[-1]}")
    typer.echo(f"fresh plan: {b[-1]}")
    assert stable.changes is not None
    if stable.changes.wards_moved:
        typer.echo(f"wards that change CO: {' '.join(stable.changes.wards_moved)}")


def _replan_report(
    parent: PlanFolder,
    organisers: Path,
    pins: dict[str, str],
    stable: Replan,
    fresh: Replan,
    problem: Problem,
) -> dict[str, Any]:
    sol = stable.solution
    assert stable.changes is not None
    assert stable.distance is not None
    return {
        "kind": "replanned",
        "parent": str(parent.path),
        "roster": organisers.name,
        "pins": pins,
        "status": sol.status.value,
        "summary": stable.describe(),
        # stability strictly first: step 1 the households moved, step 2 the distance with them fixed
        "steps": [s.as_dict() for s in (stable.moves, stable.nearness) if s is not None],
        "moves_proved_minimal": stable.moves_proved,
        # the distance, and the fresh plan's bound: a lower bound on every plan's distance (an
        # edit of this plan is measured on it); the gap is step 2's (among plans moving at most
        # step 1's households)
        "objective": stable.distance,
        "objective_unit": "poor households × km from home",
        "bound": fresh.solution.bound if fresh.plan is not None else None,
        "gap": sol.gap,
        "distance": stable.distance,
        "mean_km_from_home": mean_km(problem, stable.distance),
        "tolerance_used": sol.tolerance,
        "wards_moved": list(stable.changes.wards_moved),
        "households_moved": stable.changes.households_moved,
        "organisers_affected": list(stable.changes.organisers_affected),
        "fresh_plan": {
            "summary": fresh.solution.describe() if fresh.plan is not None else fresh.refusal,
            "distance": fresh.distance,
            "wards_moved": None
            if fresh.plan is None
            else list(
                changes(problem, base_positions(problem, parent.mapping()), fresh.plan).wards_moved
            ),
        },
    }


def register(cli: typer.Typer) -> None:
    cli.command("adjust")(adjust)
    cli.command("replan")(replan_cmd)
