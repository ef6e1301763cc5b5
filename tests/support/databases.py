"""Test databases: a store bootstrapped once per session (SQLite and PostgreSQL), copied per test.

The root ``tests/conftest.py`` builds its fixtures (``sqlite_template``, ``postgres_template``,
``db``, ``sqlite_db``, ``postgres_db``) from these functions; a fixture of wider scope (a module's
or a package's stack) takes its own copy with :func:`sqlite_copy`, :func:`postgres_copy` or
:func:`fresh_database`.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from dailyml.bootstrap import bootstrap
from dailyml.db import create_db_engine
from dailyml.settings import Settings
from tests.support.credentials import ADMIN_TOKEN, ARTIFACT_KEY
from tests.support.postgres import PostgresServer


@dataclass
class Database:
    """A fresh database for one test, already bootstrapped (reference data, champion models)."""

    backend: str
    url: str
    home: Path
    engine: Engine

    @property
    def name(self) -> str:
        """The database's name on its server (PostgreSQL)."""
        return self.url.rsplit("/", 1)[-1]

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "home": self.home,
            "database_url": self.url,
            "admin_token": ADMIN_TOKEN,
            "artifact_key": ARTIFACT_KEY,
            "train_profile": "fast",
            "model_poll_seconds": 0.3,
            "log_flush_seconds": 0.05,
        }
        return Settings(**{**values, **overrides})  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        """The environment a service process needs to use this database."""
        return {
            "DAILYML_HOME": str(self.home),
            "DAILYML_DATABASE_URL": self.url,
            "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN,
            "DAILYML_ARTIFACT_KEY": ARTIFACT_KEY,
            "DAILYML_TRAIN_PROFILE": "fast",
            "DAILYML_MODEL_POLL_SECONDS": "0.3",
            "DAILYML_LOG_FLUSH_SECONDS": "0.05",
        }


def _quiet(_: str):  # type: ignore[no-untyped-def]
    return lambda done, total, message: None


def bootstrap_store(home: Path, database_url: str | None) -> None:
    """Bootstrap a store as every test store is (fast-profile models, the test secrets), quietly."""
    settings = Settings(
        home=home,
        database_url=database_url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        artifact_key=ARTIFACT_KEY,  # type: ignore[arg-type]
        train_profile="fast",
    )
    engine = create_db_engine(settings.resolved_database_url)
    bootstrap(settings, engine, progress_factory=_quiet)
    engine.dispose()


def sqlite_copy(template: Path, tmp_path: Path) -> Database:
    """A copy of the bootstrapped SQLite home ``template`` (database and artifacts) under ``tmp_path``."""
    home = tmp_path / "home"
    shutil.copytree(template, home)
    url = f"sqlite:///{home / 'dailyml.db'}"
    return Database("sqlite", url, home, create_db_engine(url))


def postgres_copy(server: PostgresServer, template: str, tmp_path: Path) -> Database:
    """A new database on ``server`` created from the bootstrapped database ``template``."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name, template=template)
    home = tmp_path / "home"
    home.mkdir()
    return Database("postgres", url, home, create_db_engine(url))


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database of ``backend``, private to the caller, disposed (and dropped) after.

    The templates come from the root conftest's session fixtures, asked for only when needed (a
    SQLite-only run never starts PostgreSQL).
    """
    if backend == "sqlite":
        database = sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        server = request.getfixturevalue("postgres_server")
        database = postgres_copy(server, request.getfixturevalue("postgres_template"), tmp_path)
    try:
        yield database
    finally:
        database.engine.dispose()
        if database.backend == "postgres":
            request.getfixturevalue("postgres_server").drop_database(database.name)
