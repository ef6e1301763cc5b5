"""``dailyml up``'s supervisor: every service as a child process, their secrets and environments.

The services' table (name, module, default port, health path) is the one ``dailyml serve`` uses;
``up`` starts the available ones in order (the APIs first, the UIs that call them last), each
logging to its own file, prints their URLs once healthy, and stops them all on Ctrl-C, SIGTERM or
the exit of any one.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from signal import SIGTERM, signal
from typing import Any

from rich.console import Console
from rich.table import Table

from dailyml.settings import DEFAULT_PORTS

console = Console(stderr=True)
out = Console()


@dataclass(frozen=True)
class ServiceEntry:
    """A process ``dailyml serve NAME`` can start: the module whose ``main(host, port)`` runs it."""

    name: str
    module: str
    port: int
    health_path: str | None = "/healthz"
    description: str = ""


# Order matters for `up`: the APIs first, the UIs that call them last.
SERVICES: dict[str, ServiceEntry] = {
    s.name: s
    for s in (
        ServiceEntry(
            "predictor",
            "services.predictor.main",
            DEFAULT_PORTS["predictor"],
            "/healthz",
            "predictions and monitoring API",
        ),
        ServiceEntry(
            "generator", "services.generator.app", DEFAULT_PORTS["generator"], "/healthz", "synthetic samples API"
        ),
        ServiceEntry(
            "scheduler", "services.scheduler.main", DEFAULT_PORTS["scheduler"], "/healthz", "daily loop and retraining"
        ),
        ServiceEntry("gradio", "frontends.gradio_app.app", DEFAULT_PORTS["gradio"], "/", "try the models"),
        ServiceEntry(
            "dashboard",
            "frontends.dashboard.run",
            DEFAULT_PORTS["dashboard"],
            "/_stcore/health",
            "monitoring dashboard",
        ),
    )
}


def available(entry: ServiceEntry) -> bool:
    """Whether this build has the module that runs ``entry`` (an image may hold one service only)."""
    try:
        return importlib.util.find_spec(entry.module) is not None
    except ModuleNotFoundError:
        return False


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll ``url`` until it answers below 500; False when ``proc`` exits or ``timeout`` passes."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def ensure_secret(env: MutableMapping[str, str], home: Any, variable: str, filename: str) -> tuple[str, bool]:
    """``variable`` from ``env`` if set, else the secret in ``home/filename``, generated (32
    characters, mode 0600) on the first run. Sets it in ``env``; True when generated."""
    from pathlib import Path

    from dailyml.tokens import new_token, token_problem

    given = env.get(variable, "").strip()
    if given:
        return given, False
    path = Path(home) / filename
    if path.exists():
        stored = path.read_text().strip()
        if stored and token_problem(stored) is None:
            env[variable] = stored
            return stored, False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    path.chmod(0o600)
    env[variable] = secret
    return secret, True


def ensure_admin_token(env: MutableMapping[str, str], home: Any) -> tuple[str, bool]:
    """The admin token for ``up``: ``DAILYML_ADMIN_TOKEN`` if set, else the one in ``home/admin-token``,
    generated (32 characters, mode 0600) on the first run. Sets it in ``env``; True when generated.

    Without a token the scheduler's jobs (generate, predict pending, train) would all be refused.
    """
    return ensure_secret(env, home, "DAILYML_ADMIN_TOKEN", "admin-token")


def ensure_artifact_key(env: MutableMapping[str, str], home: Any) -> tuple[str, bool]:
    """The artifact signing key for ``up``: ``DAILYML_ARTIFACT_KEY`` if set, else the one in
    ``home/artifact-key`` (generated, mode 0600, on the first run). True when generated."""
    return ensure_secret(env, home, "DAILYML_ARTIFACT_KEY", "artifact-key")


FRONTEND_SERVICES = ("gradio", "dashboard")


# Only the processes that write or load artifacts hold the key that signs them.
ARTIFACT_KEY_SERVICES = ("predictor", "generator")


def service_env(env: dict[str, str], name: str) -> dict[str, str]:
    """The environment ``up`` gives service ``name``: the UIs call no admin endpoint, so they never
    get the admin token (they get the read token, if any); only the predictor and the generator
    get the artifact key."""
    hidden = {"DAILYML_ADMIN_TOKEN"} if name in FRONTEND_SERVICES else set()
    if name not in ARTIFACT_KEY_SERVICES:
        hidden.add("DAILYML_ARTIFACT_KEY")
    return {k: v for k, v in env.items() if k not in hidden}


def run_services(*, host: str, port_offset: int = 0, skip: Sequence[str] = (), wait: float = 120.0) -> int:
    """Start every available service not in ``skip`` on its port (+ ``port_offset``), print their
    URLs once healthy, and supervise them until Ctrl-C (0) or until one exits (1, with its log's end)."""
    from dailyml.datasets import SPECS
    from dailyml.settings import get_settings

    env = dict(os.environ)
    port = {name: entry.port + port_offset for name, entry in SERVICES.items()}
    for name in ("predictor", "generator", "scheduler"):
        env.setdefault(f"DAILYML_{name.upper()}_URL", f"http://{host}:{port[name]}")
    # Each service logs to its own file, so the terminal shows the URLs, not five interleaved logs.
    log_dir = get_settings().home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[ServiceEntry, subprocess.Popen[bytes]]] = []
    for entry in SERVICES.values():
        if entry.name in skip or not available(entry):
            continue
        serve = ["serve", entry.name, "--host", host, "--port", str(port[entry.name])]
        cmd = [sys.executable, "-m", "dailyml.cli", *serve]
        log_file = (log_dir / f"{entry.name}.log").open("ab")
        proc = subprocess.Popen(cmd, env=service_env(env, entry.name), stdout=log_file, stderr=subprocess.STDOUT)
        procs.append((entry, proc))

    def stop() -> None:
        for _entry, proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for _entry, proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_sigterm(*_: Any) -> None:
        stop()
        sys.exit(0)

    signal(SIGTERM, on_sigterm)
    try:
        table = Table(title="dailyml is up")
        table.add_column("service")
        table.add_column("url")
        table.add_column("status")
        table.add_column("log")
        for entry, proc in procs:
            url = f"http://{host}:{port[entry.name]}"
            ok = wait_healthy(url + (entry.health_path or "/"), proc, wait)
            status = "ok" if ok else "[red]not healthy"
            table.add_row(f"{entry.name} ({entry.description})", url, status, str(log_dir / f"{entry.name}.log"))
        out.print(table)
        example = next(iter(SPECS.values()))
        out.print(
            f"Try: curl -s -X POST http://{host}:{port['predictor']}/{example.name}/predict "
            f"-H 'Content-Type: application/json' -d '{json.dumps(example.example_row)}'"
        )
        out.print("Ctrl-C stops everything.")
        while all(p.poll() is None for _, p in procs):
            time.sleep(1)
        for entry, p in procs:
            if p.poll() is not None:
                tail = (log_dir / f"{entry.name}.log").read_text(errors="replace").splitlines()[-15:]
                console.print(f"[red]{entry.name} exited with {p.returncode}; stopping the rest. Its log ends:")
                console.print("\n".join(tail), markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()
