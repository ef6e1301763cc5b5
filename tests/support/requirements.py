"""What the suite needs from the machine, and a visible account of what did not run.

PostgreSQL, Chromium and a Docker engine are parts of the suite, not extras: when one cannot be had, its tests
skip with the reason, the session ends with a line naming what did not run and why, and the
exit status is a failure, unless the user opted out on purpose (``DAILYML_TEST_SKIP_POSTGRES=1``,
``DAILYML_TEST_SKIP_BROWSER=1``, ``DAILYML_TEST_SKIP_CONTAINERS=1``). A green run therefore always
means the whole suite ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Part:
    title: str
    opt_out: str
    install: str


PARTS = {
    "postgres": Part("the PostgreSQL tests", "DAILYML_TEST_SKIP_POSTGRES", "apt-get install -y postgresql"),
    "browser": Part("the browser tests", "DAILYML_TEST_SKIP_BROWSER", "apt-get install -y chromium"),
    "containers": Part(
        "the container test (images built, compose stack run)",
        "DAILYML_TEST_SKIP_CONTAINERS",
        "apt-get install -y docker.io mmdebstrap, and run as root or with dockerd running",
    ),
}

# part -> why, for this session
missing: dict[str, str] = {}
opted_out: dict[str, str] = {}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def require(part: str, available: bool, why: str) -> None:
    """Skip the calling test when ``part`` is not ``available``, and remember it for the summary."""
    if available:
        return
    spec = PARTS[part]
    if _truthy(os.environ.get(spec.opt_out)):
        opted_out[part] = why
        pytest.skip(f"{why} (skipped on request: {spec.opt_out}=1)")
    missing[part] = why
    message = f"{why}: {spec.install}, or set {spec.opt_out}=1 to skip them on purpose"
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under pytest-xdist the session summary and exit status are the controller's, which never
        # sees this module's ``missing``: a part that cannot run fails its tests instead.
        pytest.fail(f"NOT RUN: {PARTS[part].title}: {message}", pytrace=False)
    pytest.skip(message)


def summary() -> list[str]:
    """One line per part that did not run: what, why, and whether that was asked for."""
    lines = [
        f"NOT RUN: {PARTS[p].title}: {why}. Install it ({PARTS[p].install}) or set {PARTS[p].opt_out}=1."
        for p, why in missing.items()
    ]
    lines += [f"not run, as asked ({PARTS[p].opt_out}=1): {PARTS[p].title}: {why}" for p, why in opted_out.items()]
    return lines
