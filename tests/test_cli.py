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
    return subprocess.run([sys.executable, "-m", "dailyml.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


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
