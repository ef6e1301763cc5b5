"""Shared fixtures: real SQLite and real PostgreSQL databases, bootstrapped once and copied per test.

``db`` is parametrised over both backends: every test that asks for it runs on each. Without
the PostgreSQL server binaries, those tests skip and the session fails with a line saying so,
unless ``DAILYML_TEST_SKIP_POSTGRES=1`` (``tests/support/requirements.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import clock, requirements
from tests.support.apps import Started, started_generator, started_predictor, started_scheduler
from tests.support.databases import Database, bootstrap_store, fresh_database, postgres_copy, sqlite_copy
from tests.support.postgres import PostgresServer, postgres_binaries, start_postgres

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    requirements.require(
        "postgres", postgres_binaries() is not None, "PostgreSQL 15 binaries (initdb, pg_ctl) not found"
    )
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bootstrapped SQLite home (database + artifacts), built once per session."""
    home = tmp_path_factory.mktemp("sqlite-template")
    bootstrap_store(home, None)
    return home


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A bootstrapped PostgreSQL database used as the template of each test's database."""
    name = "dailyml_template"
    url = postgres_server.create_database(name)
    bootstrap_store(tmp_path_factory.mktemp("pg-template-home"), url)
    return name


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped database of each backend, private to the test."""
    with fresh_database(request, request.param, tmp_path) as database:
        yield database


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped SQLite database only (for tests where the backend does not matter)."""
    database = sqlite_copy(sqlite_template, tmp_path)
    yield database
    database.engine.dispose()


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty (never migrated) SQLite database URL."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def postgres_db(postgres_server: PostgresServer, postgres_template: str, tmp_path: Path) -> Iterator[Database]:
    """A bootstrapped PostgreSQL database only (for what only PostgreSQL can show, e.g. replicas)."""
    database = postgres_copy(postgres_server, postgres_template, tmp_path)
    yield database
    database.engine.dispose()
    postgres_server.drop_database(database.name)


@pytest.fixture(scope="module", params=BACKENDS)
def predictor_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The predictor app started in process on a database of each backend, for one module."""
    tmp_path = tmp_path_factory.mktemp("predictor-app")
    with fresh_database(request, request.param, tmp_path) as db, started_predictor(db) as started:
        yield started


@pytest.fixture(scope="module", params=BACKENDS)
def generator_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The generator app started in process (first fits done) on a database of each backend."""
    tmp_path = tmp_path_factory.mktemp("generator-app")
    with fresh_database(request, request.param, tmp_path) as db, started_generator(db) as started:
        yield started


@pytest.fixture(scope="module", params=BACKENDS)
def scheduler_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The scheduler app started in process, its peers down, on a database of each backend."""
    tmp_path = tmp_path_factory.mktemp("scheduler-app")
    with fresh_database(request, request.param, tmp_path) as db, started_scheduler(db) as started:
        yield started
