"""``dailyml generate``: in-process, fits a first synthesizer when there is none, stores the rows."""

from __future__ import annotations

import json

import pytest

from dailyml import cli
from dailyml.datasets import get_spec
from dailyml.featurestore import count_samples
from dailyml.settings import get_settings
from tests.support.databases import Database
from tests.support.generator import TEST_FIT


def test_generate_fits_a_first_synthesizer_then_stores_rows(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in sqlite_db.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("dailyml.generation.fitting.SCORING", TEST_FIT)  # score the first fits briefly
    get_settings.cache_clear()
    try:
        assert cli.main(["generate", "iris", "-n", "4", "--json", "--idempotency-key", "cli-1"]) == 0
        first = json.loads(capsys.readouterr().out)
        assert first["n"] == 4 and first["replayed"] is False and first["synthesizer_version"] >= 1
        assert cli.main(["generate", "iris", "-n", "4", "--json", "--idempotency-key", "cli-1"]) == 0
        assert json.loads(capsys.readouterr().out)["replayed"] is True
        assert count_samples(sqlite_db.engine, get_spec("iris"), "synthetic") == 4
        assert cli.main(["generate", "iris", "-n", "2"]) == 0
        assert "synthetic rows from synthesizer" in capsys.readouterr().out
        assert cli.main(["generate", "iris", "-n", "0"]) == 2
    finally:
        get_settings.cache_clear()
