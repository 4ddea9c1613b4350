"""A written plan folder as a problem again, and new plan folders made from it (hand edits and
re-plans). The parent folder is only read, never written.

Read: ``plan.geojson`` (wards, their organiser and poor households), ``areas.geojson`` and
``summary.csv`` (the organisers, their names and homes), ``report.json`` (tolerance, zones,
snapping, objective and bound). Written: ``plan.geojson``, ``areas.geojson``, ``assignment.csv``,
``summary.csv``, ``map.html`` (offline, with the wards that changed CO against the parent folder
outlined: :mod:`gis.moved_layer`) and ``report.json`` with the lineage (parent folder, moves or
roster) and what was checked or proved.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gis.adjacency import build_adjacency
from gis.errors import InputError, Issue
from gis.export import dissolve_areas, plan_wards, write_plan_files
from gis.maps import plan_map
from gis.moved_layer import moved_from
from gis.organisers import Organiser, organiser_distances_km
from solver.edits import figures
from solver.problem import Problem

FILES = ("plan.geojson", "areas.geojson", "summary.csv", "report.json")

#: A plan folder is never approved: approval is an action on a stored plan (``wardplan versions``).
FOLDER_APPROVAL = "DRAFT — not approved"
#: A folder's lineage by its report's ``kind`` (the words of a stored plan's history).
LINEAGE = {"edited": "edited from version {}", "replanned": "re-planned from version {}"}


def first_version() -> dict[str, Any]:
    """What ``wardplan allocate`` writes about the plan's version: 1, solved, no parent."""
    return {"plan_version": 1, "lineage": "solved", "approval": FOLDER_APPROVAL}


def folder_stamp(version: int) -> dict[str, Any]:
    """The stamp on every row of a folder's ``assignment.csv``: no stored plan id, the version,
    the approval (the columns of a stored plan's ``assignment.csv``)."""
    return {"id": "", "version": version, "approval": FOLDER_APPROVAL}


@dataclass(frozen=True)
class PlanFolder:
    """A plan read back: its wards, organisers, the problem (distances from the homes written in
    ``areas.geojson``), the assignment as positions and the report's figures."""

    path: Path
    wards: gpd.GeoDataFrame
    organisers: list[Organiser]
    problem: Problem
    assignment: list[int]
    report: dict[str, Any]

    @property
    def version(self) -> int:
        """The folder's plan version (1 for a folder written before versions)."""
        return int(self.report.get("plan_version") or 1)

    @property
    def tolerance(self) -> float | None:
        t = self.report.get("tolerance_used")
        return None if t is None else float(t)

    @property
    def respect_zones(self) -> bool:
        return bool(self.report.get("parameters", {}).get("respect_zones", False))

    @property
    def snap_metres(self) -> float:
        return float(self.report.get("parameters", {}).get("snap_metres", 5.0))

    @property
    def bound(self) -> float | None:
        """The best bound known for the plan's model: its own, or its parent's for an edit."""
        b = self.report.get("bound", self.report.get("parent_bound"))
        return None if b is None else float(b)

    def mapping(self) -> dict[str, str]:
        return {
            u: self.problem.organiser_ids[j]
            for u, j in zip(self.problem.unit_ids, self.assignment, strict=True)
        }

    def home_units(self) -> dict[int, int]:
        """Organiser position → the unit of its home ward (when the home lies in a ward)."""
        unit = {u: i for i, u in enumerate(self.problem.unit_ids)}
        return {
            j: unit[o.home_ward]
            for j, o in enumerate(self.organisers)
            if o.home_ward is not None and o.home_ward in unit
        }


def read_plan_folder(path: Path) -> PlanFolder:
    """Raises ``InputError`` naming the missing file or the ward without an organiser."""
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise InputError(
            f"{path} is not a plan folder",
            [Issue("missing-file", "file not found", file=m) for m in missing],
            code="not-a-plan",
        )
    report = json.loads((path / "report.json").read_text(encoding="utf-8"))
    wards = gpd.read_file(path / "plan.geojson", engine="pyogrio")
    wards["ward_id"] = [str(w) for w in wards["ward_id"]]
    organisers = _organisers(path, wards)
    pos = {o.organiser_id: j for j, o in enumerate(organisers)}
    unknown = [
        Issue(
            "no-organiser", f"ward {w}: organiser {o!r} is not in summary.csv", file="plan.geojson"
        )
        for w, o in zip(wards["ward_id"], wards["organiser_id"], strict=True)
        if str(o) not in pos
    ]
    if unknown:
        raise InputError(f"{path}: wards without a known organiser", unknown, code="bad-plan")
    problem = problem_for(wards, organisers, float(report["parameters"]["snap_metres"]))
    assignment = [pos[str(o)] for o in wards["organiser_id"]]
    return PlanFolder(path, wards, organisers, problem, assignment, report)


def _organisers(path: Path, wards: gpd.GeoDataFrame) -> list[Organiser]:
    summary = pd.read_csv(path / "summary.csv", dtype={"organiser_id": str, "name": str})
    areas = gpd.read_file(path / "areas.geojson", engine="pyogrio")
    homes = {
        str(r.organiser_id): (float(r.home_lon), float(r.home_lat)) for r in areas.itertuples()
    }
    points = gpd.GeoDataFrame(
        {"organiser_id": list(homes)},
        geometry=gpd.points_from_xy([h[0] for h in homes.values()], [h[1] for h in homes.values()]),
        crs="EPSG:4326",
    )
    inside = gpd.sjoin(points, wards[["ward_id", "geometry"]].to_crs("EPSG:4326"), how="left")
    home_ward = {
        str(o): (None if pd.isna(w) else str(w))
        for o, w in zip(inside["organiser_id"], inside["ward_id"], strict=True)
    }
    out = []
    for row in summary.itertuples():
        oid = str(row.organiser_id)
        if oid not in homes:
            raise InputError(
                f"{path}: organiser {oid} has no home in areas.geojson",
                [Issue("no-home", f"organiser {oid}", file="areas.geojson")],
                code="bad-plan",
            )
        lon, lat = homes[oid]
        out.append(Organiser(oid, str(row.name), lon, lat, home_ward.get(oid)))
    return out


def problem_for(
    wards: gpd.GeoDataFrame, organisers: Sequence[Organiser], snap_metres: float
) -> Problem:
    """The problem of a written plan's wards (their estimated poor households) and ``organisers``."""
    adjacency = build_adjacency(wards, snap_metres=snap_metres)
    zones = [None if pd.isna(z) else str(z) for z in wards.get("zone", [None] * len(wards))]
    return Problem.from_lists(
        unit_ids=[str(w) for w in wards["ward_id"]],
        weights=[float(x) for x in wards["poor_households_est"]],
        edges=list(adjacency.edges),
        organiser_ids=[o.organiser_id for o in organisers],
        distance_km=organiser_distances_km(wards, list(organisers)),
        zones=zones if any(z is not None for z in zones) else None,
    )


def write_plan_folder(
    out: Path,
    parent: PlanFolder,
    organisers: Sequence[Organiser],
    problem: Problem,
    assignment: Sequence[int],
    report: Mapping[str, Any],
) -> list[Path]:
    """Write a new plan folder; refuses the parent's own folder (the original is never changed)."""
    if out.resolve() == parent.path.resolve():
        raise InputError(
            f"--out {out} is the original plan's folder; write the new plan elsewhere",
            [Issue("same-folder", "the original plan is never changed", file=str(out))],
            code="same-folder",
        )
    mapping = {
        u: problem.organiser_ids[j] for u, j in zip(problem.unit_ids, assignment, strict=True)
    }
    wards = parent.wards.drop(columns=["organiser_id"])
    pw = plan_wards(wards, mapping)
    areas = dissolve_areas(
        wards, mapping, organisers=organisers, sum_columns=["population", "poor_households_est"]
    )
    version = parent.version + 1
    written = write_plan_files(out, pw, areas, folder_stamp(version))
    summary = out / "summary.csv"
    summary_frame(problem, organisers, assignment).to_csv(summary, index=False)
    lineage = LINEAGE[str(report["kind"])].format(parent.version)
    html = _write_map(out, parent, organisers, pw, areas, f"version {version}, {lineage}")
    full = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan_version": version,
        "lineage": lineage,
        "parent_version": parent.version,
        "approval": FOLDER_APPROVAL,
        "parameters": parent.report.get("parameters", {}),
        # the data's credit (a licence term) goes down every step, as the map's attribution does
        "credits": parent.report.get("credits", ""),
        "wards": problem.n_units,
        "organisers": problem.n_organisers,
        **report,
    }
    path = out / "report.json"
    path.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [*written, summary, html, path]


def _write_map(
    out: Path,
    parent: PlanFolder,
    organisers: Sequence[Organiser],
    wards: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    what: str,
) -> Path:
    """``map.html`` of a new folder, its assets inline (it works opened from disk), with the
    wards whose CO differs from the parent folder's outlined."""
    moved = moved_from(wards, parent.mapping(), f"version {parent.version}, {parent.path.name}")
    fmap = plan_map(
        wards,
        areas,
        organisers,
        title=f"Wardplan: plan {what} — {FOLDER_APPROVAL}",
        credits=str(parent.report.get("credits") or ""),
        load_column="poor_households_est",
        deviation_column="deviation_from_mean_pct",
        asset_base=None,
        moved=moved,
    )
    path = out / "map.html"
    fmap.save(str(path))
    return path


def summary_frame(
    problem: Problem, organisers: Sequence[Organiser], assignment: Sequence[int]
) -> pd.DataFrame:
    rows = []
    for j, o in enumerate(organisers):
        f = figures(problem, assignment, j)
        units = [problem.unit_ids[i] for i, a in enumerate(assignment) if a == j]
        rows.append(
            {
                "organiser_id": o.organiser_id,
                "name": o.name,
                "wards": f.wards,
                "ward_ids": " ".join(units),
                "poor_households": round(f.poor_households, 1),
                "deviation_from_mean_pct": round(100 * f.deviation, 2),
                "mean_km_from_home": round(f.mean_km, 2),
            }
        )
    return pd.DataFrame(rows)


def mean_km(problem: Problem, distance: float) -> float:
    """Household-weighted mean km from home of a plan of total ``distance``."""
    total = problem.total_weight
    return distance / total if total > 0 and math.isfinite(distance) else 0.0
