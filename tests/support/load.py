"""Client threads posting predictions to a running predictor and tallying what came back.

Each answered 200 carries a ``prediction_id``: the tests compare those ids with what the feature
store holds afterwards (every 200 stored, nothing else).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.examples import BODIES


class PredictionLoad:
    """``clients`` threads, each posting one-row predictions (iris and wine in turn) until stopped."""

    def __init__(self, url: str, clients: int, datasets: tuple[str, ...] = ("iris", "wine")) -> None:
        self.url = url
        self.datasets = datasets
        self.statuses: Counter[int | str] = Counter()
        self.ids: dict[str, list[uuid.UUID]] = {d: [] for d in datasets}
        self.answered_at: dict[uuid.UUID, float] = {}  # when each 200 arrived (time.monotonic)
        self.retry_after: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self) -> PredictionLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def ok(self) -> int:
        with self._lock:
            return self.statuses[200]

    def _run(self, index: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            turn = index
            while not self._stop.is_set():
                dataset = self.datasets[turn % len(self.datasets)]
                turn += 1
                try:
                    response = client.post(f"/{dataset}/predict", json=BODIES[dataset])
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.statuses[type(exc).__name__] += 1
                    continue
                with self._lock:
                    self.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        prediction_id = uuid.UUID(response.json()["prediction_id"])
                        self.ids[dataset].append(prediction_id)
                        self.answered_at[prediction_id] = time.monotonic()
                    elif "Retry-After" in response.headers:
                        self.retry_after.add(str(response.status_code))


def online_prediction_ids(engine: Engine, dataset: str) -> set[uuid.UUID]:
    """Ids of the stored predictions of ``dataset`` whose sample came in online."""
    from dailyml.tables import Prediction, Sample

    query = (
        sa.select(Prediction.id)
        .join(Sample, Sample.id == Prediction.sample_id)
        .where(Sample.dataset == dataset, Sample.source == "online")
    )
    with engine.connect() as conn:
        return {uuid.UUID(str(i)) if not isinstance(i, uuid.UUID) else i for (i,) in conn.execute(query)}
