"""A real PostgreSQL server for the tests: initdb in a temp dir, a free port, torn down after."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.net import free_port
from tests.support.waiting import wait_until


def postgres_binaries() -> str | None:
    """The folder holding initdb/pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return str(Path(found).parent)
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return str(candidate)
    return None


@dataclass
class PostgresServer:
    bindir: str
    datadir: Path
    port: int
    user: str = "dailyml"
    opts: str = ""
    run_as: tuple[str, ...] = ()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin_conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"

    def create_database(self, name: str, template: str | None = None) -> str:
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            tmpl = f" TEMPLATE {template}" if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def outage_begins(self) -> None:
        """Stop the server as an operator would (``pg_ctl stop -m fast``: sessions cut)."""
        subprocess.run(
            [*self.run_as, f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"],
            check=True,
            capture_output=True,
        )

    def outage_ends(self) -> None:
        """Start it again, same data, same port."""
        log = self.datadir.parent / "log"
        subprocess.run(
            [
                *self.run_as,
                f"{self.bindir}/pg_ctl",
                "-D",
                str(self.datadir),
                "-o",
                self.opts,
                "-l",
                str(log),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        # As the server's own user: pg_ctl refuses to run as root, and the server would linger
        # until it noticed its data folder gone.
        subprocess.run(
            [*self.run_as, f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb + start a private cluster (trust auth, loopback only)."""
    bindir = postgres_binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="dailyml-pg-"))
    datadir = root / "data"
    env = dict(os.environ)
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: use an unprivileged account
        subprocess.run(["chown", "-R", "nobody", str(root)], check=True)
        run_as = ["runuser", "-u", "nobody", "--"]
    subprocess.run(
        [*run_as, f"{bindir}/initdb", "-D", str(datadir), "-U", "dailyml", "-A", "trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
        env=env,
    )
    port = free_port()
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
        f"-c synchronous_commit=off -c max_connections=200"
    )
    subprocess.run(
        [*run_as, f"{bindir}/pg_ctl", "-D", str(datadir), "-o", opts, "-l", str(root / "log"), "-w", "start"],
        check=True,
        capture_output=True,
        env=env,
    )
    server = PostgresServer(bindir, datadir, port, opts=opts, run_as=tuple(run_as))

    def accepts_connections() -> bool:
        with psycopg.connect(server.admin_conninfo(), connect_timeout=5):
            return True

    wait_until(
        accepts_connections, 60, f"PostgreSQL on port {port} to accept connections", ignore=(psycopg.OperationalError,)
    )
    return server
