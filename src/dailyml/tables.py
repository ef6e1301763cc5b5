"""The database schema: feature store, predictions, registry, jobs and scheduler runs.

The registry's versions, the jobs and the runs are model families: their fields are declared
once, in the bases of :mod:`dailyml.contracts` that their API views derive from too; the tables
here add what only the database holds (ids, artifact locations, heartbeats, constraints).

Generic tables (``samples``, ``predictions`` ...) are SQLModel classes. Each dataset also gets a
typed feature table (``features_iris``, ``features_wine``) built from its spec, one row per
sample, so aggregates over features are plain SQL on real columns. Schema changes of the generic
tables go through the Alembic migrations in ``dailyml/migrations``; a test checks they match this
module. A dataset's feature table is derived from its spec: ``dailyml migrate`` creates the one of
every registered dataset that has none (:func:`sync_feature_tables`), so a new dataset needs no
hand-written migration.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from dailyml import clock
from dailyml.contracts.common import JobBase, NewVersion, RegisteredVersion, json_column, timestamp_column
from dailyml.contracts.scheduler import RunBase
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.vocab import SampleSource


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the process clock, :func:`dailyml.clock.now`)."""
    return clock.now()


class Sample(SQLModel, table=True):
    """One row of the feature store: an observation, its label when known, where it came from."""

    __tablename__ = "samples"
    __table_args__ = (
        sa.Index("ix_samples_dataset_source_time", "dataset", "source", "event_time"),
        sa.Index("ix_samples_dataset_hash", "dataset", "content_hash"),
        # A random sample is the first id after a random UUID: one index probe, not a scan.
        sa.Index("ix_samples_dataset_source_id", "dataset", "source", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    dataset: str = Field(max_length=32)
    label: str | None = Field(default=None, max_length=32)
    source: SampleSource = Field(sa_type=sa.String(16))
    split: str | None = Field(default=None, max_length=8)  # train | test for reference rows
    content_hash: str = Field(max_length=64)  # sha256 of the features: dedup and copy checks
    producer_version_id: int | None = Field(default=None, foreign_key="model_versions.id")
    event_time: datetime = timestamp_column(default_factory=utcnow)
    created_at: datetime = timestamp_column(default_factory=utcnow)


class Prediction(SQLModel, table=True):
    """A model's answer for one sample, pointing at that sample: no guessing by position.

    ``actual_label`` is the sample's true label, copied here when it is known (at prediction time
    for labelled samples, or when it is recorded later, in the same transaction as the sample's):
    the monitoring aggregates then read one table through a partial index of labelled rows,
    instead of joining a million unlabelled online predictions to their samples.
    """

    __tablename__ = "predictions"
    __table_args__ = (
        sa.Index("ix_predictions_dataset_time", "dataset", "created_at"),
        sa.Index("ix_predictions_sample", "sample_id"),
        sa.Index(
            "ix_predictions_labelled",
            "dataset",
            "created_at",
            sqlite_where=sa.text("actual_label IS NOT NULL"),
            postgresql_where=sa.text("actual_label IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    dataset: str = Field(max_length=32)
    sample_id: uuid.UUID = Field(foreign_key="samples.id")
    model_version_id: int = Field(foreign_key="model_versions.id")
    predicted_label: str = Field(max_length=32)
    actual_label: str | None = Field(default=None, max_length=32)
    score: float | None = None  # regression: the raw (unrounded) prediction
    probabilities: dict[str, float] | None = json_column(nullable=True, default=None)
    created_at: datetime = timestamp_column(default_factory=utcnow)


class PredictionCount(SQLModel, table=True):
    """Labelled predictions counted per (dataset, model version, source, UTC day, actual, predicted).

    Maintained in the transaction that labels predictions (``featurestore``), so the confusion
    matrix and the daily and weekly metrics (``monitoring``) read a few hundred rows however
    long the history is.
    ``abs_error_sum`` (regression) sums |score - actual| over the ``abs_error_n`` rows with a score.
    """

    __tablename__ = "prediction_counts"

    dataset: str = Field(primary_key=True, max_length=32)
    model_version_id: int = Field(primary_key=True, foreign_key="model_versions.id")
    source: str = Field(primary_key=True, max_length=16)
    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD of the prediction's created_at, UTC
    actual_label: str = Field(primary_key=True, max_length=32)
    predicted_label: str = Field(primary_key=True, max_length=32)
    n: int = 0
    abs_error_sum: float = 0.0
    abs_error_n: int = 0


class ModelVersion(NewVersion, RegisteredVersion, table=True):
    """A registered artifact: a trained model (``kind='model'``) or a fitted synthesizer; its
    fields are declared by the family in :mod:`dailyml.contracts.common`."""

    __tablename__ = "model_versions"
    __table_args__ = (sa.UniqueConstraint("dataset", "kind", "version", name="uq_model_versions_version"),)

    id: int | None = Field(default=None, primary_key=True)
    artifact_format: str = Field(max_length=16)  # skops | cloudpickle
    artifact_uri: str = Field(max_length=512)
    # HMAC-SHA256 (dailyml.signing) with DAILYML_ARTIFACT_KEY; None: registered without a key.
    artifact_signature: str | None = Field(default=None, max_length=64)


class ModelAlias(SQLModel, table=True):
    """A named pointer to a version (``champion``, ``default``). Promote = re-point."""

    __tablename__ = "model_aliases"

    dataset: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=16)
    alias: str = Field(primary_key=True, max_length=32)
    version_id: int = Field(foreign_key="model_versions.id")
    updated_at: datetime = timestamp_column(default_factory=utcnow)


class AliasEvent(SQLModel, table=True):
    """Every re-pointing of an alias, so a rollback knows where to go back to."""

    __tablename__ = "alias_events"

    id: int | None = Field(default=None, primary_key=True)
    dataset: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    alias: str = Field(max_length=32)
    from_version_id: int | None = Field(default=None, foreign_key="model_versions.id")
    to_version_id: int = Field(foreign_key="model_versions.id")
    action: str = Field(max_length=16)  # promote | rollback
    reason: str = Field(default="", max_length=256)
    created_at: datetime = timestamp_column(default_factory=utcnow)


class Artifact(SQLModel, table=True):
    """Artifact bytes kept in the database, addressed by sha256 (the default store for PostgreSQL)."""

    __tablename__ = "artifacts"

    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary)
    size: int
    created_at: datetime = timestamp_column(default_factory=utcnow)


class Job(JobBase, table=True):
    """Long work run in the background (fitting a synthesizer, training) with its progress."""

    __tablename__ = "jobs"

    # Renewed every few seconds by the process running the job (dailyml.background_jobs): a job whose
    # heartbeat stopped is failed by the next live process, its own restart included.
    heartbeat_at: datetime | None = timestamp_column(default=None)


class GenerationRequest(SQLModel, table=True):
    """An idempotent generation: a repeated key returns the stored response and writes nothing."""

    __tablename__ = "generation_requests"
    __table_args__ = (sa.UniqueConstraint("dataset", "idempotency_key", name="uq_generation_key"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset: str = Field(max_length=32)
    idempotency_key: str = Field(max_length=128)
    response: dict[str, Any] = json_column(default_factory=dict)
    created_at: datetime = timestamp_column(default_factory=utcnow)


class Run(RunBase, table=True):
    """A scheduled run. The unique key makes a run happen once per job, dataset and day."""

    __tablename__ = "runs"
    __table_args__ = (
        sa.UniqueConstraint("job", "dataset", "scheduled_for", name="uq_runs_key"),
        sa.Index("ix_runs_started", "started_at"),
    )

    # Renewed by the scheduler running it: a run whose heartbeat stopped (its process died) is
    # taken over at once instead of after DAILYML_SCHEDULER_RUN_TIMEOUT_MINUTES.
    heartbeat_at: datetime | None = timestamp_column(default=None)


def _feature_table(spec: DatasetSpec) -> sa.Table:
    columns: list[sa.Column[Any]] = [
        sa.Column("sample_id", sa.Uuid(), sa.ForeignKey("samples.id", ondelete="CASCADE"), primary_key=True)
    ]
    for f in spec.features:
        col_type: sa.types.TypeEngine[Any] = sa.String(32) if f.is_categorical else sa.Float()
        columns.append(sa.Column(f.name, col_type, nullable=False))
    return sa.Table(f"features_{spec.name}", SQLModel.metadata, *columns)


FEATURE_TABLES: dict[str, sa.Table] = {name: _feature_table(spec) for name, spec in SPECS.items()}


def feature_table(dataset: str) -> sa.Table:
    """The typed feature table of a dataset."""
    return FEATURE_TABLES[dataset]


class FeatureTableMismatch(RuntimeError):
    """A dataset's feature table in the database has other columns than its spec declares."""


def _column_kind(name: str, column_type: Any) -> str:
    if name == "sample_id":
        return "key"
    return "number" if isinstance(column_type, sa.Numeric) else "text"


def sync_feature_tables(connection: sa.Connection) -> list[str]:
    """Create the feature table of every registered dataset that has none; return the tables created.

    A table that exists must have exactly the spec's columns, each a number or a category as the
    spec says: a changed spec is refused with the differences named, never altered in place (its
    stored rows would no longer mean what they say). Runs in the caller's transaction.
    """
    inspector = sa.inspect(connection)
    existing = set(inspector.get_table_names())
    created: list[str] = []
    for table in FEATURE_TABLES.values():
        if table.name not in existing:
            table.create(connection)
            created.append(table.name)
            continue
        stored = {c["name"]: _column_kind(c["name"], c["type"]) for c in inspector.get_columns(table.name)}
        wanted = {c.name: _column_kind(c.name, c.type) for c in table.columns}
        if stored != wanted:
            missing = sorted(set(wanted) - set(stored))
            extra = sorted(set(stored) - set(wanted))
            changed = sorted(k for k in set(wanted) & set(stored) if wanted[k] != stored[k])
            raise FeatureTableMismatch(
                f"{table.name} does not match its dataset spec: missing columns {missing}, columns not in the spec "
                f"{extra}, columns of another kind {changed}. A changed spec is a new dataset: give it a new name."
            )
    return created


metadata = SQLModel.metadata
