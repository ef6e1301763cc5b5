"""What the benchmarks need around the installed package: free loopback ports, ``dailyml serve``
processes waited for until ready, and a throwaway PostgreSQL cluster (``initdb`` + ``pg_ctl``).

Local to bench/: the benchmarks import the package and this module, never the tests (whose
helpers carry a test session's deadlines, fixtures and requirement checks).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """A ``dailyml serve NAME`` process on a loopback port, its output in ``log_path``."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_service(name: str, env: dict[str, str], log_dir: Path, *, timeout: float = 120.0) -> Service:
    """Start ``dailyml serve name`` with ``env`` on a free port; return once ``/readyz`` answers 200."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dailyml.cli", "serve", name, "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    service = Service(name, port, proc, log_path)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; log:\n{service.log()[-4000:]}")
        try:
            if httpx.get(service.url + "/readyz", timeout=5).status_code == 200:
                return service
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            service.stop()
            raise RuntimeError(f"{name} not ready after {timeout:.0f} s; log:\n{service.log()[-4000:]}")
        time.sleep(0.2)


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
class PostgresCluster:
    """A private PostgreSQL cluster on a loopback port (trust authentication, user ``dailyml``)."""

    bindir: str
    datadir: Path
    port: int
    run_as: tuple[str, ...] = ()

    def admin_conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=dailyml dbname=postgres"

    def create_database(self, name: str) -> str:
        """Create database ``name``; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://dailyml@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        # As the server's own user: pg_ctl refuses to run as root.
        pg_ctl = [*self.run_as, f"{self.bindir}/pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop"]
        subprocess.run(pg_ctl, capture_output=True, check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    """``initdb`` and start a throwaway cluster in a temporary folder (fsync off: a bench, not a store)."""
    bindir = postgres_binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="dailyml-bench-pg-"))
    datadir = root / "data"
    run_as: tuple[str, ...] = ()
    if os.geteuid() == 0:  # postgres refuses to run as root: use an unprivileged account
        subprocess.run(["chown", "-R", "nobody", str(root)], check=True)
        run_as = ("runuser", "-u", "nobody", "--")
    initdb = [*run_as, f"{bindir}/initdb", "-D", str(datadir), "-U", "dailyml", "-A", "trust", "-E", "UTF8"]
    subprocess.run([*initdb, "--no-sync"], check=True, capture_output=True)
    port = free_port()
    opts = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
        "-c synchronous_commit=off -c max_connections=200"
    )
    start = [*run_as, f"{bindir}/pg_ctl", "-D", str(datadir), "-o", opts, "-l", str(root / "log"), "-w", "start"]
    subprocess.run(start, check=True, capture_output=True)
    return PostgresCluster(bindir, datadir, port, run_as)
