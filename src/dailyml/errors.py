"""One exception hierarchy for the core; services map it to HTTP responses in one handler."""

from __future__ import annotations

from typing import Any


class DailyMLError(Exception):
    """Base of every error dailyml raises on purpose. ``status`` is the HTTP status it maps to."""

    status: int = 500
    code: str = "internal_error"
    retry_after: int | None = None  # seconds; sent as ``Retry-After`` (a 503 that will pass)

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFoundError(DailyMLError):
    status, code = 404, "not_found"


class ConflictError(DailyMLError):
    status, code = 409, "conflict"


class InvalidInputError(DailyMLError):
    status, code = 422, "validation_error"


class NotReadyError(DailyMLError):
    status, code, retry_after = 503, "not_ready", 5


class ArtifactIntegrityError(DailyMLError):
    """An artifact's bytes do not hash to what the registry recorded: refuse to load it."""

    status, code = 500, "artifact_integrity"
