"""What every service's API shares: the error answer, timestamps, integers of query parameters
and request bodies, registry entries, and background jobs (the predictor's training and the
generator's fitting are both jobs, reported alike)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dailyml.vocab import JobStatus

# The largest integer a query or path parameter may carry: what both databases' INTEGER holds.
MAX_DB_INT = 2**31 - 1
_EntryT = TypeVar("_EntryT", bound=BaseModel)


def _in_utc(value: datetime) -> datetime:
    # Everything is stored in UTC; SQLite hands it back without a zone, so naive means UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_in_utc)]
"""A timestamp as every API answers it: aware, in UTC (RFC 3339, ``...Z``), whatever the
database handed back."""


def whole_number(value: Any) -> Any:
    """A ``mode="before"`` validator for the integers of a strict request body: JSON Schema's
    integer, ``5`` or ``5.0``, is accepted; ``"5"`` and ``true`` are still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ErrorDetail(BaseModel):
    """One broken rule of a refused request."""

    field: str = Field(description="The field, dotted when nested (instances.0.ph); body for the whole body")
    loc: list[str | int] = Field(description="Where the field is: its path in the body, or the parameter's name")
    rule: str = Field(description="The rule it broke: missing, greater_than_equal, constraint ...")
    message: str = Field(description="What is wrong, fit to show a user")


class ErrorOut(BaseModel):
    """Every error answer of every service: a code, a message for a user, and details."""

    error: str = Field(description="A stable code: validation_error, unauthorized, not_found, conflict, not_ready ...")
    message: str = Field(description="What went wrong, fit to show a user")
    detail: list[ErrorDetail] | dict[str, Any] | None = Field(
        default=None,
        description="For validation errors (422) one item per broken rule; otherwise null, or facts about "
        "the error (a 409 on an actual label gives the one already recorded).",
    )


class Readiness(BaseModel):
    """``/readyz``: ``ready`` or ``not_ready``, and each check's result."""

    model_config = ConfigDict(extra="allow")
    status: Literal["ready", "not_ready", "degraded"] = Field(
        description="degraded: serving, but an older version than the registry names for some dataset "
        "(the newer one could not be loaded; the checks say which and why)"
    )
    database: str = Field(description="ok, or why the database does not answer")


def registry_entry_out(model: type[_EntryT], mv: Any, alias: str, alias_id: int | None) -> _EntryT:
    """A registry version (model or synthesizer) as the API model ``model``: its fields read off
    the row, and ``alias`` listed when the alias points at this version."""
    fields = {name: getattr(mv, name) for name in model.model_fields if name != "aliases"}
    return model(**fields, aliases=[alias] if mv.id == alias_id else [])


# The answer to starting a background job; follow the job at ``GET /jobs/{job_id}``.
class JobAccepted(BaseModel):
    job_id: uuid.UUID
    status: JobStatus


class JobOut(BaseModel):
    """A background job (training, fitting a synthesizer) as the APIs report it."""

    id: uuid.UUID
    kind: str
    dataset: str
    status: JobStatus
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: UTCDateTime
    started_at: UTCDateTime | None
    finished_at: UTCDateTime | None
