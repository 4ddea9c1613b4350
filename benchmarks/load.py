"""Drive a running Wardplan service on localhost and report throughput and latency.

    uv run python -m benchmarks.load --base http://127.0.0.1:8000 --city lucknow --plan 1 \
        --layer 1 --clients 8 --seconds 60 [--key TOKEN]

One client requests plans one after another (a solve job each, followed to its end, solved by
the worker(s) running beside the API); the others loop over what the city offices do: read the
plan's map page (45 %), read a page of the city's wards as GeoJSON (40 %), upload a small ward
layer (Chandigarh, 26 wards) as a new city (15 %). It prints, per operation, the
count, failures (any status ≥ 500, or a refusal that should not be), requests refused with 429
(counted apart; the client then waits what ``Retry-After`` asks, at most 5 s), throughput and
p50/p95 latency of the requests served, with the machine noted. Nothing here is a test:
figures go in RELIABILITY.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(os.environ.get("WARDPLAN_DATA", Path(__file__).resolve().parents[2] / "shared/data"))


#: A client told to slow down (429) waits what ``Retry-After`` says, at most this many seconds.
MAX_BACKOFF_S = 5.0


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    limited: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, op: str, started: float, ok: bool, why: str = "") -> None:
        with self.lock:
            self.seconds[op].append(time.perf_counter() - started)
            if not ok:
                self.failures[op].append(why)

    def limit(self, op: str) -> None:
        """A 429: the service refused politely; counted apart, neither served nor failed."""
        with self.lock:
            self.limited[op] += 1


class Client:
    def __init__(self, base: str, key: str | None):
        self.base = base.rstrip("/")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.retry_after = 0.0  # what the last 429 asked for

    def back_off(self) -> None:
        time.sleep(min(MAX_BACKOFF_S, max(0.1, self.retry_after)))

    def call(
        self, method: str, path: str, body: bytes | None = None, ctype: str | None = None
    ) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if ctype:
            headers["Content-Type"] = ctype
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                try:
                    self.retry_after = float(exc.headers.get("Retry-After") or 1)
                except ValueError:
                    self.retry_after = 1.0
            return exc.code, exc.read()
        except OSError as exc:  # refused, reset, timed out: a failure of the service
            return 0, str(exc).encode()

    def upload(self, city: str, name: str, data: bytes) -> tuple[int, bytes]:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/geo+json\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.call(
            "POST", f"/cities/{city}/layers", body, f"multipart/form-data; boundary={boundary}"
        )


def run_client(
    client: Client, args: argparse.Namespace, until: float, tally: Tally, seed: int
) -> None:
    rng = random.Random(seed)
    layer = (DATA / "chandigarh" / "wards.geojson").read_bytes()
    while time.perf_counter() < until:
        if seed == 0:  # the planner: one plan request at a time, followed to its end
            plan_job(client, args, tally)
            continue
        roll = rng.random()
        started = time.perf_counter()
        if roll < 0.45:
            op, want = "map page", 200
            status, _ = client.call("GET", f"/cities/{args.city}/plans/{args.plan}/map")
        elif roll < 0.85:
            op, want = "wards page", 200
            offset = rng.randrange(0, 100)
            status, _ = client.call(
                "GET", f"/cities/{args.city}/layers/{args.layer}/wards?limit=20&offset={offset}"
            )
        else:
            op, want = "upload", 201
            city = f"load-{seed}-{rng.randrange(10**6)}"
            status, _ = client.upload(city, "chandigarh.geojson", layer)
        if status == 429:
            tally.limit(op)
            client.back_off()
        else:
            tally.add(op, started, status == want, str(status))


def plan_job(client: Client, args: argparse.Namespace, tally: Tally) -> None:
    started = time.perf_counter()
    body = json.dumps({"tolerance": 0.3, "time_limit": args.solve_seconds}).encode()
    status, raw = client.call("POST", f"/cities/{args.city}/plans", body, "application/json")
    if status == 429:
        tally.limit("plan request (202)")
        client.back_off()
        return
    tally.add("plan request (202)", started, status == 202, str(status))
    if status != 202:
        return
    url = json.loads(raw)["url"]
    while True:
        time.sleep(1)
        status, raw = client.call("GET", url)
        if status == 429:  # asked to poll more slowly: the job goes on
            client.back_off()
            continue
        job: dict[str, Any] = json.loads(raw) if status == 200 else {}
        if job.get("status") not in ("queued", "running"):
            tally.add("plan job to its end", started, job.get("status") == "succeeded", str(job))
            return


def report(tally: Tally, args: argparse.Namespace, wall: float) -> str:
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}; "
        f"{args.clients} clients for {wall:.0f} s against {args.base}",
        "",
        "| operation | count | failed | limited (429) | per second | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in sorted(set(tally.seconds) | set(tally.limited)):
        secs = sorted(tally.seconds.get(op, []))
        if secs:
            p95 = secs[min(len(secs) - 1, int(0.95 * len(secs)))]
            timing = f"{1000 * statistics.median(secs):.0f} | {1000 * p95:.0f}"
        else:
            timing = "– | –"
        lines.append(
            f"| {op} | {len(secs)} | {len(tally.failures[op])} | {tally.limited.get(op, 0)} | "
            f"{len(secs) / wall:.2f} | {timing} |"
        )
    for op, why in tally.failures.items():
        if why:
            lines.append(f"\n{op} failures (first 3): {why[:3]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--city", default="lucknow")
    parser.add_argument("--plan", type=int, required=True, help="a plan id of --city to read")
    parser.add_argument("--layer", type=int, default=1, help="a layer version of --city to read")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--solve-seconds", type=float, default=10)
    parser.add_argument("--key", default=os.environ.get("WARDPLAN_API_KEY"))
    args = parser.parse_args()
    tally = Tally()
    started = time.perf_counter()
    until = started + args.seconds
    with ThreadPoolExecutor(args.clients) as pool:
        running = [
            pool.submit(run_client, Client(args.base, args.key), args, until, tally, n)
            for n in range(args.clients)
        ]
    for done in running:
        done.result()  # a client that crashed is a bug here, not a figure
    print(report(tally, args, time.perf_counter() - started))


if __name__ == "__main__":
    main()
