"""The ``dailyml`` command as a newcomer runs it: bootstrap twice, train, list, promote, roll back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def dailyml(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAILYML_HOME": str(home), "DAILYML_TRAIN_PROFILE": "fast", "COLUMNS": "200"}
    env.pop("DAILYML_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "dailyml.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_bootstrap_is_idempotent_and_models_can_be_managed(tmp_path: Path) -> None:
    first = dailyml(tmp_path, "bootstrap")
    assert first.returncode == 0, first.stderr
    assert "wine: 6497 reference rows added, champion v1 (trained)" in first.stderr
    second = dailyml(tmp_path, "bootstrap")
    assert second.returncode == 0 and "wine: 0 reference rows added, champion v1 (kept)" in second.stderr

    trained = dailyml(tmp_path, "train", "wine")
    assert trained.returncode == 0, trained.stderr
    assert "exact duplicates dropped 1177" in trained.stdout and "predict_mean (baseline)" in trained.stdout
    assert "random_forest (lab)" in trained.stdout and "registered wine model version 2" in trained.stdout

    assert "★" in dailyml(tmp_path, "models", "list", "wine").stdout
    assert "champion is now version 2" in dailyml(tmp_path, "models", "promote", "wine", "2").stdout
    assert "champion is now version 1" in dailyml(tmp_path, "models", "rollback", "wine").stdout
    failed = dailyml(tmp_path, "models", "rollback", "wine")
    assert failed.returncode == 1 and "no earlier version" in failed.stderr


@pytest.mark.slow
def test_up_serves_both_models_and_stops_cleanly(tmp_path: Path) -> None:
    """What the README's run command does, minus the install: bootstrap, start, print, serve."""
    import httpx

    from tests.support.examples import IRIS_OK, WINE_OK
    from tests.support.processes import dailyml_up

    console = tmp_path / "console.txt"
    env = {**os.environ, "DAILYML_HOME": str(tmp_path), "DAILYML_ADMIN_TOKEN": "an-admin-token-for-the-up-test"}
    env.pop("DAILYML_DATABASE_URL", None)
    with dailyml_up(env, console, "--fast") as predictor:
        iris = httpx.post(f"{predictor}/iris/predict", json=IRIS_OK)
        assert iris.status_code == 200 and iris.json()["variety"] == "setosa"
        wine = httpx.post(f"{predictor}/wine/predict", json=WINE_OK)
        assert wine.status_code == 200 and 3 <= wine.json()["quality"] <= 9
    output = console.read_text()
    assert "dailyml is up" in output and predictor in output
    assert (tmp_path / "logs" / "predictor.log").read_text().count("Application startup complete") == 1
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{predictor}/healthz", timeout=2)  # Ctrl-C stopped the services too
