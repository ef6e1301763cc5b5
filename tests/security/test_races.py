"""Races found by reading the code: a true label posted right after its prediction, and two
model versions registered at once."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from dailyml.contracts import NewVersion
from dailyml.datasets import IRIS
from dailyml.monitoring import history
from dailyml.registry import MODEL_FORMAT, Registry
from dailyml.settings import Settings
from tests.support.credentials import ADMIN_HEADERS, ADMIN_TOKEN
from tests.support.databases import Database
from tests.support.examples import IRIS_OK


def test_an_actual_posted_right_after_its_prediction_is_accepted(db: Database) -> None:
    from services.predictor.app import create_app

    # The production flush interval: the id is answered ~0.2 s before its row is written.
    settings = Settings(
        home=db.home,
        database_url=db.url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        log_flush_seconds=0.2,
    )
    with TestClient(create_app(settings)) as client:
        ids = []
        for i in range(100):
            p = client.post("/iris/predict", json=IRIS_OK | {"sepal_length": 4.5 + (i % 10) / 10})
            assert p.status_code == 200
            prediction_id = p.json()["prediction_id"]
            r = client.post(
                f"/iris/predictions/{prediction_id}/actual", json={"actual": "setosa"}, headers=ADMIN_HEADERS
            )
            assert r.status_code == 200, f"attempt {i}: {r.status_code} {r.text}"
            assert r.json()["actual"] == "setosa"
            ids.append(prediction_id)
    page = history(db.engine, IRIS, limit=1000, offset=0, source="online")
    labelled = {str(item.id): item.actual for item in page.items}
    assert all(labelled[i] == "setosa" for i in ids)


def test_an_unknown_prediction_is_still_404(sqlite_db: Database) -> None:
    from services.predictor.app import create_app

    with TestClient(create_app(sqlite_db.settings())) as client:
        r = client.post(
            "/iris/predictions/00000000-0000-0000-0000-000000000000/actual",
            json={"actual": "setosa"},
            headers=ADMIN_HEADERS,
        )
        assert r.status_code == 404 and r.json()["error"] == "not_found"


def _register(registry: Registry, tag: str) -> Any:
    new = NewVersion(
        dataset="iris",
        kind="model",
        algorithm=f"race-{tag}",
        params={},
        metrics={},
        feature_schema={},
        data_hash="race",
    )
    return registry.register(new, f"payload {tag}".encode(), MODEL_FORMAT)


def test_concurrent_registrations_get_distinct_versions(db: Database) -> None:
    registry = Registry.from_settings(db.engine, db.settings())
    before = {mv.version for mv in registry.versions("iris")}
    threads_per_round, rounds = 2, 10
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    for round_ in range(rounds):
        barrier = threading.Barrier(threads_per_round)

        def worker(barrier: threading.Barrier, tag: str) -> None:
            barrier.wait()
            try:
                mv = _register(registry, tag)
                with lock:
                    results.append(mv.version)
            except BaseException as exc:  # noqa: BLE001 - collected and reported below
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=worker, args=(barrier, f"{round_}-{n}")) for n in range(threads_per_round)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors, f"{len(errors)} registrations failed: {errors[0]!r}"
    assert len(results) == rounds * threads_per_round == len(set(results))
    after = {mv.version for mv in registry.versions("iris")}
    assert after == before | set(results)
    assert sorted(results) == list(range(max(before) + 1, max(before) + 1 + len(results)))
