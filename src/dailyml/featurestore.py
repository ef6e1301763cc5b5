"""The feature store: samples with typed features, predictions, and the aggregates over them.

Aggregates (confusion matrix, metrics over time) are computed by the database, so they cost
the same with a hundred predictions as with a million and never load the history into memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dailyml.datasets import DatasetSpec, row_hash
from dailyml.db import as_utc
from dailyml.errors import ConflictError, NotFoundError
from dailyml.tables import ModelVersion, Prediction, Sample, feature_table, utcnow

Bucket = Literal["minute", "hour", "day", "week"]
BUCKETS: tuple[str, ...] = ("minute", "hour", "day", "week")

samples_t: sa.Table = Sample.__table__  # type: ignore[attr-defined]
predictions_t: sa.Table = Prediction.__table__  # type: ignore[attr-defined]
versions_t: sa.Table = ModelVersion.__table__  # type: ignore[attr-defined]


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


def insert_samples(conn: Connection, spec: DatasetSpec, rows: Sequence[NewSample], source: str) -> list[uuid.UUID]:
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
    return ids


def count_samples(engine: Engine, spec: DatasetSpec, source: str | None = None) -> int:
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


def training_frame(engine: Engine, spec: DatasetSpec, sources: Iterable[str] = ("reference",)) -> pd.DataFrame:
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
    engine: Engine, spec: DatasetSpec, *, limit: int, offset: int, source: str | None = None
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
            sa.select(samples_t.c.id, samples_t.c.label)
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
        conn.execute(predictions_t.update().where(predictions_t.c.sample_id == row.id).values(actual_label=label))
    return {"prediction_id": prediction_id, "sample_id": row.id, "actual": spec.label_to_api(label)}


def _labelled_predictions(spec: DatasetSpec, model_version: int | None, source: str | None) -> tuple[Any, list[Any]]:
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


def confusion_matrix(
    engine: Engine, spec: DatasetSpec, *, model_version: int | None = None, source: str | None = None
) -> dict[str, Any]:
    """Counts of (actual, predicted) over labelled predictions, every label of the spec present."""
    joined, where = _labelled_predictions(spec, model_version, source)
    query = (
        sa.select(predictions_t.c.actual_label, predictions_t.c.predicted_label, sa.func.count())
        .select_from(joined)
        .where(*where)
        .group_by(predictions_t.c.actual_label, predictions_t.c.predicted_label)
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


def _bucket_expr(dialect: str, column: Any, bucket: str) -> Any:
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
    bucket: str = "day",
    model_version: int | None = None,
    source: str | None = None,
    limit: int = 366,
) -> list[dict[str, Any]]:
    """Per time bucket of prediction time: n, accuracy (exact label), and for regression MAE and
    within-one accuracy of the shown grade. The newest ``limit`` buckets, oldest first."""
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


def random_sample(engine: Engine, spec: DatasetSpec, source: str) -> dict[str, Any] | None:
    """One random stored sample of ``source``: its id, features and label."""
    ft, cols = _features_select(spec)
    query = (
        sa.select(samples_t.c.id, samples_t.c.label, *cols)
        .select_from(samples_t.join(ft, ft.c.sample_id == samples_t.c.id))
        .where(samples_t.c.dataset == spec.name, samples_t.c.source == source)
        .order_by(sa.func.random())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return {
        "sample_id": row["id"],
        "features": {f: row[f] for f in spec.feature_names},
        spec.target: spec.label_to_api(row["label"]),
    }
