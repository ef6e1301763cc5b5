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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dailyml import featurestore as fs  # noqa: E402
from dailyml.datasets import IRIS  # noqa: E402
from dailyml.db import create_db_engine, migrate  # noqa: E402
from dailyml.featurestore import NewPrediction, NewSample  # noqa: E402
from dailyml.registry import Registry  # noqa: E402
from dailyml.settings import Settings  # noqa: E402

LABELS = list(IRIS.labels)


def seed(url: str, home: Path, rows: int, labelled_share: float) -> None:
    migrate(url)
    engine = create_db_engine(url)
    registry = Registry.from_settings(engine, Settings(home=home, database_url=url))
    mv = registry.register(
        dataset="iris",
        kind="model",
        algorithm="bench",
        payload=b"bench",
        artifact_format="none",
        params={},
        metrics={},
        feature_schema={},
        data_hash="0",
    )
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
        with engine.begin() as conn:
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
        print(f"\r  seeded {done:,}/{rows:,}", end="", flush=True)
    print()
    engine.dispose()


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def measure(url: str) -> dict[str, float]:
    engine = create_db_engine(url)
    out = {
        "history page 1": timed(lambda: fs.history(engine, IRIS, limit=20, offset=0)),
        "history page 500": timed(lambda: fs.history(engine, IRIS, limit=20, offset=10_000)),
        "confusion matrix": timed(lambda: fs.confusion_matrix(engine, IRIS)),
        "metrics by day (366)": timed(lambda: fs.metrics_over_time(engine, IRIS, bucket="day")),
        "metrics by day, last 30": timed(lambda: fs.metrics_over_time(engine, IRIS, bucket="day", limit=30)),
    }
    engine.dispose()
    return out


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
    backends: list[tuple[str, object]] = [("sqlite", None)]
    server = None
    if args.postgres:
        from tests.support.postgres import start_postgres

        server = start_postgres()
        backends.append(("postgres", server))
    try:
        for backend, srv in backends:
            results = {}
            for rows in (10_000, args.rows):
                home = Path(tempfile.mkdtemp(prefix="dailyml-mon-"))
                url = f"sqlite:///{home / 'db.sqlite'}" if srv is None else srv.create_database(f"bench_{rows}")  # type: ignore[attr-defined]
                print(f"{backend}: seeding {rows:,} predictions ...")
                t = time.perf_counter()
                seed(url, home, rows, args.labelled_share)
                print(f"  took {time.perf_counter() - t:.0f} s")
                results[rows] = measure(url)
            small, big = results[10_000], results[args.rows]
            print(f"\n{backend}: best of 3, milliseconds")
            print(f"{'query':28} {'10k':>9} {args.rows:>11,} {'ratio':>7}")
            for name in small:
                print(f"{name:28} {small[name]:9.1f} {big[name]:11.1f} {big[name] / small[name]:7.1f}x")
            print()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
