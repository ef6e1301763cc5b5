"""Online predictions are written to the feature store off the request path, in batches.

A request only appends to an in-memory buffer (microseconds); a writer thread drains it every
``flush_seconds`` (or as soon as ``batch_size`` entries wait) and writes samples, features and
predictions in one transaction per batch. A true label posted for a prediction still buffered
writes it through (``write_through``), so an id is usable as soon as it is answered.

The database going away loses nothing: a batch that cannot be written goes back to the front of
the buffer and is retried, with a backoff up to ``retry_max_seconds``, until the database
returns; predictions keep being answered from the loaded models meanwhile. The buffer holds at
most ``max_entries`` (queued and in flight). When it is full, ``when_full`` decides:

- ``refuse`` (default): the prediction is answered 503 ``prediction_log_full`` with
  ``Retry-After`` and nothing of it is stored, so every prediction answered 200 is stored once
  the database is back;
- ``drop_oldest``: the oldest buffered entries make room; each is counted
  (``dailyml_prediction_log_entries_total{outcome="dropped_buffer_full"}``, ``/readyz``'s
  ``prediction_log.dropped``).

``mode="async"`` (default) answers before the entry is written: a process killed with ``kill -9``
loses the entries of the last ``flush_seconds`` plus one write (at most ``max_entries``).
``mode="sync"`` answers only once the entry is committed (writes of concurrent requests share
one transaction): nothing answered 200 is ever lost, at the price of a database write in every
prediction's latency, and predictions answer 503 while the database is down.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dailyml.datasets import get_spec
from dailyml.db import transaction
from dailyml.errors import DailyMLError
from dailyml.featurestore import PredictionRecord, insert_predictions, insert_samples, predictions_t
from dailyml.observability import metrics
from dailyml.settings import LogMode, WhenFull

# The writer inserts a batch in chunks of WRITE_CHUNK entries, one transaction for all of them,
# and sleeps WRITE_PAUSE_SECONDS between chunks. sqlite3's executemany releases the GIL around
# each row's step and takes it straight back: on a shared core the event loop waited for its
# 5 ms switch interval, several times per batch (a loop-lag probe caught the writer inside
# executemany in 119 of 139 stalls over 3 ms). A short sleep hands the loop the core and the GIL.
# Measured on one core, wine, against the same store unchunked: p99 at one connection 5.5-7.1 ->
# 2.4-2.9 ms with chunks of 16 (64: 3.6-4.1 ms; 8: 2.0-2.6 ms but ~10% fewer req/s at 16 connections).
WRITE_CHUNK = 16
WRITE_PAUSE_SECONDS = 0.0002

log = logging.getLogger("dailyml.predictor.log")


class LogFullError(DailyMLError):
    """The buffer of unwritten predictions is full (the database has been away for long)."""

    status, code, retry_after = 503, "prediction_log_full", 5


class LogWriteError(DailyMLError):
    """``mode="sync"``: the prediction could not be stored, so it is not answered."""

    status, code, retry_after = 503, "database_unavailable", 5


@dataclass
class _Ticket:
    """What a request waits on in ``sync`` mode: its entries written (``ok``) or given up."""

    remaining: int
    done: threading.Event = field(default_factory=threading.Event)
    ok: bool = True


class PredictionLog:
    """The predictor's buffer of online predictions and the thread that writes it to the feature
    store (see the module's docstring for its modes and its policies when full)."""

    def __init__(
        self,
        engine: Engine,
        flush_seconds: float,
        batch_size: int,
        max_entries: int,
        enabled: bool = True,
        *,
        mode: LogMode = "async",
        when_full: WhenFull = "refuse",
        retry_max_seconds: float = 5.0,
        sync_timeout_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.enabled = enabled
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_entries = max_entries
        self.mode: LogMode = mode
        self.when_full: WhenFull = when_full
        self.retry_max_seconds = retry_max_seconds
        self.sync_timeout_seconds = sync_timeout_seconds
        self._lock = threading.Lock()  # guards the buffer, the in-flight count, the id set, tickets
        self._buffer: deque[PredictionRecord] = deque()
        self._in_flight = 0
        self._unwritten: set[uuid.UUID] = set()  # prediction ids buffered or in flight
        self._tickets: dict[int, _Ticket] = {}  # id(entry) -> its request's ticket (sync mode)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()  # a flush returns only when nothing is in flight
        self._failures = 0  # consecutive failed writes (the backoff)
        self._last_failure = ""  # the kind of the last failed write (logged once per kind)
        self.written = 0
        self.dropped = 0
        self.refused = 0

    @property
    def synchronous(self) -> bool:
        """Whether a submit returns only once its entries are written."""
        return self.enabled and self.mode == "sync"

    # -- the request side ------------------------------------------------------------------------
    def submit(self, entries: list[PredictionRecord]) -> None:
        """Buffer ``entries`` (all or none). ``sync`` mode: return once they are written.

        Raises ``LogFullError`` (``refuse``) when they do not fit, ``LogWriteError`` (``sync``)
        when they could not be written; either way nothing of them is stored.
        """
        if not self.enabled or not entries:
            return
        ticket = _Ticket(len(entries)) if self.mode == "sync" else None
        with self._lock:
            held = len(self._buffer) + self._in_flight
            if held + len(entries) > self.max_entries:
                if self.when_full == "refuse" or len(entries) > self.max_entries:
                    self.refused += len(entries)
                    metrics.LOG_ENTRIES.labels("refused_buffer_full").inc(len(entries))
                    raise LogFullError(
                        f"{held} predictions are waiting to be stored (DAILYML_LOG_QUEUE_MAX="
                        f"{self.max_entries}); the database is probably unavailable, try again shortly"
                    )
                self._drop_oldest(held + len(entries) - self.max_entries)
            for entry in entries:
                if entry.prediction.id is not None:
                    self._unwritten.add(entry.prediction.id)
                if ticket is not None:
                    self._tickets[id(entry)] = ticket
            self._buffer.extend(entries)
            depth = len(self._buffer)
        metrics.LOG_QUEUE_DEPTH.set(depth)
        if ticket is not None or (depth >= self.batch_size and not self._failures):
            self._wake.set()  # (not while the database is away: the writer backs off)
        if ticket is not None:
            if not ticket.done.wait(self.sync_timeout_seconds):
                self._abandon(entries)
                raise LogWriteError("the prediction could not be stored in time; try again shortly")
            if not ticket.ok:
                raise LogWriteError("the prediction could not be stored: the database is unavailable")

    def _drop_oldest(self, count: int) -> None:
        """Make room for ``count`` entries (the lock held). Only buffered entries can go."""
        dropped = 0
        while dropped < count and self._buffer:
            entry = self._buffer.popleft()
            self._unwritten.discard(entry.prediction.id)
            dropped += 1
        self.dropped += dropped
        metrics.LOG_ENTRIES.labels("dropped_buffer_full").inc(dropped)

    def _abandon(self, entries: list[PredictionRecord]) -> None:
        """Sync mode, timed out: take back what was not written yet (what was, stays written)."""
        with self._lock:
            ids = {id(e) for e in entries}
            self._buffer = deque(e for e in self._buffer if id(e) not in ids)
            for entry in entries:
                self._tickets.pop(id(entry), None)

    def write_through(self, prediction_id: uuid.UUID) -> bool:
        """If ``prediction_id`` is buffered or being written, write it now; whether it was."""
        with self._lock:
            if prediction_id not in self._unwritten:
                return False
        self.flush()
        return True

    @property
    def pending(self) -> int:
        """Entries not written yet (buffered or in flight)."""
        with self._lock:
            return len(self._buffer) + self._in_flight

    # -- the writer side -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(target=self._loop, name="prediction-log", daemon=True)
        self._thread.start()

    def _take(self) -> list[PredictionRecord]:
        with self._lock:
            count = min(self.batch_size, len(self._buffer))
            batch = [self._buffer.popleft() for _ in range(count)]
            self._in_flight += count
            depth = len(self._buffer)
        metrics.LOG_QUEUE_DEPTH.set(depth)
        return batch

    def flush(self) -> int:
        """Write everything buffered now; how many entries were written. Stops at the first
        batch that fails (it is back in the buffer, retried by the writer thread)."""
        total = 0
        with self._flush_lock:
            while batch := self._take():
                if not self._write(batch):
                    break
                total += len(batch)
        return total

    def _write(self, batch: list[PredictionRecord]) -> bool:
        try:
            with transaction(self.engine) as session:
                conn = session.connection()
                fresh = batch
                if self._failures:
                    # A failed attempt may have committed before its answer was lost (the connection
                    # cut during COMMIT): what is stored already is not written twice.
                    ids = [e.prediction.id for e in batch]
                    query = sa.select(predictions_t.c.id).where(predictions_t.c.id.in_(ids))
                    stored = set(conn.execute(query).scalars())
                    fresh = [e for e in batch if e.prediction.id not in stored]
                by_dataset: dict[str, list[PredictionRecord]] = defaultdict(list)
                for entry in fresh:
                    by_dataset[entry.dataset].append(entry)
                chunks = [
                    (get_spec(dataset), entries[start : start + WRITE_CHUNK])
                    for dataset, entries in by_dataset.items()
                    for start in range(0, len(entries), WRITE_CHUNK)
                ]
                for i, (spec, chunk) in enumerate(chunks):
                    if i:
                        time.sleep(WRITE_PAUSE_SECONDS)
                    insert_samples(conn, spec, [e.sample for e in chunk], "online")
                    insert_predictions(conn, spec, [e.prediction for e in chunk])
        except Exception as exc:
            self._failed(batch, exc)
            return False
        if self._failures:
            log.warning("the prediction log writes again after %d failed attempts", self._failures)
        self._failures = 0
        self._last_failure = ""
        with self._lock:
            self._in_flight -= len(batch)
            self.written += len(batch)
            self._unwritten.difference_update(e.prediction.id for e in batch)
            finished = self._settle(batch, ok=True)
        metrics.LOG_BATCHES.labels("written").inc()
        metrics.LOG_ENTRIES.labels("written").inc(len(batch))
        for ticket in finished:
            ticket.done.set()
        return True

    def _failed(self, batch: list[PredictionRecord], exc: Exception) -> None:
        self._failures += 1
        metrics.LOG_BATCHES.labels("failed").inc()
        kind = type(exc).__name__
        if self._failures == 1 or kind != self._last_failure:  # once per kind of failure, not per retry
            log.warning("could not write %d logged predictions (kept, retried): %s", len(batch), exc)
        self._last_failure = kind
        with self._lock:
            self._in_flight -= len(batch)
            if self.mode == "sync":
                # Their requests answer 503: they must not be stored later.
                self._unwritten.difference_update(e.prediction.id for e in batch)
                finished = self._settle(batch, ok=False)
            else:
                self._buffer.extendleft(reversed(batch))  # back in front, in order
                finished = []
                excess = len(self._buffer) + self._in_flight - self.max_entries
                if excess > 0:
                    self._drop_oldest(excess)
            depth = len(self._buffer)
        metrics.LOG_QUEUE_DEPTH.set(depth)
        for ticket in finished:
            ticket.done.set()

    def _settle(self, batch: list[PredictionRecord], *, ok: bool) -> list[_Ticket]:
        """Sync mode (the lock held): the tickets whose every entry is now settled."""
        finished = []
        for entry in batch:
            ticket = self._tickets.pop(id(entry), None)
            if ticket is None:
                continue
            ticket.ok = ticket.ok and ok
            ticket.remaining -= 1
            if ticket.remaining == 0:
                finished.append(ticket)
        return finished

    def _backoff(self) -> float:
        if not self._failures:
            return self.flush_seconds
        # The exponent is capped: 2.0 ** 1024 overflows, which after ~1,000 failed writes in a row
        # (an outage of an hour and a half) would end the writer thread.
        return min(self.flush_seconds * 2.0 ** min(self._failures, 32), self.retry_max_seconds)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._backoff())
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the writer die; the next round tries again
                log.exception("the prediction log writer failed")

    def stop(self) -> None:
        """Stop the writer and write what is left (one attempt: a database still away keeps it)."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()
        left = self.pending
        if left:
            log.error("stopping with %d logged predictions unwritten (the database is unavailable)", left)
