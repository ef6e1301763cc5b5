"""The feature store: samples with typed features, predictions, and the aggregates over them.

Aggregates (confusion matrix, metrics over time) are computed by the database, so they cost
the same with a hundred predictions as with a million and never load the history into memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from dailyml.datasets import DatasetSpec, row_hash
from dailyml.db import as_utc
from dailyml.errors import ConflictError, NotFoundError
from dailyml.tables import ModelVersion, Prediction, PredictionCount, Sample, feature_table, utcnow
from dailyml.vocab import Bucket, SampleSource

samples_t: sa.Table = Sample.__table__  # type: ignore[attr-defined]
predictions_t: sa.Table = Prediction.__table__  # type: ignore[attr-defined]
versions_t: sa.Table = ModelVersion.__table__  # type: ignore[attr-defined]
counts_t: sa.Table = PredictionCount.__table__  # type: ignore[attr-defined]
COUNT_KEY = ("dataset", "model_version_id", "source", "day", "actual_label", "predicted_label")


@dataclass
class NewSample:
    """A row to add to the store. ``id`` may be chosen by the caller (online logging does)."""

    features: Mapping[str, Any]
    label: str | None = None
    split: str | None = None
    producer_version_id: int | None = None
    event_time: datetime | None = None
    id: uuid.UUID | None = None


@dataclass
class NewPrediction:
    """A model's answer for a sample already in (or written with) the store."""

    sample_id: uuid.UUID
    model_version_id: int
    predicted_label: str
    score: float | None = None
    probabilities: dict[str, float] | None = None
    actual_label: str | None = None  # the sample's label, when known at prediction time
    id: uuid.UUID | None = None
    created_at: datetime | None = None


@dataclass
class PredictionRecord:
    """An online prediction to store: the sample it was made for and the prediction, written together."""

    dataset: str
    sample: NewSample
    prediction: NewPrediction


def insert_samples(
    conn: Connection, spec: DatasetSpec, rows: Sequence[NewSample], source: SampleSource
) -> list[uuid.UUID]:
    """Insert samples and their typed features in the caller's transaction; returns their ids."""
    if not rows:
        return []
    now = utcnow()
    ids = [r.id or uuid.uuid4() for r in rows]
    conn.execute(
        samples_t.insert(),
        [
            {
                "id": sid,
                "dataset": spec.name,
                "label": r.label,
                "source": source,
                "split": r.split,
                "content_hash": row_hash(spec, r.features),
                "producer_version_id": r.producer_version_id,
                "event_time": r.event_time or now,
                "created_at": now,
            }
            for sid, r in zip(ids, rows, strict=True)
        ],
    )
    conn.execute(
        feature_table(spec.name).insert(),
        [
            {"sample_id": sid, **{f: r.features[f] for f in spec.feature_names}}
            for sid, r in zip(ids, rows, strict=True)
        ],
    )
    return ids


def insert_predictions(conn: Connection, spec: DatasetSpec, predictions: Sequence[NewPrediction]) -> list[uuid.UUID]:
    """Insert predictions in the caller's transaction; returns their ids."""
    if not predictions:
        return []
    now = utcnow()
    ids = [p.id or uuid.uuid4() for p in predictions]
    conn.execute(
        predictions_t.insert(),
        [
            {
                "id": pid,
                "dataset": spec.name,
                "sample_id": p.sample_id,
                "model_version_id": p.model_version_id,
                "predicted_label": p.predicted_label,
                "actual_label": p.actual_label,
                "score": p.score,
                "probabilities": p.probabilities,
                "created_at": p.created_at or now,
            }
            for pid, p in zip(ids, predictions, strict=True)
        ],
    )
    labelled = [p for p in predictions if p.actual_label is not None]
    if labelled:
        sources = _sources(conn, {p.sample_id for p in labelled})
        count_labelled(
            conn,
            spec,
            [
                (
                    p.model_version_id,
                    sources[p.sample_id],
                    p.created_at or now,
                    p.actual_label or "",  # never empty: only labelled predictions are here
                    p.predicted_label,
                    p.score,
                )
                for p in labelled
            ],
        )
    return ids


def _sources(conn: Connection, sample_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    found: dict[uuid.UUID, str] = {}
    ids = list(sample_ids)
    for i in range(0, len(ids), 500):
        query = sa.select(samples_t.c.id, samples_t.c.source).where(samples_t.c.id.in_(ids[i : i + 500]))
        found.update((sid, source) for sid, source in conn.execute(query))
    return found


def _utc_day(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d")  # type: ignore[union-attr]


def _grade_error(score: float | None, actual: str) -> float | None:
    if score is None:
        return None
    try:
        return abs(score - float(actual))
    except ValueError:
        return None


def count_labelled(
    conn: Connection,
    spec: DatasetSpec,
    rows: Iterable[tuple[int, str, datetime, str, str, float | None]],
) -> None:
    """Add newly labelled predictions (model version id, source, created at, actual, predicted,
    score) to ``prediction_counts`` in the caller's transaction.

    One upsert that adds to the counts (``ON CONFLICT DO UPDATE SET n = n + excluded.n``): atomic
    per row in PostgreSQL, so concurrent writers never lose an increment; keys are written in
    sorted order so two transactions cannot deadlock on them.
    """
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for version_id, source, created_at, actual, predicted, score in rows:
        key = (spec.name, version_id, source, _utc_day(created_at), actual, predicted)
        entry = totals.setdefault(key, [0, 0.0, 0])
        entry[0] += 1
        error = _grade_error(score, actual)
        if error is not None:
            entry[1] += error
            entry[2] += 1
    if not totals:
        return
    values = [
        {**dict(zip(COUNT_KEY, key, strict=True)), "n": n, "abs_error_sum": err, "abs_error_n": err_n}
        for key, (n, err, err_n) in sorted(totals.items())
    ]
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(counts_t)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=list(COUNT_KEY),
            set_={
                "n": counts_t.c.n + insert.excluded.n,
                "abs_error_sum": counts_t.c.abs_error_sum + insert.excluded.abs_error_sum,
                "abs_error_n": counts_t.c.abs_error_n + insert.excluded.abs_error_n,
            },
        ),
        values,
    )


def count_samples(engine: Engine, spec: DatasetSpec, source: SampleSource | None = None) -> int:
    """How many samples of ``spec`` (from ``source``) the store holds."""
    query = sa.select(sa.func.count()).select_from(samples_t).where(samples_t.c.dataset == spec.name)
    if source:
        query = query.where(samples_t.c.source == source)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def load_reference(engine: Engine, spec: DatasetSpec, frame: pd.DataFrame, split: pd.Series) -> int:
    """Store the reference rows with their train/test split, once. Returns how many were added."""
    if count_samples(engine, spec, "reference"):
        return 0
    rows = [
        NewSample(features={f: rec[f] for f in spec.feature_names}, label=str(rec["label"]), split=str(s))
        for rec, s in zip(frame.to_dict("records"), split, strict=True)
    ]
    with engine.begin() as conn:
        insert_samples(conn, spec, rows, "reference")
    return len(rows)


def _frame(result: sa.CursorResult[Any]) -> pd.DataFrame:
    # Column keys come back as SQLAlchemy's str subclass, which scikit-learn does not count as
    # feature names; make them plain strings.
    return pd.DataFrame(result.all(), columns=[str(k) for k in result.keys()])  # noqa: SIM118 (a Result, not a dict)


def _features_select(spec: DatasetSpec) -> tuple[sa.Table, list[sa.ColumnElement[Any]]]:
    ft = feature_table(spec.name)
    return ft, [ft.c[f] for f in spec.feature_names]


def training_frame(engine: Engine, spec: DatasetSpec, sources: Iterable[SampleSource] = ("reference",)) -> pd.DataFrame:
    """Labelled samples as a frame (features, ``label``, ``split``, ``source``), in insertion order.

    Non-reference rows are always training rows: the hold-out test set stays the real rows
    chosen once, so models trained at different times are compared on the same test rows.
    """
    ft, cols = _features_select(spec)
    query = (
        sa.select(*cols, samples_t.c.label, samples_t.c.split, samples_t.c.source)
        .select_from(samples_t.join(ft, ft.c.sample_id == samples_t.c.id))
        .where(samples_t.c.dataset == spec.name, samples_t.c.label.is_not(None), samples_t.c.source.in_(list(sources)))
        .order_by(samples_t.c.created_at, samples_t.c.id)
    )
    with engine.connect() as conn:
        frame = _frame(conn.execute(query))
    if frame.empty:
        return pd.DataFrame(columns=[*spec.feature_names, "label", "split", "source"])
    frame.loc[frame["source"] != "reference", "split"] = "train"
    return frame


def pending_samples(engine: Engine, spec: DatasetSpec, limit: int) -> list[dict[str, Any]]:
    """Samples with no prediction yet, oldest first: what the daily loop predicts."""
    ft, cols = _features_select(spec)
    has_prediction = sa.exists().where(predictions_t.c.sample_id == samples_t.c.id)
    query = (
        sa.select(samples_t.c.id, samples_t.c.label, *cols)
        .select_from(samples_t.join(ft, ft.c.sample_id == samples_t.c.id))
        .where(samples_t.c.dataset == spec.name, samples_t.c.source != "reference", ~has_prediction)
        .order_by(samples_t.c.event_time, samples_t.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def history(
    engine: Engine, spec: DatasetSpec, *, limit: int, offset: int, source: SampleSource | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """A page of predictions, newest first, each with its sample's features and true label."""
    ft, cols = _features_select(spec)
    joined = (
        predictions_t.join(samples_t, samples_t.c.id == predictions_t.c.sample_id)
        .join(ft, ft.c.sample_id == samples_t.c.id)
        .join(versions_t, versions_t.c.id == predictions_t.c.model_version_id)
    )
    where = [predictions_t.c.dataset == spec.name]
    if source:
        where.append(samples_t.c.source == source)
    query = (
        sa.select(
            predictions_t.c.id,
            predictions_t.c.sample_id,
            predictions_t.c.predicted_label,
            predictions_t.c.score,
            predictions_t.c.probabilities,
            predictions_t.c.created_at,
            predictions_t.c.actual_label.label("actual"),
            samples_t.c.source,
            samples_t.c.event_time,
            versions_t.c.version.label("model_version"),
            *cols,
        )
        .select_from(joined)
        .where(*where)
        .order_by(predictions_t.c.created_at.desc(), predictions_t.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    # Without a source filter the count needs no join: one index range of the predictions table.
    counted = (
        predictions_t if not source else predictions_t.join(samples_t, samples_t.c.id == predictions_t.c.sample_id)
    )
    count = sa.select(sa.func.count()).select_from(counted).where(*where)
    with engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = []
        for r in conn.execute(query).mappings():
            row = dict(r)
            row["features"] = {f: row.pop(f) for f in spec.feature_names}
            row["created_at"] = as_utc(row["created_at"])
            row["event_time"] = as_utc(row["event_time"])
            rows.append(row)
    return total, rows


def set_actual(engine: Engine, spec: DatasetSpec, prediction_id: uuid.UUID, label: str) -> dict[str, Any]:
    """Record the true label of the sample behind a prediction (conflict if it differs)."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(samples_t.c.id, samples_t.c.label, samples_t.c.source)
            .select_from(predictions_t.join(samples_t, samples_t.c.id == predictions_t.c.sample_id))
            .where(predictions_t.c.id == prediction_id, predictions_t.c.dataset == spec.name)
        ).first()
        if row is None:
            raise NotFoundError(f"{spec.name} has no prediction {prediction_id}")
        if row.label is not None and row.label != label:
            raise ConflictError(
                f"prediction {prediction_id} already has actual {spec.label_to_api(row.label)!r}",
                {"actual": spec.label_to_api(row.label)},
            )
        conn.execute(samples_t.update().where(samples_t.c.id == row.id).values(label=label))
        # Only predictions not labelled yet are counted: a repeated label (or a concurrent writer
        # that got there first; PostgreSQL re-checks the condition after its lock) counts nothing.
        newly = conn.execute(
            predictions_t.update()
            .where(predictions_t.c.sample_id == row.id, predictions_t.c.actual_label.is_(None))
            .values(actual_label=label)
            .returning(
                predictions_t.c.model_version_id,
                predictions_t.c.created_at,
                predictions_t.c.predicted_label,
                predictions_t.c.score,
            )
        ).all()
        count_labelled(
            conn,
            spec,
            [(r.model_version_id, row.source, r.created_at, label, r.predicted_label, r.score) for r in newly],
        )
    return {"prediction_id": prediction_id, "sample_id": row.id, "actual": spec.label_to_api(label)}


def _labelled_predictions(
    spec: DatasetSpec, model_version: int | None, source: SampleSource | None
) -> tuple[Any, list[Any]]:
    # Reads the partial index of labelled predictions; joins only what a filter needs.
    joined: Any = predictions_t
    where: list[Any] = [predictions_t.c.dataset == spec.name, predictions_t.c.actual_label.is_not(None)]
    if source:
        joined = joined.join(samples_t, samples_t.c.id == predictions_t.c.sample_id)
        where.append(samples_t.c.source == source)
    if model_version is not None:
        joined = joined.join(versions_t, versions_t.c.id == predictions_t.c.model_version_id)
        where.append(versions_t.c.version == model_version)
    return joined, where


def _counted(spec: DatasetSpec, model_version: int | None, source: SampleSource | None) -> tuple[Any, list[Any]]:
    # The pre-aggregated counts, filtered as _labelled_predictions filters the rows behind them.
    joined: Any = counts_t
    where: list[Any] = [counts_t.c.dataset == spec.name]
    if source:
        where.append(counts_t.c.source == source)
    if model_version is not None:
        joined = joined.join(versions_t, versions_t.c.id == counts_t.c.model_version_id)
        where.append(versions_t.c.version == model_version)
    return joined, where


def confusion_matrix(
    engine: Engine, spec: DatasetSpec, *, model_version: int | None = None, source: SampleSource | None = None
) -> dict[str, Any]:
    """Counts of (actual, predicted) over labelled predictions, every label of the spec present.

    Read from ``prediction_counts`` (a few rows per label pair and day), not from the predictions.
    """
    joined, where = _counted(spec, model_version, source)
    query = (
        sa.select(counts_t.c.actual_label, counts_t.c.predicted_label, sa.func.sum(counts_t.c.n))
        .select_from(joined)
        .where(*where)
        .group_by(counts_t.c.actual_label, counts_t.c.predicted_label)
    )
    labels = list(spec.labels)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    with engine.connect() as conn:
        for actual, predicted, n in conn.execute(query):
            if actual in index and predicted in index:
                matrix[index[actual]][index[predicted]] += int(n)
    return {
        "labels": [spec.label_to_api(x) for x in labels],
        "matrix": matrix,
        "total": sum(map(sum, matrix)),
    }


def _bucket_expr(dialect: str, column: Any, bucket: Bucket) -> Any:
    if dialect == "sqlite":
        fmt = {"minute": "%Y-%m-%dT%H:%M:00", "hour": "%Y-%m-%dT%H:00:00", "day": "%Y-%m-%d"}
        if bucket == "week":  # the Monday starting the week
            return sa.func.date(column, "-6 days", "weekday 1")
        return sa.func.strftime(fmt[bucket], column)
    trunc = sa.func.date_trunc(bucket, sa.func.timezone("UTC", column))
    pattern = {"minute": 'YYYY-MM-DD"T"HH24:MI:00', "hour": 'YYYY-MM-DD"T"HH24:00:00'}.get(bucket, "YYYY-MM-DD")
    return sa.func.to_char(trunc, pattern)


def metrics_over_time(
    engine: Engine,
    spec: DatasetSpec,
    *,
    bucket: Bucket = "day",
    model_version: int | None = None,
    source: SampleSource | None = None,
    limit: int = 366,
) -> list[dict[str, Any]]:
    """Per time bucket of prediction time: n, accuracy (exact label), and for regression MAE and
    within-one accuracy of the shown grade. The newest ``limit`` buckets, oldest first.

    Days and weeks are read from ``prediction_counts``; minutes and hours (the fast demo's
    buckets) from the labelled predictions themselves.
    """
    if bucket in ("day", "week"):
        return _metrics_from_counts(engine, spec, bucket, model_version, source, limit)
    joined, where = _labelled_predictions(spec, model_version, source)
    key = _bucket_expr(engine.dialect.name, predictions_t.c.created_at, bucket).label("bucket")
    correct = sa.case((predictions_t.c.actual_label == predictions_t.c.predicted_label, 1.0), else_=0.0)
    columns: list[Any] = [key, sa.func.count().label("n"), sa.func.avg(correct).label("accuracy")]
    if spec.task == "regression":
        actual = sa.cast(predictions_t.c.actual_label, sa.Float)
        shown = sa.cast(predictions_t.c.predicted_label, sa.Float)
        columns += [
            sa.func.avg(sa.func.abs(predictions_t.c.score - actual)).label("mae"),
            sa.func.avg(sa.case((sa.func.abs(shown - actual) <= 1, 1.0), else_=0.0)).label("within_one_accuracy"),
        ]
    query = sa.select(*columns).select_from(joined).where(*where).group_by(key).order_by(key.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        for k, v in row.items():
            if k not in ("bucket", "n") and v is not None:
                row[k] = float(v)
    return rows[::-1]


def _metrics_from_counts(
    engine: Engine,
    spec: DatasetSpec,
    bucket: Bucket,
    model_version: int | None,
    source: SampleSource | None,
    limit: int,
) -> list[dict[str, Any]]:
    joined, where = _counted(spec, model_version, source)
    c = counts_t.c
    columns: list[Any] = [
        c.day,
        sa.func.sum(c.n),
        sa.func.sum(sa.case((c.actual_label == c.predicted_label, c.n), else_=0)),
        sa.func.sum(c.abs_error_sum),
        sa.func.sum(c.abs_error_n),
    ]
    if spec.task == "regression":  # grades: numbers
        gap = sa.func.abs(sa.cast(c.predicted_label, sa.Float) - sa.cast(c.actual_label, sa.Float))
        columns.append(sa.func.sum(sa.case((gap <= 1, c.n), else_=0)))
    else:
        columns.append(sa.literal(0))
    query = sa.select(*columns).select_from(joined).where(*where).group_by(c.day).order_by(c.day.desc())
    if bucket == "day":
        query = query.limit(limit)
    totals: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for day, n, correct, err, err_n, within in conn.execute(query):
            t = totals.setdefault(day if bucket == "day" else _monday(day), [0, 0, 0.0, 0, 0])
            t[0] += int(n)
            t[1] += int(correct)
            t[2] += float(err or 0.0)
            t[3] += int(err_n or 0)
            t[4] += int(within or 0)
    points = []
    for key in sorted(totals)[-limit:]:
        n, correct, err, err_n, within = totals[key]
        point: dict[str, Any] = {"bucket": key, "n": int(n), "accuracy": correct / n}
        if spec.task == "regression":
            point["mae"] = err / err_n if err_n else None
            point["within_one_accuracy"] = within / n
        points.append(point)
    return points


def _monday(day: str) -> str:
    d = datetime.strptime(day, "%Y-%m-%d")
    return (d - timedelta(days=d.weekday())).strftime("%Y-%m-%d")


def reference_stats(engine: Engine, spec: DatasetSpec) -> dict[str, dict[str, Any]]:
    """Median, min and max of each numeric feature over the reference rows (UI defaults), and the
    most common value of each categorical one."""
    ft, cols = _features_select(spec)
    query = (
        sa.select(*cols)
        .select_from(samples_t.join(ft, ft.c.sample_id == samples_t.c.id))
        .where(samples_t.c.dataset == spec.name, samples_t.c.source == "reference")
    )
    with engine.connect() as conn:
        frame = _frame(conn.execute(query))
    if frame.empty:
        return {}
    stats: dict[str, dict[str, Any]] = {}
    for f in spec.features:
        column = frame[f.name]
        if f.is_categorical:
            stats[f.name] = {"mode": str(column.mode().iloc[0])}
        else:
            stats[f.name] = {"median": float(column.median()), "min": float(column.min()), "max": float(column.max())}
    return stats


def random_sample(engine: Engine, spec: DatasetSpec, source: SampleSource) -> dict[str, Any] | None:
    """One random stored sample of ``source``: its id, features and label.

    The first sample at or after a random UUID (wrapping round), through the (dataset, source,
    id) index: one index probe however many samples there are. Sample ids are random UUIDs, so
    every sample is about equally likely.
    """
    ft, cols = _features_select(spec)
    where = [samples_t.c.dataset == spec.name, samples_t.c.source == source]
    base = sa.select(samples_t.c.id, samples_t.c.label, *cols).select_from(
        samples_t.join(ft, ft.c.sample_id == samples_t.c.id)
    )
    with engine.connect() as conn:
        row = (
            conn.execute(base.where(*where, samples_t.c.id >= uuid.uuid4()).order_by(samples_t.c.id).limit(1))
            .mappings()
            .first()
        )
        if row is None:
            row = conn.execute(base.where(*where).order_by(samples_t.c.id).limit(1)).mappings().first()
    if row is None:
        return None
    return {
        "sample_id": row["id"],
        "features": {f: row[f] for f in spec.feature_names},
        spec.target: spec.label_to_api(row["label"]),
    }
