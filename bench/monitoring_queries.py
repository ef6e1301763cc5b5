"""Monitoring queries at scale: history pages, confusion matrix and metrics over time with a
million predictions, against the same queries with ten thousand (the baseline) in the same run.

The dashboard only ever asks for aggregates and pages; this shows what those cost as the store
grows. Seeds a SQLite store (and PostgreSQL with --postgres) directly through the feature-store
functions, 1% of the predictions labelled by default (as the daily loop's synthetic samples are),
the rest online traffic without labels; --labelled-share 1 labels every one.

    .venv/bin/python bench/monitoring_queries.py [--rows 1000000] [--postgres] [--labelled-share 0.01]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `bench._support` when run as a script

from dailyml import featurestore as fs  # noqa: E402
from dailyml import monitoring  # noqa: E402
from dailyml.contracts import NewVersion  # noqa: E402
from dailyml.datasets import IRIS  # noqa: E402
from dailyml.db import create_db_engine, migrate, transaction  # noqa: E402
from dailyml.featurestore import NewPrediction, NewSample  # noqa: E402
from dailyml.registry import Registry  # noqa: E402
from dailyml.settings import Settings  # noqa: E402

LABELS = list(IRIS.labels)


def seed(url: str, home: Path, rows: int, labelled_share: float, quiet: bool = False) -> None:
    migrate(url)
    engine = create_db_engine(url)
    registry = Registry.from_settings(engine, Settings(home=home, database_url=url))
    new = NewVersion(
        dataset="iris", kind="model", algorithm="bench", params={}, metrics={}, feature_schema={}, data_hash="0"
    )
    mv = registry.register(new, b"bench", "none")
    rng = random.Random(0)
    start = datetime.now(UTC) - timedelta(days=365)
    batch = 20_000
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        samples, predictions = [], []
        for i in range(n):
            t = start + timedelta(seconds=(done + i) * 365 * 86400 / rows)
            labelled = rng.random() < labelled_share
            features = {f: round(rng.uniform(0.5, 7.5), 1) for f in IRIS.feature_names}
            samples.append(NewSample(features, label=rng.choice(LABELS) if labelled else None, event_time=t))
            predictions.append((rng.choice(LABELS), t, samples[-1].label))
        with transaction(engine) as session:
            conn = session.connection()
            ids = fs.insert_samples(conn, IRIS, samples, "online")
            fs.insert_predictions(
                conn,
                IRIS,
                [
                    NewPrediction(
                        sample_id=sid,
                        model_version_id=mv.id or 0,
                        predicted_label=label,
                        created_at=t,
                        actual_label=actual,
                    )
                    for sid, (label, t, actual) in zip(ids, predictions, strict=True)
                ],
            )
        done += n
        if not quiet:
            print(f"\r  seeded {done:,}/{rows:,}", end="", flush=True)
    if not quiet:
        print()
    engine.dispose()


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def measure(url: str, repeat: int = 3) -> dict[str, float]:
    engine = create_db_engine(url)
    out = {
        "history page 1": timed(lambda: monitoring.history(engine, IRIS, limit=20, offset=0), repeat),
        "history page 500": timed(lambda: monitoring.history(engine, IRIS, limit=20, offset=10_000), repeat),
        "confusion matrix": timed(lambda: monitoring.confusion_matrix(engine, IRIS), repeat),
        "metrics by day (366)": timed(lambda: monitoring.metrics_over_time(engine, IRIS, bucket="day"), repeat),
        "metrics by day, last 30": timed(
            lambda: monitoring.metrics_over_time(engine, IRIS, bucket="day", limit=30), repeat
        ),
    }
    engine.dispose()
    return out


def run(sizes: tuple[int, ...], shares: tuple[float, ...], *, postgres: bool, quick: bool = False) -> None:
    """Confusion matrix and metrics latency at each size and labelled share, SQLite and (when its
    binaries are here) PostgreSQL; one table, ratios to the smallest size."""
    from bench._support import postgres_binaries, start_postgres

    backends: list[tuple[str, Any]] = [("sqlite", None)]
    server = None
    if postgres and postgres_binaries():
        server = start_postgres()
        backends.append(("postgres", server))
    elif postgres:
        print("PostgreSQL binaries not found: SQLite only")
    queries = ("confusion matrix", "metrics by day (366)", "history page 1")
    rows_out = []
    try:
        for backend, srv in backends:
            for share in shares:
                base: dict[str, float] | None = None
                for rows in sizes:
                    home = Path(tempfile.mkdtemp(prefix="dailyml-mon-"))
                    name = f"bench_{rows}_{int(share * 100)}"
                    url = f"sqlite:///{home / 'db.sqlite'}" if srv is None else srv.create_database(name)
                    t = time.perf_counter()
                    seed(url, home, rows, share, quiet=True)
                    took = time.perf_counter() - t
                    got = measure(url, repeat=3 if quick else 5)
                    base = base or got
                    rows_out.append((backend, share, rows, took, got, base))
                    print(f"  {backend} {share:.0%} labelled, {rows:,} predictions: seeded in {took:.0f} s", flush=True)
    finally:
        if server is not None:
            server.stop()
    print("\nmonitoring queries: best of repeated runs, ms (x = ratio to the smallest store)")
    print(f"{'backend':9} {'labelled':>8} {'predictions':>12} " + " ".join(f"{q:>22}" for q in queries))
    for backend, share, rows, _, got, base in rows_out:
        cells = " ".join(f"{got[q]:14.1f} ({got[q] / base[q]:5.1f}x)" for q in queries)
        print(f"{backend:9} {share:8.0%} {rows:12,} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL cluster")
    parser.add_argument(
        "--labelled-share",
        type=float,
        default=0.01,
        help="share of predictions with a known true label (default 1%%, as daily synthetic "
        "samples among online traffic; 1.0 = every prediction labelled)",
    )
    args = parser.parse_args()
    run((10_000, args.rows), (args.labelled_share,), postgres=args.postgres)


if __name__ == "__main__":
    main()
