"""Migrations build the schema from empty, match the models, and go down and up again."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dailyml import tables
from dailyml.db import alembic_config, create_db_engine, current_revision, migrate


def _check_roundtrip(url: str) -> None:
    migrate(url)
    engine = create_db_engine(url)
    try:
        assert current_revision(engine) is not None
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        command.downgrade(alembic_config(url), "base")
        assert current_revision(engine) is None
        migrate(url)
        migrate(url)  # idempotent
        assert current_revision(engine) is not None
    finally:
        engine.dispose()


def test_sqlite_migrates_from_empty_and_matches_the_models(empty_database_url: str) -> None:
    _check_roundtrip(empty_database_url)


@pytest.mark.postgres
def test_postgres_migrates_from_empty_and_matches_the_models(postgres_server) -> None:  # type: ignore[no-untyped-def]
    _check_roundtrip(postgres_server.create_database("migrations_roundtrip"))


def test_0002_backfills_actual_labels_from_the_samples(empty_database_url: str) -> None:
    import sqlalchemy as sa

    url = empty_database_url
    migrate(url, "0001")
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO model_versions (id, dataset, kind, version, algorithm, params, metrics,"
                    " feature_schema,"
                    " data_hash, artifact_sha256, artifact_format, artifact_uri, artifact_size, created_at) VALUES"
                    " (1, 'iris', 'model', 1, 'x', '{}', '{}', '{}', '0', '0', 'skops', 'file://0', 0, '2026-01-01')"
                )
            )
            for sid, label in (("a" * 32, "setosa"), ("b" * 32, None)):
                conn.execute(
                    sa.text(
                        "INSERT INTO samples (id, dataset, label, source, content_hash, event_time, created_at) VALUES"
                        " (:id, 'iris', :label, 'online', '0', '2026-01-01', '2026-01-01')"
                    ),
                    {"id": sid, "label": label},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO predictions (id, dataset, sample_id, model_version_id, predicted_label,"
                        " created_at)"
                        " VALUES (:pid, 'iris', :sid, 1, 'setosa', '2026-01-01')"
                    ),
                    {"pid": sid.replace("a", "c").replace("b", "d"), "sid": sid},
                )
        migrate(url)
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text("SELECT sample_id, actual_label FROM predictions")).all())
        assert rows == {"a" * 32: "setosa", "b" * 32: None}
    finally:
        engine.dispose()
