"""Engines, the one transaction helper and migrations. Nothing connects at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return sa.create_engine(url, **kwargs)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: a session on one connection, committed on success, rolled back on any error.

    The rule: every write is one ``with transaction(engine) as session:`` block, and this is the
    only place that commits or rolls back. ORM work goes through ``session``; Core statements run on
    ``session.connection()``, which is also what functions taking a ``Connection`` (such as
    ``featurestore.insert_samples``) are handed. Functions that take a session or a connection never
    commit: their caller's block decides. Returned ORM objects stay readable after the block
    (``expire_on_commit=False``). Reads that need no session may use ``engine.connect()``: they
    open no write transaction and commit nothing (the connection's implicit transaction is rolled
    back when it closes).
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Any:
    """An Alembic config pointing at our migrations and ``url`` (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``, then give every registered dataset its feature
    table (idempotent)."""
    from alembic import command

    from dailyml.tables import sync_feature_tables

    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        engine = create_db_engine(url)
        try:
            with transaction(engine) as session:
                sync_feature_tables(session.connection())
        finally:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
