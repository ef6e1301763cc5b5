"""Predictor latency: what a prediction costs over real HTTP, and what logging it adds.

Starts real predictor processes on a bootstrapped SQLite store and measures, in the same run:
  * GET /healthz (an async constant: the floor of HTTP + uvicorn on this machine),
  * POST /iris/predict and /wine/predict with prediction logging on (the default),
  * the same with logging off (DAILYML_LOG_PREDICTIONS=false): the baseline for logging's cost,
at 1 and 16 concurrent connections. Prints p50/p99 and the ratio logging-on / logging-off.

    .venv/bin/python bench/predictor_latency.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import start_service  # noqa: E402

IRIS = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1, "petal_width": 1.8}
WINE = {
    "wine_type": "white",
    "fixed_acidity": 7.0,
    "volatile_acidity": 0.27,
    "citric_acid": 0.36,
    "residual_sugar": 20.7,
    "chlorides": 0.045,
    "free_sulfur_dioxide": 45.0,
    "total_sulfur_dioxide": 170.0,
    "density": 1.001,
    "ph": 3.0,
    "sulphates": 0.45,
    "alcohol": 8.8,
}


def measure(url: str, method: str, path: str, body: dict | None, n: int, concurrency: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_worker = n // concurrency

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(10):  # warm the connection
                client.request(method, path, json=body)
            mine = []
            for _ in range(per_worker):
                start = time.perf_counter()
                r = client.request(method, path, json=body)
                mine.append(time.perf_counter() - start)
                assert r.status_code == 200, r.text
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--profile",
        choices=("full", "fast"),
        default="full",
        help="training profile of the served models (full: ExtraTrees with 300 trees for wine)",
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="dailyml-bench-"))
    env = {
        "DAILYML_HOME": str(home),
        "DAILYML_ADMIN_TOKEN": "bench-admin-token-0123456789",
        "DAILYML_TRAIN_PROFILE": args.profile,
    }
    print(f"bootstrapping a SQLite store ({args.profile} training profile) ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "dailyml.cli", "bootstrap"], env={**os.environ, **env}, check=True, capture_output=True
    )
    results: dict[tuple[str, str, int], list[float]] = {}
    for logging in ("on", "off"):
        service = start_service(
            "predictor", env | {"DAILYML_LOG_PREDICTIONS": "true" if logging == "on" else "false"}, home / "logs"
        )
        try:
            for concurrency in (1, 16):
                for name, method, path, body in (
                    ("healthz", "GET", "/healthz", None),
                    ("iris", "POST", "/iris/predict", IRIS),
                    ("wine", "POST", "/wine/predict", WINE),
                ):
                    print(f"  {name} logging={logging} x{concurrency}", flush=True)
                    results[(name, logging, concurrency)] = measure(
                        service.url, method, path, body, args.requests, concurrency
                    )
        finally:
            service.stop()
    print(f"\n{args.requests} requests per row; latency in ms over real HTTP on this machine ({os.cpu_count()} cores)")
    print(f"{'endpoint':10} {'conc':>4} {'logging':>7} {'p50':>8} {'p99':>8} {'req/s':>8}")
    for (name, logging, concurrency), lat in results.items():
        rps = len(lat) / sum(lat) * concurrency
        print(f"{name:10} {concurrency:>4} {logging:>7} {pct(lat, 50):8.2f} {pct(lat, 99):8.2f} {rps:8.0f}")
    print("\nlogging cost (p50 and p99 with logging / without):")
    for name in ("iris", "wine"):
        for concurrency in (1, 16):
            on, off = results[(name, "on", concurrency)], results[(name, "off", concurrency)]
            print(
                f"  {name} x{concurrency}: p50 {pct(on, 50) / pct(off, 50):.2f}x, p99 {pct(on, 99) / pct(off, 99):.2f}x"
            )


if __name__ == "__main__":
    main()
