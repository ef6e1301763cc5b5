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
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter(service))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("DAILYML_LOG_LEVEL", "INFO")).upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # ours has the request id
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
