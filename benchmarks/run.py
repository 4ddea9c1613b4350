"""Run the benchmark: every instance, every method side by side, then write JSON and BENCHMARKS.md.

    uv run python -m benchmarks.run [--quick] [--time-limit S] [--only NAME[,NAME...]]

Methods run one after another (never in parallel, so their times do not disturb each other), each in
a fresh child process (see ``benchmarks.harness``). An instance or method that fails is recorded and
the run goes on. Results are saved after every instance.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import instances as inst
from benchmarks.harness import run_method

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
METHODS = ("wardplan", "wardplan-cbc", "tree", "floor")
PACKAGES = ("pulp", "highspy", "cbcbox", "gerrychain", "networkx", "scipy", "shapely", "geopandas")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = "not installed"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "solver", "gis", "app"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit, dirty = "", ""
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gib": ram_gib,
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit + (" (solver/gis/app modified)" if dirty else ""),
    }


def select(args: argparse.Namespace) -> list[inst.InstanceSpec]:
    specs = inst.quick_specs() if args.quick else inst.all_specs()
    if args.subward is not None:
        keep = {
            int(x) for x in args.subward.split(",") if x.strip().isdigit()
        }  # "none": no sub-ward
        specs = [s for s in specs if s.units is None or s.units in keep]
    if args.only:
        words = [w.strip() for w in args.only.split(",") if w.strip()]
        specs = [s for s in specs if any(w in s.name for w in words)]
    return specs


def run_instance(
    spec: inst.InstanceSpec, base_limit: float, methods: tuple[str, ...], cbc_max_units: int | None
) -> dict[str, Any]:
    limit = base_limit * spec.time_factor
    out: dict[str, Any] = {
        "name": spec.name,
        "city": spec.city,
        "kind": spec.kind,
        "co_label": spec.co_label,
        "tolerance_requested": spec.tolerance,
        "time_limit": limit,
        "methods": {},
    }
    try:
        built = inst.build(spec)
    except Exception as exc:
        out["error"] = f"building the instance failed: {type(exc).__name__}: {exc}"
        print(f"  ! {out['error']}", flush=True)
        return out
    p = built.problem
    out.update(
        units=p.n_units,
        organisers=p.n_organisers,
        edges=len(p.edges),
        mean_load=p.mean_load,
        max_unit_load_ratio=max(p.weights) / p.mean_load,
        build_seconds=built.build_seconds,
        notes=list(built.notes),
    )
    tol = spec.tolerance
    for method in methods:
        if method == "wardplan-cbc" and cbc_max_units is not None and p.n_units > cbc_max_units:
            out["methods"][method] = {
                "status": "skipped",
                "explanation": f"CBC skipped above {cbc_max_units} units",
            }
            continue
        if method in ("tree", "floor") and tol is None:
            out["methods"][method] = {
                "status": "skipped",
                "explanation": "auto: Wardplan reached no tolerance to compare at",
            }
            continue
        rec = run_method(method, p, tol if method in ("tree", "floor") else spec.tolerance, limit)
        out["methods"][method] = rec
        if method == "wardplan" and spec.tolerance is None:
            tol = rec.get("tolerance_used")
            out["tolerance_compared"] = tol
        print(f"  {method:13s} {_line(rec)}", flush=True)
    out["tolerance_compared"] = tol
    w = out["methods"].get("wardplan", {})
    tree = out["methods"].get("tree", {})
    floor = out["methods"].get("floor", {})
    wobj = w.get("objective") if w.get("verified") else None
    tobj = tree.get("objective") if tree.get("verified") else None
    fb = floor.get("bound")
    out["ratio_wardplan_tree"] = wobj / tobj if wobj is not None and tobj else None
    out["ratio_wardplan_floor"] = wobj / fb if wobj is not None and fb else None
    return out


def _line(rec: dict[str, Any]) -> str:
    obj = rec.get("objective")
    gap = rec.get("gap")
    parts = [str(rec.get("status"))]
    if obj is not None:
        parts.append(f"obj {obj:,.0f}")
    if rec.get("bound") is not None:
        parts.append(f"bound {rec['bound']:,.0f}")
    if gap is not None:
        parts.append(f"gap {gap * 100:.2f}%")
    if rec.get("seconds") is not None:
        parts.append(f"{rec['seconds']:.1f}s")
    if rec.get("peak_mib") is not None:
        parts.append(f"{rec['peak_mib']:.0f}MiB")
    if rec.get("verified") is not None:
        parts.append("verified" if rec["verified"] else "CHECK FAILED")
    if rec.get("explanation") and rec.get("status") not in ("optimal", "feasible"):
        parts.append(str(rec["explanation"])[:120])
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a small subset for a smoke run")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per method on ward-level instances (default 60, quick 10); "
        "sub-ward instances get 2× (1,000/2,000 units) or 5× (5,000)",
    )
    ap.add_argument("--only", default="", help="comma-separated substrings of instance names")
    ap.add_argument(
        "--subward", default=None, help="sub-ward sizes to include, e.g. '1000,2000' (default: all)"
    )
    ap.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated subset of " + ", ".join(METHODS),
    )
    ap.add_argument(
        "--cbc-max-units",
        type=int,
        default=None,
        help="skip CBC on instances with more units than this",
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="update instances in the existing results file instead of replacing it",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--no-report", action="store_true", help="do not regenerate BENCHMARKS.md")
    args = ap.parse_args(argv)
    limit = args.time_limit if args.time_limit is not None else (10.0 if args.quick else 60.0)
    if not limit > 0:
        ap.error("--time-limit must be positive")
    methods = tuple(m for m in args.methods.split(",") if m)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        ap.error(f"unknown method(s): {', '.join(bad)}")
    if "wardplan" not in methods and any(m in methods for m in ("tree", "floor")):
        print("note: without 'wardplan', auto instances skip tree and floor", file=sys.stderr)
    specs = select(args)
    if not specs:
        ap.error("no instance matches")
    command = "uv run python -m benchmarks.run " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    data: dict[str, Any] = {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command.strip(),
        "time_limit": limit,
        "quick": args.quick,
        "methods": list(methods),
        "machine": machine(),
        "instances": [],
    }
    previous: list[dict[str, Any]] = []
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text())
        previous = old.get("instances", [])
        data["command"] = old.get("command", "") + " ; " + data["command"]
        for r in previous:  # records from before per-instance stamps: the old run's own
            r.setdefault("git_commit", old.get("machine", {}).get("git_commit", ""))
            r.setdefault("created_utc", old.get("created_utc", ""))
            r.setdefault("cpu", old.get("machine", {}).get("cpu", ""))
    names = {s.name for s in specs}
    kept = [r for r in previous if r.get("name") not in names]
    t0 = time.monotonic()
    print(
        f"{len(specs)} instance(s), time limit {limit:g} s, methods {', '.join(methods)}; "
        f"{data['machine']['cpus_usable']} usable CPU(s)",
        flush=True,
    )
    done: list[dict[str, Any]] = []
    for n, spec in enumerate(specs, start=1):
        print(f"[{n}/{len(specs)}] {spec.name} (limit {limit * spec.time_factor:g} s)", flush=True)
        try:
            rec = run_instance(spec, limit, methods, args.cbc_max_units)
        except Exception as exc:  # never let one instance end the run
            rec = {"name": spec.name, "error": f"{type(exc).__name__}: {exc}", "methods": {}}
            print(f"  ! {rec['error']}", flush=True)
        rec["git_commit"] = data["machine"]["git_commit"]
        rec["created_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        rec["cpu"] = data["machine"].get("cpu", "")
        done.append(rec)
        data["instances"] = _ordered(kept + done)
        data["total_seconds"] = time.monotonic() - t0
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print(f"done in {time.monotonic() - t0:.0f} s; results in {args.out}", flush=True)
    if not args.no_report:
        from benchmarks.report import write_report

        path = write_report(data)
        print(f"wrote {path}", flush=True)
    return 0


def _ordered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {s.name: i for i, s in enumerate(inst.all_specs())}
    return sorted(records, key=lambda r: order.get(str(r.get("name")), len(order)))


if __name__ == "__main__":
    sys.exit(main())
