"""Shared fixtures: real SQLite and real PostgreSQL databases, bootstrapped once and copied per test.

``db`` is parametrised over both backends: every test that asks for it runs on each. Without
the PostgreSQL server binaries, those tests skip and the session fails with a line saying so,
unless ``DAILYML_TEST_SKIP_POSTGRES=1`` (``tests/support/requirements.py``).
"""

from __future__ import annotations

import os
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
from tests.support import clock, requirements
from tests.support.postgres import PostgresServer, postgres_binaries, start_postgres

ADMIN_TOKEN = "test-admin-token-0123456789"
# Every test database's artifacts are signed with this key (as a deployment's are).
ARTIFACT_KEY = "test-artifact-signing-key-7f3a9c"

clock.install()  # DAILYML_TEST_CLOCK: the whole session (and every service it starts) at that instant


def pytest_report_header() -> str:
    tz = os.environ.get("DAILYML_SCHEDULER_TIMEZONE") or "UTC"
    return f"dailyml clock: {clock.now().isoformat(timespec='seconds')} (scheduler time zone {tz})"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A part of the suite that could not run fails the session, unless skipped on purpose."""
    if requirements.missing and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in requirements.summary():
        terminalreporter.write_line(
            line, red=line.startswith("NOT RUN"), yellow=not line.startswith("NOT RUN"), bold=True
        )


def _quiet(_: str):  # type: ignore[no-untyped-def]
    return lambda done, total, message: None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    requirements.require(
        "postgres", postgres_binaries() is not None, "PostgreSQL 15 binaries (initdb, pg_ctl) not found"
    )
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bootstrapped SQLite home (database + artifacts), built once per session."""
    home = tmp_path_factory.mktemp("sqlite-template")
    settings = Settings(
        home=home,
        database_url=None,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        artifact_key=ARTIFACT_KEY,  # type: ignore[arg-type]
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
        artifact_key=ARTIFACT_KEY,  # type: ignore[arg-type]
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


@contextmanager
def fresh_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database of ``backend``, private to the caller, disposed (and dropped) after."""
    if backend == "sqlite":
        database = _sqlite_db(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        server = request.getfixturevalue("postgres_server")
        database = _postgres_db(server, request.getfixturevalue("postgres_template"), tmp_path)
    try:
        yield database
    finally:
        database.engine.dispose()
        if database.backend == "postgres":
            request.getfixturevalue("postgres_server").drop_database(database.url.rsplit("/", 1)[-1])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database of each backend, private to the test."""
    with fresh_database(request, request.param, tmp_path) as database:
        yield database


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
