"""The feature store: samples with typed features and predictions, written and read back.

It also keeps ``prediction_counts`` up to date in the transactions that label predictions; the
monitoring reads over all of it live in ``monitoring.py``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine

from dailyml.contracts import ActualOut
from dailyml.datasets import DatasetSpec, row_hash
from dailyml.db import as_utc, transaction
from dailyml.errors import ConflictError, NotFoundError
from dailyml.tables import ModelVersion, Prediction, PredictionCount, Sample, feature_table, utcnow
from dailyml.vocab import SampleSource

samples_t: sa.Table = Sample.__table__  # type: ignore[attr-defined]
predictions_t: sa.Table = Prediction.__table__  # type: ignore[attr-defined]
versions_t: sa.Table = ModelVersion.__table__  # type: ignore[attr-defined]
counts_t: sa.Table = PredictionCount.__table__  # type: ignore[attr-defined]
_RANDOM = random.SystemRandom()
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


@dataclass(frozen=True)
class StoredSample:
    """A sample read back from the store: its id, features and stored label (None when unknown)."""

    id: uuid.UUID
    features: dict[str, Any]
    label: str | None


def of_dataset(table: sa.Table, spec: DatasetSpec, source: SampleSource | None = None) -> list[sa.ColumnElement[bool]]:
    """The conditions selecting ``table``'s rows of ``spec``, and only those of samples from
    ``source`` when given (the query then joins ``samples`` when ``table`` is another table)."""
    where = [table.c.dataset == spec.name]
    if source:
        where.append(samples_t.c.source == source)
    return where


@dataclass(frozen=True)
class _InsertPlan:
    """A table's INSERT as the driver takes it, and how each value is converted first."""

    sql: str
    order: tuple[int, ...] | None  # positional drivers: the value of each placeholder, in order
    names: tuple[str, ...]  # named drivers: the placeholders' names, in ``columns`` order
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, bind processor)

    def execute(self, conn: Connection, rows: list[list[Any]]) -> None:
        for row in rows:
            for i, process in self.convert:
                row[i] = process(row[i])
        if self.order is not None:
            order = self.order
            conn.exec_driver_sql(self.sql, [tuple(row[i] for i in order) for row in rows])
        else:
            conn.exec_driver_sql(self.sql, [dict(zip(self.names, row, strict=True)) for row in rows])


@lru_cache(maxsize=64)
def _insert_plan(dialect: Dialect, table: sa.Table, columns: tuple[str, ...]) -> _InsertPlan:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    convert = []
    for i, name in enumerate(columns):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            convert.append((i, process))
    order = None
    if dialect.positional:
        position = {name: i for i, name in enumerate(columns)}
        order = tuple(position[name] for name in compiled.positiontup or ())
    return _InsertPlan(compiled.string, order, columns, tuple(convert))


def _insert(conn: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[list[Any]]) -> None:
    """Insert ``rows`` (values in ``columns`` order, each already of its column's Python type)
    with one ``executemany`` of the driver.

    The statement and the value conversions are SQLAlchemy's own for the connection's dialect,
    prepared once per table; what is skipped is SQLAlchemy's per-row parameter processing, which
    cost the prediction log about as much as the database's own work (docs/performance.md).
    """
    if rows:
        _insert_plan(conn.dialect, table, columns).execute(conn, rows)


SAMPLE_COLUMNS = (
    "id",
    "dataset",
    "label",
    "source",
    "split",
    "content_hash",
    "producer_version_id",
    "event_time",
    "created_at",
)
PREDICTION_COLUMNS = (
    "id",
    "dataset",
    "sample_id",
    "model_version_id",
    "predicted_label",
    "actual_label",
    "score",
    "probabilities",
    "created_at",
)


def insert_samples(
    conn: Connection, spec: DatasetSpec, rows: Sequence[NewSample], source: SampleSource
) -> list[uuid.UUID]:
    """Insert samples and their typed features in the caller's transaction; returns their ids."""
    if not rows:
        return []
    now = utcnow()
    ids = [r.id or uuid.uuid4() for r in rows]
    name = spec.name
    _insert(
        conn,
        samples_t,
        SAMPLE_COLUMNS,
        [
            [
                sid,
                name,
                r.label,
                source,
                r.split,
                row_hash(spec, r.features),
                r.producer_version_id,
                r.event_time or now,
                now,
            ]
            for sid, r in zip(ids, rows, strict=True)
        ],
    )
    features = spec.feature_names
    _insert(
        conn,
        feature_table(name),
        ("sample_id", *features),
        [[sid, *[r.features[f] for f in features]] for sid, r in zip(ids, rows, strict=True)],
    )
    return ids


def insert_predictions(conn: Connection, spec: DatasetSpec, predictions: Sequence[NewPrediction]) -> list[uuid.UUID]:
    """Insert predictions in the caller's transaction; returns their ids."""
    if not predictions:
        return []
    now = utcnow()
    ids = [p.id or uuid.uuid4() for p in predictions]
    _insert(
        conn,
        predictions_t,
        PREDICTION_COLUMNS,
        [
            [
                pid,
                spec.name,
                p.sample_id,
                p.model_version_id,
                p.predicted_label,
                p.actual_label,
                p.score,
                p.probabilities,
                p.created_at or now,
            ]
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
    query = sa.select(sa.func.count()).select_from(samples_t).where(*of_dataset(samples_t, spec, source))
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
    with transaction(engine) as session:
        insert_samples(session.connection(), spec, rows, "reference")
    return len(rows)


def _frame(result: sa.CursorResult[Any]) -> pd.DataFrame:
    # Column keys come back as SQLAlchemy's str subclass, which scikit-learn does not count as
    # feature names; make them plain strings.
    return pd.DataFrame(result.all(), columns=[str(k) for k in result.keys()])  # noqa: SIM118 (a Result, not a dict)


def _features_select(spec: DatasetSpec) -> tuple[sa.Table, list[sa.ColumnElement[Any]]]:
    ft = feature_table(spec.name)
    return ft, [ft.c[f] for f in spec.feature_names]


def select_with_features(spec: DatasetSpec, joined: sa.FromClause, *columns: Any) -> sa.Select[Any]:
    """A select of ``columns`` then every feature of ``spec`` (under its name), from ``joined``
    (which holds ``samples``) joined to the spec's feature table."""
    ft, cols = _features_select(spec)
    return sa.select(*columns, *cols).select_from(joined.join(ft, ft.c.sample_id == samples_t.c.id))


def _samples_select(spec: DatasetSpec) -> sa.Select[Any]:
    # What a StoredSample is read from: the sample's id and label, and its features.
    return select_with_features(spec, samples_t, samples_t.c.id, samples_t.c.label)


def _stored_sample(spec: DatasetSpec, row: sa.RowMapping) -> StoredSample:
    return StoredSample(id=row["id"], features={f: row[f] for f in spec.feature_names}, label=row["label"])


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


def pending_samples(engine: Engine, spec: DatasetSpec, limit: int) -> list[StoredSample]:
    """Samples with no prediction yet, oldest first: what the daily loop predicts."""
    has_prediction = sa.exists().where(predictions_t.c.sample_id == samples_t.c.id)
    query = (
        _samples_select(spec)
        .where(samples_t.c.dataset == spec.name, samples_t.c.source != "reference", ~has_prediction)
        .order_by(samples_t.c.event_time, samples_t.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_stored_sample(spec, r) for r in conn.execute(query).mappings()]


def set_actual(engine: Engine, spec: DatasetSpec, prediction_id: uuid.UUID, label: str) -> ActualOut:
    """Record the true label of the sample behind a prediction (conflict if it differs)."""
    with transaction(engine) as session:
        conn = session.connection()
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
    return ActualOut(prediction_id=prediction_id, sample_id=row.id, actual=spec.label_to_api(label))


def random_sample(engine: Engine, spec: DatasetSpec, source: SampleSource) -> StoredSample | None:
    """One random stored sample of ``source``, or None when there is none.

    The first sample at or after an id drawn uniformly between the smallest and the largest id
    of ``source`` (extended below the smallest by its gap to the next one, so that the first
    sample has a share like its neighbours), through the (dataset, source, id) index: three
    index probes however many samples there are. Reference and synthetic samples have random
    ids (version 4), so each of them is about equally likely. Online samples have time-ordered
    ids (``dailyml.ids``): every moment between the first and the last is equally likely, so a
    sample from a quiet hour is likelier than one from a busy hour.
    """
    where = of_dataset(samples_t, spec, source)
    ids = sa.select(samples_t.c.id).where(*where)
    base = _samples_select(spec)
    with engine.connect() as conn:
        first = conn.execute(ids.order_by(samples_t.c.id).limit(2)).scalars().all()
        if not first:
            return None
        low = first[0].int
        gap = first[1].int - low if len(first) == 2 else 0
        high = conn.execute(ids.order_by(samples_t.c.id.desc()).limit(1)).scalar_one().int
        probe = uuid.UUID(int=max(_RANDOM.randint(low - gap, high), low))
        row = (
            conn.execute(base.where(*where, samples_t.c.id >= probe).order_by(samples_t.c.id).limit(1))
            .mappings()
            .first()
        )
    return None if row is None else _stored_sample(spec, row)
