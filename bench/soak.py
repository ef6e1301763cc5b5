"""Soak: the whole back end for ``--duration`` (10 minutes) with the daily loop every minute, the
dashboard polling and a trickle of predictions, loopback only; no growth allowed in memory, open
file descriptors or database connections.

Starts its own PostgreSQL (``initdb`` + ``pg_ctl``: bench/_support.py), bootstraps it, and runs the
predictor, the generator and the scheduler (``DAILYML_SCHEDULER_FAST=true``: the daily loop each
minute) as real processes. Meanwhile:

  * the dashboard script itself (``frontends/dashboard/app.py`` under Streamlit's ``AppTest``)
    renders every ``--poll`` seconds, making the calls a browser session makes;
  * ``--rate`` predictions per second go to ``/iris/predict`` and ``/wine/predict``.

Every minute it samples each service's RSS and open fds and the database's connections
(``pg_stat_activity``). Checks, from the first sample after ``--warmup`` to the last: RSS within
10%, fds within +5, connections within +2; zero errors in predictions and dashboard renders;
the daily loop succeeded in most minutes. Exits 1 when a check fails.

    .venv/bin/python bench/soak.py                    # 10 minutes
    .venv/bin/python bench/soak.py --duration 180     # a quick look
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `bench.…` when run as a script

from bench._support import Service, start_postgres, start_service  # noqa: E402
from bench.load import ADMIN_TOKEN, open_fds, rss_mb  # noqa: E402
from dailyml.datasets import SPECS  # noqa: E402

SERVICES = ("predictor", "generator", "scheduler")


def connections(server: object, database: str) -> int:
    import psycopg

    with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:  # type: ignore[attr-defined]
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()
        return int(row[0]) if row else 0


def predictions(url: str, rate: float, stop: threading.Event, tally: Counter[str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        turn = 0
        while not stop.wait(1 / rate):
            dataset = ("iris", "wine")[turn % 2]
            turn += 1
            try:
                status = client.post(f"/{dataset}/predict", json=SPECS[dataset].example_row).status_code
                tally["predict_200" if status == 200 else f"predict_{status}"] += 1
            except httpx.HTTPError as exc:
                tally[f"predict_{type(exc).__name__}"] += 1


def dashboard(env: dict[str, str], every: float, stop: threading.Event, tally: Counter[str]) -> None:
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")  # AppTest off the main thread warns about a missing ScriptRunContext
    os.environ.update(env)
    script = str(ROOT / "frontends" / "dashboard" / "app.py")
    while not stop.wait(every):
        at = AppTest.from_file(script, default_timeout=120)
        at.run()
        # An exception is a failure; an st.error box is the dashboard showing a finding (the
        # trickle's constant input is flagged as drift) or a service it could not reach.
        problems = [e.value for e in at.exception] + [e.value for e in at.error if "drifted" not in e.value]
        tally["dashboard_ok" if not problems else "dashboard_error"] += 1
        if problems:
            print(f"dashboard: {str(problems)[:500]}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--warmup", type=float, default=120.0, help="seconds before the baseline sample")
    parser.add_argument("--poll", type=float, default=10.0, help="seconds between dashboard renders")
    parser.add_argument("--rate", type=float, default=5.0, help="predictions per second")
    args = parser.parse_args()

    server = start_postgres()
    started: dict[str, Service] = {}
    stop = threading.Event()
    tally: Counter[str] = Counter()
    failures: list[str] = []
    try:
        database = "soak"
        url = server.create_database(database)
        home = Path(server.datadir.parent) / "home"
        env = {
            "DAILYML_HOME": str(home),
            "DAILYML_DATABASE_URL": url,
            "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN,
            "DAILYML_TRAIN_PROFILE": "fast",
            "DAILYML_GENERATOR_BOOTSTRAP_ALGORITHMS": '["gaussian_copula"]',
            "DAILYML_GENERATOR_BOOTSTRAP_REPORT_ROWS": "100",
            "DAILYML_GENERATOR_BOOTSTRAP_TREES": "5",
        }
        print("bootstrapping PostgreSQL (fast profile) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "dailyml.cli", "bootstrap"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        started["predictor"] = start_service("predictor", env, home / "logs")
        started["generator"] = start_service("generator", env, home / "logs", timeout=300)
        env |= {"DAILYML_PREDICTOR_URL": started["predictor"].url, "DAILYML_GENERATOR_URL": started["generator"].url}
        started["scheduler"] = start_service("scheduler", {**env, "DAILYML_SCHEDULER_FAST": "true"}, home / "logs")
        env["DAILYML_SCHEDULER_URL"] = started["scheduler"].url
        workers = [
            threading.Thread(target=predictions, args=(started["predictor"].url, args.rate, stop, tally), daemon=True),
            threading.Thread(target=dashboard, args=(env, args.poll, stop, tally), daemon=True),
        ]
        for worker in workers:
            worker.start()

        samples: list[tuple[float, dict[str, tuple[float, int]], int]] = []
        began = time.monotonic()
        print(f"{'t (s)':>6} " + " ".join(f"{s + ' MB/fds':>18}" for s in SERVICES) + f" {'db conns':>8}")
        while (elapsed := time.monotonic() - began) < args.duration:
            for name, service in started.items():
                if service.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{service.log()[-3000:]}")
            sample = {name: (rss_mb(s.proc.pid), open_fds(s.proc.pid)) for name, s in started.items()}
            conns = connections(server, database)
            samples.append((elapsed, sample, conns))
            cells = " ".join(f"{sample[s][0]:>12.0f}/{sample[s][1]:<5}" for s in SERVICES)
            print(f"{elapsed:>6.0f} {cells} {conns:>8}  {dict(tally)}", flush=True)
            time.sleep(min(60.0, max(1.0, args.duration - elapsed)))
        stop.set()
        for worker in workers:
            worker.join(timeout=180)

        runs = httpx.get(started["scheduler"].url + "/runs", params={"job": "daily", "limit": 500}, timeout=60).json()
        statuses = Counter(r["status"] for r in runs["items"])
        print(f"daily runs: {dict(statuses)}; requests: {dict(tally)}")
        baseline = next((s for s in samples if s[0] >= args.warmup), samples[0])
        last = samples[-1]
        for name in SERVICES:
            (rss0, fds0), (rss1, fds1) = baseline[1][name], last[1][name]
            growth = rss1 / rss0 - 1
            print(f"{name}: RSS {rss0:.0f} -> {rss1:.0f} MB ({growth:+.1%}), fds {fds0} -> {fds1}")
            if growth > 0.10:
                failures.append(f"{name} RSS grew {growth:.1%}")
            if fds1 > fds0 + 5:
                failures.append(f"{name} fds {fds0} -> {fds1}")
        print(f"database connections: {baseline[2]} -> {last[2]}")
        if last[2] > baseline[2] + 2:
            failures.append(f"database connections {baseline[2]} -> {last[2]}")
        errors = {k: n for k, n in tally.items() if k not in ("predict_200", "dashboard_ok")}
        if errors:
            failures.append(f"errors {errors}")
        if statuses.get("succeeded", 0) < (args.duration / 60) / 2:
            failures.append(f"daily runs {dict(statuses)}")
    finally:
        stop.set()
        for service in reversed(list(started.values())):
            service.stop()
        server.stop()
    print("OK" if not failures else "FAILED: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
