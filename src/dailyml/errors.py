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
    """An artifact must not be loaded: its bytes do not hash to what the registry recorded (or,
    in the subclasses, its signature or the types it holds are not what this system wrote)."""

    status, code = 500, "artifact_integrity"


class ArtifactSignatureError(ArtifactIntegrityError):
    """An artifact's HMAC signature is missing or wrong for ``DAILYML_ARTIFACT_KEY``."""

    code = "artifact_signature"


class UntrustedArtifactError(ArtifactIntegrityError):
    """An artifact holds a type outside the trusted list (models) or is not a synthesizer."""

    code = "artifact_untrusted_type"


class ArtifactRejectedError(ConflictError):
    """A promote or rollback whose target this replica cannot load: the alias is left unchanged."""

    code = "artifact_rejected"
