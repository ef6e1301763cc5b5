"""Load: N connections posting one-row predictions for a fixed time, logging on, loopback only.

Starts a real predictor process on a bootstrapped SQLite store (or ``--database-url``), warms it
up at full concurrency, then for each dataset runs ``--duration`` seconds at ``--connections``
concurrent connections (an asyncio httpx client in this process: every request sent is
awaited, so the count of 200s is exact) and checks:

  * zero errors (any answer but 200, any connection error),
  * stored predictions = 200 answers (the feature store's online rows before/after, once the
    prediction log is empty),
  * the predictor's RSS after the run within 10% of after the warm-up (also its open fds).

Prints requests, req/s, p50/p99 latency, RSS and fds; exits 1 when a check fails.

    .venv/bin/python bench/load.py                      # 60 s per dataset at 64 connections
    .venv/bin/python bench/load.py --duration 10        # the short form (the suite runs it too)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `bench._support` when run as a script

from bench._support import start_service  # noqa: E402
from dailyml.datasets import SPECS  # noqa: E402

ADMIN_TOKEN = "bench-admin-token-0123456789"


@dataclass
class Run:
    path: str
    seconds: float
    statuses: Counter[int | str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.statuses[200]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def percentile(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


async def _load(url: str, path: str, body: dict[str, object], seconds: float, connections: int) -> Run:
    run = Run(path, seconds)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                except httpx.HTTPError as exc:
                    run.statuses[type(exc).__name__] += 1
                    continue
                run.latencies.append(time.perf_counter() - start)
                run.statuses[response.status_code] += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        run.seconds = time.monotonic() - started
    return run


def load(url: str, dataset: str, seconds: float, connections: int) -> Run:
    """``seconds`` of ``connections`` concurrent one-row predictions of ``dataset``; every
    request sent is answered (or failed) before this returns."""
    return asyncio.run(_load(url, f"/{dataset}/predict", SPECS[dataset].example_row, seconds, connections))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def stored_online(database_url: str) -> dict[str, int]:
    """Online predictions stored per dataset."""
    import sqlalchemy as sa

    from dailyml.db import create_db_engine

    engine = create_db_engine(database_url)
    query = sa.text(
        "SELECT s.dataset, count(*) FROM predictions p JOIN samples s ON s.id = p.sample_id "
        "WHERE s.source = 'online' GROUP BY s.dataset"
    )
    try:
        with engine.connect() as conn:
            return {"iris": 0, "wine": 0, **{d: int(n) for d, n in conn.execute(query)}}
    finally:
        engine.dispose()


def wait_log_empty(url: str, timeout: float = 120) -> None:
    """Until the predictor at ``url`` has written every prediction it answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(url + "/readyz", timeout=30).json()["prediction_log"]["pending"] == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("the prediction log did not empty")


def bootstrap(home: Path, profile: str) -> dict[str, str]:
    env = {"DAILYML_HOME": str(home), "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN, "DAILYML_TRAIN_PROFILE": profile}
    subprocess.run(
        [sys.executable, "-m", "dailyml.cli", "bootstrap"], env={**os.environ, **env}, check=True, capture_output=True
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per dataset")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of warm-up per dataset")
    parser.add_argument("--datasets", default="iris,wine")
    parser.add_argument("--profile", choices=("full", "fast"), default="fast", help="training profile of the models")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="dailyml-load-"))
    print(f"bootstrapping a SQLite store ({args.profile} profile) in {home} ...", flush=True)
    env = bootstrap(home, args.profile)
    database_url = f"sqlite:///{home / 'dailyml.db'}"
    service = start_service("predictor", env, home / "logs")
    datasets = args.datasets.split(",")
    failures: list[str] = []
    try:
        pid = service.proc.pid
        for dataset in datasets:
            load(service.url, dataset, args.warmup, args.connections)
        wait_log_empty(service.url)
        warm_rss, warm_fds = rss_mb(pid), open_fds(pid)
        print(f"after warm-up: RSS {warm_rss:.0f} MB, {warm_fds} open fds", flush=True)
        runs = []
        for dataset in datasets:
            before = stored_online(database_url)[dataset]
            run = load(service.url, dataset, args.duration, args.connections)
            wait_log_empty(service.url)
            stored = stored_online(database_url)[dataset] - before
            runs.append(run)
            print(
                f"{run.path}: {sum(run.statuses.values()):,} requests in {run.seconds:.1f} s "
                f"({sum(run.statuses.values()) / run.seconds:,.0f}/s) at {args.connections} connections; "
                f"p50 {run.percentile(50):.1f} ms, p99 {run.percentile(99):.1f} ms; "
                f"errors {run.errors} {dict(run.statuses)}; stored {stored:,} for {run.ok:,} answered 200",
                flush=True,
            )
            if run.errors:
                failures.append(f"{run.path}: {run.errors} errors")
            if stored != run.ok:
                failures.append(f"{run.path}: {stored} stored for {run.ok} answered 200")
        after_rss, after_fds = rss_mb(pid), open_fds(pid)
        growth = after_rss / warm_rss - 1
        print(f"after the runs: RSS {after_rss:.0f} MB ({growth:+.1%} on after warm-up), {after_fds} open fds")
        if growth > 0.10:
            failures.append(f"RSS grew {growth:.1%} (> 10%)")
    finally:
        service.stop()
    print("OK" if not failures else "FAILED: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
