"""Alembic environment: the URL comes from the caller's config (see ``dailyml.db.migrate``)."""

from __future__ import annotations

from alembic import context

from dailyml import tables
from dailyml.db import create_db_engine

config = context.config
target_metadata = tables.metadata


def run_migrations_offline() -> None:
    """Emit the migrations as SQL for the configured URL, without connecting."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Apply the migrations over a connection to the configured URL."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_db_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
