"""Two predictor processes on one PostgreSQL database, no shared disk: a champion change reaches
both within seconds, without a restart and without a failed request."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from dailyml.bootstrap import train_and_register
from dailyml.datasets import IRIS
from dailyml.registry import Registry
from tests.support.credentials import ADMIN_HEADERS
from tests.support.examples import IRIS_OK
from tests.support.processes import start_service
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.processes


@pytest.mark.postgres
@pytest.mark.slow
def test_champion_change_reaches_every_replica_without_failures(postgres_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = postgres_db
    registry = Registry.from_settings(db.engine, db.settings())
    v2 = train_and_register(db.engine, registry, IRIS, db.settings(), progress=lambda *a: None, profile="fast")
    # Each replica gets its own (empty) home: artifacts must come from the database.
    replicas = [
        start_service("predictor", db.env() | {"DAILYML_HOME": str(tmp_path / f"replica{i}")}, tmp_path / "logs")
        for i in range(2)
    ]
    failures: list[str] = []
    seen: dict[str, set[int]] = {r.url: set() for r in replicas}
    stop = threading.Event()

    def hammer(url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                r = client.post("/iris/predict", json=IRIS_OK)
                if r.status_code != 200:
                    failures.append(f"{url}: {r.status_code} {r.text[:200]}")
                else:
                    seen[url].add(r.json()["model_version"])

    threads = [threading.Thread(target=hammer, args=(r.url,)) for r in replicas]
    try:
        for t in threads:
            t.start()
        # Both replicas answer under load before the promotion.
        wait_until(lambda: all(seen.values()) or NotYet(seen), 30, "a first answer from every replica under load")
        assert (
            httpx.post(f"{replicas[0].url}/iris/models/{v2.version}/promote", headers=ADMIN_HEADERS).status_code == 200
        )
        promoted_at = time.monotonic()
        lag: dict[str, float] = {}

        def all_switched() -> bool | NotYet:
            for r in replicas:
                if r.url not in lag and httpx.post(f"{r.url}/iris/predict", json=IRIS_OK).json()["model_version"] == 2:
                    lag[r.url] = time.monotonic() - promoted_at
            return len(lag) == 2 or NotYet(lag)

        wait_until(all_switched, 10, "every replica to serve v2", interval=0.05)
        # The load goes on past the switch: the hammering threads see v2 too, without a failure.
        wait_until(lambda: all(2 in v for v in seen.values()) or NotYet(seen), 30, "v2 answers under load")
    finally:
        stop.set()
        for t in threads:
            t.join()
        for r in replicas:
            r.stop()
    assert len(lag) == 2, f"not every replica switched within 10 s: {lag}"
    assert max(lag.values()) < 5
    assert failures == []
    assert all(versions == {1, 2} for versions in seen.values()), seen
