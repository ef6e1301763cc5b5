"""Shared fixtures: real SQLite and real PostgreSQL databases, bootstrapped once and copied per test.

``db`` is parametrised over both backends: every test that asks for it runs on each. A
PostgreSQL test skips with the reason when the server binaries are absent, and fails instead
under CI (``CI=true``), where they must be present.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from dailyml.bootstrap import bootstrap
from dailyml.db import create_db_engine
from dailyml.settings import Settings
from tests.support import clock
from tests.support.postgres import PostgresServer, postgres_binaries, start_postgres

ADMIN_TOKEN = "test-admin-token-0123456789"
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

clock.install()  # DAILYML_TEST_CLOCK: the whole session (and every service it starts) at that instant


def pytest_report_header() -> str:
    tz = os.environ.get("DAILYML_SCHEDULER_TIMEZONE") or "UTC"
    return f"dailyml clock: {clock.now().isoformat(timespec='seconds')} (scheduler time zone {tz})"


def _quiet(_: str):  # type: ignore[no-untyped-def]
    return lambda done, total, message: None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    if postgres_binaries() is None:
        if ON_CI:
            pytest.fail("PostgreSQL server binaries are required under CI (install postgresql)")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = start_postgres()
    yield server
    server.stop()


@dataclass
class Database:
    """A fresh database for one test, already bootstrapped (reference data, champion models)."""

    backend: str
    url: str
    home: Path
    engine: Engine

    def settings(self, **overrides: object) -> Settings:
        return Settings(
            home=self.home,
            database_url=self.url,
            admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
            train_profile="fast",
            model_poll_seconds=0.3,
            log_flush_seconds=0.05,
            **overrides,
        )  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        """The environment a service process needs to use this database."""
        return {
            "DAILYML_HOME": str(self.home),
            "DAILYML_DATABASE_URL": self.url,
            "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN,
            "DAILYML_TRAIN_PROFILE": "fast",
            "DAILYML_MODEL_POLL_SECONDS": "0.3",
            "DAILYML_LOG_FLUSH_SECONDS": "0.05",
        }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bootstrapped SQLite home (database + artifacts), built once per session."""
    home = tmp_path_factory.mktemp("sqlite-template")
    settings = Settings(
        home=home,
        database_url=None,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        train_profile="fast",
    )
    engine = create_db_engine(settings.resolved_database_url)
    bootstrap(settings, engine, progress_factory=_quiet)
    engine.dispose()
    return home


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bootstrapped PostgreSQL database used as the template of each test's database."""
    name = "dailyml_template"
    url = postgres_server.create_database(name)
    home = tmp_path_factory.mktemp("pg-template-home")
    settings = Settings(
        home=home,
        database_url=url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        train_profile="fast",
    )
    engine = create_db_engine(url)
    bootstrap(settings, engine, progress_factory=_quiet)
    engine.dispose()
    return name


def _sqlite_db(template: Path, tmp_path: Path) -> Database:
    home = tmp_path / "home"
    shutil.copytree(template, home)
    url = f"sqlite:///{home / 'dailyml.db'}"
    return Database("sqlite", url, home, create_db_engine(url))


def _postgres_db(server: PostgresServer, template: str, tmp_path: Path) -> Database:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name, template=template)
    home = tmp_path / "home"
    home.mkdir()
    return Database("postgres", url, home, create_db_engine(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database of each backend, private to the test."""
    if request.param == "sqlite":
        database = _sqlite_db(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        server = request.getfixturevalue("postgres_server")
        database = _postgres_db(server, request.getfixturevalue("postgres_template"), tmp_path)
    yield database
    database.engine.dispose()
    if database.backend == "postgres":
        request.getfixturevalue("postgres_server").drop_database(database.url.rsplit("/", 1)[-1])


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped SQLite database only (for tests where the backend does not matter)."""
    database = _sqlite_db(sqlite_template, tmp_path)
    yield database
    database.engine.dispose()


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty (never migrated) SQLite database URL."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def postgres_db(postgres_server: PostgresServer, postgres_template: str, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped PostgreSQL database only (for what only PostgreSQL can show, e.g. replicas)."""
    database = _postgres_db(postgres_server, postgres_template, tmp_path)
    yield database
    database.engine.dispose()
    postgres_server.drop_database(database.url.rsplit("/", 1)[-1])
