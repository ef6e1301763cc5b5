"""The request id of the work in progress, and fields to add to its access log line.

A contextvar, so it follows the work across ``await`` and into the threadpool (Starlette copies
the context there). Threads started by hand do not inherit it: ``dailyml.background_jobs`` copies it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from dailyml.ids import random_hex

HEADER = "X-Request-ID"
# What an incoming X-Request-ID may look like; anything else (too long, spaces, control
# characters that could forge log lines) is replaced by a fresh id.
_VALID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

_request_id: ContextVar[str | None] = ContextVar("dailyml_request_id", default=None)
_fields: ContextVar[dict[str, Any] | None] = ContextVar("dailyml_request_fields", default=None)


def new_request_id() -> str:
    """A fresh id: 32 hex digits."""
    return random_hex(128)


def valid_request_id(value: str | None) -> str | None:
    """``value`` if it is acceptable as a request id, else None."""
    return value if value and _VALID.match(value) else None


def current_request_id() -> str | None:
    """The request id of the work in progress, or None outside of any request or run."""
    return _request_id.get()


@contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Run a block under ``request_id`` (a fresh one when None or invalid); yields the id used."""
    rid = valid_request_id(request_id) or new_request_id()
    token = _request_id.set(rid)
    fields_token = _fields.set({})
    try:
        yield rid
    finally:
        _fields.reset(fields_token)
        _request_id.reset(token)


def annotate(**fields: Any) -> None:
    """Add fields (``dataset``, ``model_version`` ...) to the current request's access log line."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


def request_fields() -> dict[str, Any]:
    """The fields added by :func:`annotate` during the current request."""
    # A mapping: log ``extra`` fields, whatever names the code annotating a request chose.
    return dict(_fields.get() or {})
