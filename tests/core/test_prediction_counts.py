"""The pre-aggregated prediction counts equal a full recount of the labelled predictions, on
SQLite and PostgreSQL: after labelled inserts, labels recorded later (repeated ones too),
concurrent writers, and the migration's backfill; and the monitoring answers read from them
equal the answers computed from the predictions themselves."""

from __future__ import annotations

import contextlib
import random
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dailyml import featurestore as fs
from dailyml import monitoring
from dailyml.contracts import NewVersion
from dailyml.datasets import IRIS, WINE, DatasetSpec
from dailyml.db import as_utc, create_db_engine, migrate
from dailyml.errors import ConflictError
from dailyml.featurestore import NewPrediction, NewSample
from dailyml.registry import Registry
from tests.support.databases import Database

START = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)


def recount(engine: Engine) -> dict[tuple[Any, ...], tuple[int, float, int]]:
    """prediction_counts as it should be, computed from every labelled prediction."""
    p, s = fs.predictions_t, fs.samples_t
    query = (
        sa.select(
            p.c.dataset,
            p.c.model_version_id,
            s.c.source,
            p.c.created_at,
            p.c.actual_label,
            p.c.predicted_label,
            p.c.score,
        )
        .select_from(p.join(s, s.c.id == p.c.sample_id))
        .where(p.c.actual_label.is_not(None))
    )
    totals: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0.0, 0])
    with engine.connect() as conn:
        for dataset, version, source, created, actual, predicted, score in conn.execute(query):
            t = totals[(dataset, version, source, as_utc(created).strftime("%Y-%m-%d"), actual, predicted)]  # type: ignore[union-attr]
            t[0] += 1
            if score is not None:
                t[1] += abs(score - float(actual))
                t[2] += 1
    return {k: (n, err, err_n) for k, (n, err, err_n) in totals.items()}


def stored(engine: Engine) -> dict[tuple[Any, ...], tuple[int, float, int]]:
    with engine.connect() as conn:
        return {
            (r.dataset, r.model_version_id, r.source, r.day, r.actual_label, r.predicted_label): (
                r.n,
                r.abs_error_sum,
                r.abs_error_n,
            )
            for r in conn.execute(sa.select(fs.counts_t))
        }


def assert_counts_match(engine: Engine) -> None:
    expected, got = recount(engine), stored(engine)
    assert got.keys() == expected.keys()
    for key, (n, err, err_n) in expected.items():
        assert got[key][0] == n and got[key][2] == err_n, key
        assert got[key][1] == pytest.approx(err, abs=1e-9), key


def _register(db: Database, dataset: str) -> int:
    registry = Registry.from_settings(db.engine, db.settings())
    new = NewVersion(
        dataset=dataset, kind="model", algorithm="test", params={}, metrics={}, feature_schema={}, data_hash="0"
    )
    mv = registry.register(new, uuid.uuid4().bytes, "none")
    return mv.id or 0


def _features(spec: DatasetSpec, rng: random.Random) -> dict[str, Any]:
    return {
        f.name: (rng.choice(list(f.categories)) if f.is_categorical else round(rng.uniform(0.5, 7.5), 2))
        for f in spec.features
    }


def _seed(db: Database, spec: DatasetSpec, versions: list[int], rng: random.Random, n: int) -> list[uuid.UUID]:
    """n predictions over four days (crossing midnight UTC), three sources, some labelled at
    prediction time; returns the ids of the unlabelled ones."""
    unlabelled = []
    with db.engine.begin() as conn:
        for source in ("online", "synthetic", "reference"):
            samples, predictions = [], []
            for i in range(n):
                labelled = source != "online" and rng.random() < 0.6
                label = rng.choice(spec.labels)
                samples.append(NewSample(_features(spec, rng), label=label if labelled else None))
                predicted = rng.choice(spec.labels)
                predictions.append(
                    (predicted, START + timedelta(hours=i * 96 / n), label if labelled else None, rng.choice(versions))
                )
            ids = fs.insert_samples(conn, spec, samples, source)
            rows = [
                NewPrediction(
                    sample_id=sid,
                    model_version_id=version,
                    predicted_label=predicted,
                    score=float(predicted) + rng.uniform(-0.5, 0.5) if spec.task == "regression" else None,
                    created_at=created,
                    actual_label=actual,
                    id=uuid.uuid4(),
                )  # fmt: skip
                for sid, (predicted, created, actual, version) in zip(ids, predictions, strict=True)
            ]
            fs.insert_predictions(conn, spec, rows)
            unlabelled += [r.id for r in rows if r.actual_label is None]  # type: ignore[misc]
    return unlabelled


def _raw_confusion(engine: Engine, spec: DatasetSpec, **filters: Any) -> list[list[int]]:
    joined, where = monitoring._labelled_predictions(spec, filters.get("model_version"), filters.get("source"))
    p = fs.predictions_t.c
    index = {label: i for i, label in enumerate(spec.labels)}
    matrix = [[0] * len(spec.labels) for _ in spec.labels]
    with engine.connect() as conn:
        for actual, predicted in conn.execute(
            sa.select(p.actual_label, p.predicted_label).select_from(joined).where(*where)
        ):
            matrix[index[actual]][index[predicted]] += 1
    return matrix


def _raw_metrics(engine: Engine, spec: DatasetSpec, bucket: str) -> list[dict[str, Any]]:
    joined, where = monitoring._labelled_predictions(spec, None, None)
    p = fs.predictions_t.c
    groups: dict[str, list[tuple[str, str, float | None]]] = defaultdict(list)
    with engine.connect() as conn:
        for created, actual, predicted, score in conn.execute(
            sa.select(p.created_at, p.actual_label, p.predicted_label, p.score).select_from(joined).where(*where)
        ):
            day = as_utc(created).date()  # type: ignore[union-attr]
            key = day - timedelta(days=day.weekday()) if bucket == "week" else day
            groups[key.isoformat()].append((actual, predicted, score))
    points = []
    for key in sorted(groups):
        rows = groups[key]
        point: dict[str, Any] = {"bucket": key, "n": len(rows), "accuracy": sum(a == p for a, p, _ in rows) / len(rows)}
        if spec.task == "regression":
            point["mae"] = sum(abs(s - float(a)) for a, _, s in rows if s is not None) / len(rows)
            point["within_one_accuracy"] = sum(abs(float(p) - float(a)) <= 1 for a, p, _ in rows) / len(rows)
        points.append(point)
    return points


@pytest.mark.parametrize("spec", [IRIS, WINE], ids=["iris", "wine"])
def test_counts_equal_a_recount_and_answer_as_the_predictions_do(db: Database, spec: DatasetSpec) -> None:
    rng = random.Random(7)
    versions = [_register(db, spec.name), _register(db, spec.name)]
    unlabelled = _seed(db, spec, versions, rng, 60)
    assert_counts_match(db.engine)
    # Labels recorded later: once, again with the same label (counts nothing), and a conflict.
    for pid in unlabelled[::2]:
        fs.set_actual(db.engine, spec, pid, rng.choice(spec.labels))
    assert_counts_match(db.engine)
    some = unlabelled[0]
    with db.engine.connect() as conn:
        label = conn.execute(sa.select(fs.predictions_t.c.actual_label).where(fs.predictions_t.c.id == some)).scalar()
    before = stored(db.engine)
    fs.set_actual(db.engine, spec, some, label)
    other = next(x for x in spec.labels if x != label)
    with pytest.raises(ConflictError):
        fs.set_actual(db.engine, spec, some, other)
    assert stored(db.engine) == before
    assert_counts_match(db.engine)

    cm = monitoring.confusion_matrix(db.engine, spec)
    assert cm.matrix == _raw_confusion(db.engine, spec) and cm.total > 0
    for source in ("online", "synthetic", "reference"):
        assert monitoring.confusion_matrix(db.engine, spec, source=source).matrix == _raw_confusion(
            db.engine, spec, source=source
        )
    with db.engine.connect() as conn:
        version = conn.execute(sa.select(fs.versions_t.c.version).where(fs.versions_t.c.id == versions[1])).scalar()
    assert monitoring.confusion_matrix(db.engine, spec, model_version=version).matrix == _raw_confusion(
        db.engine, spec, model_version=version
    )
    for bucket in ("day", "week"):
        got = monitoring.metrics_over_time(db.engine, spec, bucket=bucket).points
        expected = _raw_metrics(db.engine, spec, bucket)
        assert [p.bucket for p in got] == [p["bucket"] for p in expected] and len(got) >= 2
        for g, e in zip(got, expected, strict=True):
            assert g.model_dump(exclude_none=True) == pytest.approx(e)
    # limit: the newest days, oldest first.
    assert (
        monitoring.metrics_over_time(db.engine, spec, bucket="day", limit=2).points
        == monitoring.metrics_over_time(db.engine, spec, bucket="day").points[-2:]
    )


def test_concurrent_writers_lose_no_count(db: Database) -> None:
    spec = IRIS
    rng = random.Random(11)
    version = _register(db, spec.name)
    unlabelled = _seed(db, spec, [version], rng, 40)
    errors: list[BaseException] = []

    def label(ids: list[uuid.UUID]) -> None:
        try:
            for pid in ids:
                with contextlib.suppress(ConflictError):
                    fs.set_actual(db.engine, spec, pid, "setosa")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def insert(seed: int) -> None:
        try:
            _seed(db, spec, [version], random.Random(seed), 10)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    # Every labeller walks the same ids (the same prediction labelled concurrently) in its own order.
    threads = [
        threading.Thread(target=label, args=(random.Random(i).sample(unlabelled, len(unlabelled)),)) for i in range(4)
    ]
    threads += [threading.Thread(target=insert, args=(100 + i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_counts_match(db.engine)
    assert sum(n for n, _, _ in stored(db.engine).values()) == sum(n for n, _, _ in recount(db.engine).values())


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_migration_counts_existing_labelled_predictions(
    backend: str, request: pytest.FixtureRequest, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database(f"counts_{uuid.uuid4().hex[:8]}")
    migrate(url, "0002")
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO model_versions (id, dataset, kind, version, algorithm, params, metrics,"
                    " feature_schema, data_hash, artifact_sha256, artifact_format, artifact_uri, artifact_size,"
                    " created_at) VALUES"
                    " (1, 'iris', 'model', 1, 'x', '{}', '{}', '{}', '0', '0', 'skops', 'file://0', 0, :t),"
                    " (2, 'wine', 'model', 1, 'x', '{}', '{}', '{}', '0', '0', 'skops', 'file://0', 0, :t)"
                ),
                {"t": START},
            )
            rng = random.Random(3)
            for i in range(200):
                dataset = "iris" if i % 2 else "wine"
                spec = IRIS if dataset == "iris" else WINE
                actual = rng.choice(spec.labels) if rng.random() < 0.7 else None
                predicted = rng.choice(spec.labels)
                sid, pid = uuid.uuid4(), uuid.uuid4()
                created = START + timedelta(hours=i)
                conn.execute(
                    sa.insert(fs.samples_t).values(
                        id=sid,
                        dataset=dataset,
                        label=actual,
                        source=rng.choice(["online", "synthetic"]),
                        content_hash="0",
                        event_time=created,
                        created_at=created,
                    )  # fmt: skip
                )
                conn.execute(
                    sa.insert(fs.predictions_t).values(
                        id=pid,
                        dataset=dataset,
                        sample_id=sid,
                        model_version_id=1 if dataset == "iris" else 2,
                        predicted_label=predicted,
                        actual_label=actual,
                        created_at=created,
                        score=float(predicted) + 0.25 if dataset == "wine" else None,
                    )  # fmt: skip
                )
        migrate(url)
        assert len(stored(engine)) > 10
        assert_counts_match(engine)
    finally:
        engine.dispose()


def test_random_sample_reaches_many_samples_without_a_scan(db: Database) -> None:
    seen = {fs.random_sample(db.engine, IRIS, "reference").id for _ in range(60)}  # type: ignore[union-attr]
    assert len(seen) > 30  # 150 reference rows: random draws, not one row
    with db.engine.connect() as conn:
        plan = " ".join(
            str(r)
            for r in conn.execute(
                sa.text(
                    ("EXPLAIN QUERY PLAN " if db.backend == "sqlite" else "EXPLAIN ")
                    + "SELECT id FROM samples WHERE dataset = 'iris' AND source = 'reference' AND id >= :x "
                    "ORDER BY id LIMIT 1"
                ),
                {"x": uuid.uuid4().hex if db.backend == "sqlite" else str(uuid.uuid4())},
            )
        )
    if db.backend == "sqlite":  # PostgreSQL's planner may scan a table this small
        assert "ix_samples_dataset_source_id" in plan, plan
