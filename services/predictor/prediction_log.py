"""Online predictions are written to the feature store off the request path, in batches.

A request only appends to an in-memory queue (microseconds); a writer thread drains it every
``flush_seconds`` or ``batch_size`` entries and writes samples, features and predictions in one
transaction per batch. A true label posted for a prediction still queued writes it through
(``write_through``), so an id is usable as soon as it is answered. If the queue is full (the
database is down for long), entries are dropped and counted rather than slowing or failing
predictions.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from dailyml.datasets import get_spec
from dailyml.featurestore import NewPrediction, NewSample, insert_predictions, insert_samples
from dailyml.observability import metrics

log = logging.getLogger("dailyml.predictor.log")


@dataclass
class LogEntry:
    dataset: str
    sample: NewSample
    prediction: NewPrediction


class PredictionLog:
    def __init__(
        self, engine: Engine, flush_seconds: float, batch_size: int, max_queue: int, enabled: bool = True
    ) -> None:
        self.engine = engine
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self._queue: queue.Queue[LogEntry] = queue.Queue(maxsize=max_queue)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()  # a flush returns only when nothing is in flight
        self._unwritten: set[uuid.UUID] = set()  # prediction ids queued or in flight
        self.written = 0
        self.dropped = 0
        self.failed_batches = 0

    def submit(self, entries: list[LogEntry]) -> None:
        if not self.enabled:
            return
        for entry in entries:
            prediction_id = entry.prediction.id
            try:
                if prediction_id is not None:
                    self._unwritten.add(prediction_id)
                self._queue.put_nowait(entry)
            except queue.Full:
                self._unwritten.discard(prediction_id)  # type: ignore[arg-type]
                self.dropped += 1
                metrics.LOG_ENTRIES.labels("dropped_queue_full").inc()
        metrics.LOG_QUEUE_DEPTH.set(self._queue.qsize())

    def write_through(self, prediction_id: uuid.UUID) -> bool:
        """If ``prediction_id`` is queued or being written, write it now; whether it was."""
        if prediction_id not in self._unwritten:
            return False
        self.flush()
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="prediction-log", daemon=True)
        self._thread.start()

    def _drain(self) -> list[LogEntry]:
        batch: list[LogEntry] = []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        metrics.LOG_QUEUE_DEPTH.set(self._queue.qsize())
        return batch

    def flush(self) -> int:
        """Write everything queued now; returns how many entries were written."""
        total = 0
        with self._flush_lock:
            while batch := self._drain():
                self._write(batch)
                total += len(batch)
        return total

    def _write(self, batch: list[LogEntry]) -> None:
        by_dataset: dict[str, list[LogEntry]] = defaultdict(list)
        for entry in batch:
            by_dataset[entry.dataset].append(entry)
        try:
            with self.engine.begin() as conn:
                for dataset, entries in by_dataset.items():
                    spec = get_spec(dataset)
                    insert_samples(conn, spec, [e.sample for e in entries], "online")
                    insert_predictions(conn, spec, [e.prediction for e in entries])
            self.written += len(batch)
            metrics.LOG_BATCHES.labels("written").inc()
            metrics.LOG_ENTRIES.labels("written").inc(len(batch))
        except Exception:
            self.failed_batches += 1
            self.dropped += len(batch)
            metrics.LOG_BATCHES.labels("failed").inc()
            metrics.LOG_ENTRIES.labels("dropped_write_failed").inc(len(batch))
            log.exception("could not write %d logged predictions", len(batch))
        finally:
            self._unwritten.difference_update(e.prediction.id for e in batch)

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()
