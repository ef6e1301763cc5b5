"""The short form of ``bench/load.py``: 64 connections for 5 s per dataset on a predictor process
with logging on. Correctness only (no timing threshold): no errors, every 200 stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import load, stored_online, wait_log_empty
from tests.support.databases import Database
from tests.support.processes import start_service

pytestmark = [pytest.mark.processes, pytest.mark.slow]


def test_64_connections_get_no_error_and_every_answer_is_stored(sqlite_db: Database, tmp_path: Path) -> None:
    predictor = start_service("predictor", sqlite_db.env(), tmp_path / "logs")
    try:
        for dataset in ("iris", "wine"):
            before = stored_online(sqlite_db.url)[dataset]
            run = load(predictor.url, dataset, seconds=5, connections=64)
            wait_log_empty(predictor.url)
            stored = stored_online(sqlite_db.url)[dataset] - before
            print(f"{run.path}: {run.ok} answered 200 in {run.seconds:.1f} s, {run.errors} errors, {stored} stored")
            assert run.ok > 0 and run.errors == 0, run.statuses
            assert stored == run.ok
        assert predictor.proc.poll() is None
    finally:
        predictor.stop()
