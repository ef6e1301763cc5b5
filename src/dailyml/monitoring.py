"""Monitoring reads over the feature store: prediction history, confusion matrix, metrics over
time and the reference statistics, each answered as its API model.

Aggregates (confusion matrix, metrics over time) are computed by the database, so they cost
the same with a hundred predictions as with a million and never load the history into memory.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dailyml.contracts import (
    ConfusionMatrix,
    HistoryItem,
    HistoryPage,
    MetricsPoint,
    MetricsSeries,
    SpecOut,
    spec_out,
)
from dailyml.datasets import DatasetSpec
from dailyml.featurestore import (
    counts_t,
    of_dataset,
    predictions_t,
    samples_t,
    select_with_features,
    training_frame,
    versions_t,
)
from dailyml.vocab import Bucket, SampleSource


@dataclass(frozen=True)
class NumericStats:
    """A numeric feature over the reference rows: what a UI starts from and its range."""

    median: float
    min: float
    max: float


@dataclass(frozen=True)
class CategoricalStats:
    """A categorical feature over the reference rows: its most common value."""

    mode: str


FeatureStats = NumericStats | CategoricalStats


def history(
    engine: Engine, spec: DatasetSpec, *, limit: int, offset: int, source: SampleSource | None = None
) -> HistoryPage:
    """A page of predictions, newest first, each with its sample's features and true label."""
    joined = predictions_t.join(samples_t, samples_t.c.id == predictions_t.c.sample_id).join(
        versions_t, versions_t.c.id == predictions_t.c.model_version_id
    )
    where = of_dataset(predictions_t, spec, source)
    query = (
        select_with_features(
            spec,
            joined,
            predictions_t.c.id,
            predictions_t.c.sample_id,
            predictions_t.c.predicted_label,
            predictions_t.c.score,
            predictions_t.c.probabilities,
            predictions_t.c.created_at,
            predictions_t.c.actual_label,
            samples_t.c.source,
            samples_t.c.event_time,
            versions_t.c.version,
        )
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
        items = [_history_item(spec, row) for row in conn.execute(query).mappings()]
    return HistoryPage(total=total, limit=limit, offset=offset, items=items)


def _history_item(spec: DatasetSpec, row: sa.RowMapping) -> HistoryItem:
    actual, predicted = row["actual_label"], row["predicted_label"]
    return HistoryItem(
        id=row["id"],
        sample_id=row["sample_id"],
        created_at=row["created_at"],
        event_time=row["event_time"],
        source=row["source"],
        model_version=row["version"],
        features={f: row[f] for f in spec.feature_names},
        predicted=spec.label_to_api(predicted),
        actual=spec.label_to_api(actual),
        correct=None if actual is None else actual == predicted,
        score=row["score"],
        probabilities=row["probabilities"],
    )


def _labelled_predictions(
    spec: DatasetSpec, model_version: int | None, source: SampleSource | None
) -> tuple[Any, list[Any]]:
    # Reads the partial index of labelled predictions; joins only what a filter needs.
    joined: Any = predictions_t
    where: list[Any] = [*of_dataset(predictions_t, spec, source), predictions_t.c.actual_label.is_not(None)]
    if source:
        joined = joined.join(samples_t, samples_t.c.id == predictions_t.c.sample_id)
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
) -> ConfusionMatrix:
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
    return ConfusionMatrix(labels=[spec.label_to_api(x) for x in labels], matrix=matrix, total=sum(map(sum, matrix)))


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
) -> MetricsSeries:
    """Per time bucket of prediction time: n, accuracy (exact label), and for regression MAE and
    within-one accuracy of the shown grade. The newest ``limit`` buckets, oldest first.

    Days and weeks are read from ``prediction_counts``; minutes and hours (the fast demo's
    buckets) from the labelled predictions themselves.
    """
    if bucket in ("day", "week"):
        points = _metrics_from_counts(engine, spec, bucket, model_version, source, limit)
        return MetricsSeries(dataset=spec.name, bucket=bucket, points=points)
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
        # Decimal averages (PostgreSQL) become floats in the model.
        points = [MetricsPoint.model_validate(dict(r)) for r in conn.execute(query).mappings()]
    return MetricsSeries(dataset=spec.name, bucket=bucket, points=points[::-1])


def _metrics_from_counts(
    engine: Engine,
    spec: DatasetSpec,
    bucket: Bucket,
    model_version: int | None,
    source: SampleSource | None,
    limit: int,
) -> list[MetricsPoint]:
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
    regression = spec.task == "regression"
    points = []
    for key in sorted(totals)[-limit:]:
        n, correct, err, err_n, within = totals[key]
        points.append(
            MetricsPoint(
                bucket=key,
                n=int(n),
                accuracy=correct / n,
                mae=err / err_n if regression and err_n else None,
                within_one_accuracy=within / n if regression else None,
            )
        )
    return points


def _monday(day: str) -> str:
    d = datetime.strptime(day, "%Y-%m-%d")
    return (d - timedelta(days=d.weekday())).strftime("%Y-%m-%d")


def reference_stats(engine: Engine, spec: DatasetSpec) -> dict[str, FeatureStats]:
    """Median, min and max of each numeric feature over the reference rows (UI defaults), and the
    most common value of each categorical one; empty before the reference rows are loaded."""
    frame = training_frame(engine, spec, ("reference",))
    if frame.empty:
        return {}
    stats: dict[str, FeatureStats] = {}
    for f in spec.features:
        column = frame[f.name]
        if f.is_categorical:
            stats[f.name] = CategoricalStats(mode=str(column.mode().iloc[0]))
        else:
            stats[f.name] = NumericStats(
                median=float(column.median()), min=float(column.min()), max=float(column.max())
            )
    return stats


def described_spec(engine: Engine, spec: DatasetSpec) -> SpecOut:
    """The dataset spec as the API describes it, with the reference statistics of each feature."""
    return spec_out(spec, {name: asdict(s) for name, s in reference_stats(engine, spec).items()})
