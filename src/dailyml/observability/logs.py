"""Log lines as JSON (``DAILYML_LOG_FORMAT=json``, the images' default) or readable text.

Every line carries the service, the logger, the event (the message) and the request id of the
work in progress; fields passed with ``extra=`` (only those in :data:`FIELDS`) are added. Request
bodies, headers and tokens are never given to a logger by this code.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any, Literal

from dailyml.observability.context import current_request_id

LogFormat = Literal["json", "text"]

# The structured fields a log call may add with ``extra={...}``; anything else is ignored.
FIELDS = (
    "dataset",
    "model_version",
    "status",
    "duration_ms",
    "method",
    "path",
    "route",
    "job",
    "run_key",
    "trigger",
    "kind",
    "alias",
    "algorithm",
    "outcome",
    "attempt",
    "job_id",
    "n",
)
# Chatty libraries kept at WARNING whatever the level.
_QUIET = ("apscheduler", "SingleTableSynthesizer", "sdv", "copulas", "rdt", "ctgan", "httpx", "httpcore")


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (``-`` outside a request) and the service."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        record.service = self.service
        return True


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, service, logger, event, request_id, fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname.lower(),
            "service": getattr(record, "service", "-"),
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message key=value ...``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        line = super().format(record)
        extra = " ".join(f"{n}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None) is not None)
        if extra:
            first, sep, rest = line.partition("\n")
            line = f"{first} {extra}{sep}{rest}"
        return line


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its lines in batches: one write and one flush for many lines.

    Each record is formatted when it is logged (so it says what was true then); the lines wait
    at most ``interval`` seconds (a daemon thread writes them), or until ``max_lines`` wait; a
    WARNING or worse is written at once, with every line before it. ``logging.shutdown`` (at
    exit) writes what waits. What a ``kill -9`` loses: the lines of the last ``interval``.
    Under load this saves a system call per request, each of which also handed the GIL to
    another thread that the event loop then waited for.
    """

    def __init__(self, stream: Any, interval: float = 0.2, max_lines: int = 512) -> None:
        super().__init__(stream)
        self.interval = interval
        self.max_lines = max_lines
        self._lines: list[str] = []
        self._writer: threading.Thread | None = None
        self._closed = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]
            self._lines.append(line)
            waiting = len(self._lines)
        if record.levelno >= logging.WARNING or waiting >= self.max_lines:
            self.flush()
        elif (self._writer is None or not self._writer.is_alive()) and not self._closed.is_set():  # (not forked)
            self._writer = threading.Thread(target=self._write_periodically, name="log-writer", daemon=True)
            self._writer.start()

    def _write_periodically(self) -> None:
        while not self._closed.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            lines, self._lines = self._lines, []
            try:
                if lines:
                    self.stream.write(self.terminator.join(lines) + self.terminator)
                if hasattr(self.stream, "flush"):
                    self.stream.flush()
            except Exception:  # a closed stream at exit: nothing left to write to
                pass


def log_format() -> LogFormat:
    """``DAILYML_LOG_FORMAT``: json or text (the default outside the images)."""
    value = os.environ.get("DAILYML_LOG_FORMAT", "text").strip().lower()
    if value not in ("json", "text"):
        raise ValueError(f"DAILYML_LOG_FORMAT must be json or text, not {value!r}")
    return value  # type: ignore[return-value]


def configure_logging(service: str, fmt: LogFormat | None = None, level: str | None = None) -> None:
    """Send every logger (uvicorn's too) to stderr in one format, stamped with ``service``.

    Call once in a service's ``main``, and run uvicorn with ``log_config=None`` so that it keeps
    this configuration; the access log is written by ``dailyml.observability.http``.
    """
    fmt = fmt or log_format()
    # Neither format shows where a call was made from, nor the thread or the process: what the
    # logging HOWTO's "Optimization" section says to switch off (finding the caller walks the
    # stack at every call; an access line cost about a third less without it, measured).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = BatchedStreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter(service))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("DAILYML_LOG_LEVEL", "INFO")).upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # ours has the request id
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
