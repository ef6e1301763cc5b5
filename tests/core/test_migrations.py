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
