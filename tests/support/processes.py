"""Services run as real processes (``dailyml serve NAME``), talked to over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.net import free_port, wait_http
from tests.support.waiting import WaitTimeout, wait_until


@dataclass
class ServiceProcess:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

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


def start_service(
    name: str,
    env: dict[str, str],
    log_dir: Path,
    *,
    port: int | None = None,
    ready_path: str | None = "/readyz",
    timeout: float = 120.0,
) -> ServiceProcess:
    """Start ``dailyml serve name`` with ``env`` on a free port and wait until ``ready_path`` is 200."""
    port = port or free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dailyml.cli", "serve", name, "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    service = ServiceProcess(name, port, proc, log_path, env)
    if ready_path:
        try:
            wait_http(service.url + ready_path, timeout=timeout)
        except WaitTimeout:
            service.stop()
            raise RuntimeError(f"{name} did not become ready; log:\n{service.log()[-4000:]}") from None
    return service


@contextmanager
def dailyml_up(env: dict[str, str], console: Path, *args: str) -> Iterator[str]:
    """Run ``dailyml up`` (moved to free ports) with only the predictor, as the README's run command
    does minus the install; yield the predictor's URL once `up` says it is up; Ctrl-C it after."""
    offset = free_port() - 8000  # every default port moved by the same amount
    skip = ["generator", "scheduler", "gradio", "dashboard"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dailyml.cli", "up", *args, "--port-offset", str(offset), "--skip", *skip],
        env={**env, "COLUMNS": "200"},
        stdout=console.open("wb"),
        stderr=subprocess.STDOUT,
    )
    predictor = f"http://127.0.0.1:{8000 + offset}"
    try:
        wait_http(f"{predictor}/readyz", timeout=240)
        # `up` says so once every service it started is ready (the predictor may be first).
        wait_until(lambda: "dailyml is up" in console.read_text(), 60, "`dailyml up` to print that it is up")
        yield predictor
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
