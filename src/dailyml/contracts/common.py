"""What every service's API shares: the error answer, timestamps, integers of query parameters
and request bodies, registry entries, and background jobs (the predictor's training and the
generator's fitting are both jobs, reported alike).

Registry versions and jobs are model families, as in the full-stack FastAPI template: the fields
are declared once, in SQLModel bases (no table), from which the table (``dailyml.tables``), the
registry's input (``NewVersion``) and the API views (``JobOut``, ``ModelVersionOut``,
``SynthesizerOut``) derive. A base's column types (``sa_type``, ``sa_column``) only shape the
table; its defaults say how a new row starts and are kept out of the answers' schemas
(:func:`answer_config`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import sqlalchemy as sa
import sqlmodel
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlmodel import JSON, Column, SQLModel

from dailyml import clock
from dailyml.vocab import JobStatus

if TYPE_CHECKING:
    # The type of SQLModel's model_config, which sqlmodel does not export under a public name.
    from sqlmodel._compat import SQLModelConfig

# The largest integer a query or path parameter may carry: what both databases' INTEGER holds.
MAX_DB_INT = 2**31 - 1
_EntryT = TypeVar("_EntryT", bound=BaseModel)


def _in_utc(value: datetime) -> datetime:
    # Everything is stored in UTC; SQLite hands it back without a zone, so naive means UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_in_utc)]
"""A timestamp as every API answers it: aware, in UTC (RFC 3339, ``...Z``), whatever the
database handed back."""


def timestamp_column(**kw: Any) -> Any:
    """A timestamp field stored with its time zone (``default_factory``, ``default`` ... passed on)."""
    return sqlmodel.Field(sa_type=sa.DateTime(timezone=True), **kw)


def json_column(*, nullable: bool = False, **kw: Any) -> Any:
    """A field stored as one JSON column."""
    return sqlmodel.Field(sa_column=Column(JSON, nullable=nullable), **kw)


def answer_config(base: type[BaseModel]) -> SQLModelConfig:
    """The ``model_config`` of an API view of a table family: every field of ``base`` is in every
    answer. The base's defaults say how a new row starts; in an answer's schema the field is
    required and shows no default."""

    def every_field_answered(schema: dict[str, Any]) -> None:
        properties = schema.get("properties", {})
        for name in base.model_fields:
            properties[name].pop("default", None)
        required = {*schema.get("required", []), *base.model_fields}
        schema["required"] = [name for name in properties if name in required]

    return {"json_schema_extra": every_field_answered}


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


class VersionOrigin(SQLModel):
    """How a registry version was made: the algorithm, its parameters, what it measured, the data's hash."""

    algorithm: str = sqlmodel.Field(sa_type=sa.String(64))
    params: dict[str, Any] = json_column()
    metrics: dict[str, Any] = json_column()
    data_hash: str = sqlmodel.Field(sa_type=sa.String(64))


class VersionKind(SQLModel):
    """What a registry version is (``model`` or ``synthesizer``) and the input contract it was made for."""

    kind: str = sqlmodel.Field(sa_type=sa.String(16))
    feature_schema: dict[str, Any] = json_column()


class NewVersion(VersionKind, VersionOrigin):
    """What a caller registers with an artifact (``Registry.register``): dataset, kind, origin, input contract."""

    dataset: str = sqlmodel.Field(sa_type=sa.String(32))


class RegisteredVersion(VersionOrigin):
    """A version as the registry numbered and stored it: what every API view of a version shows."""

    version: int
    artifact_sha256: str = sqlmodel.Field(sa_type=sa.String(64))
    artifact_size: int
    created_at: UTCDateTime = timestamp_column(default_factory=clock.now)


def registry_entry_out(model: type[_EntryT], mv: Any, alias: str, alias_id: int | None) -> _EntryT:
    """A registry version (model or synthesizer) as the API model ``model``: its fields read off
    the row, and ``alias`` listed when the alias points at this version."""
    fields = {name: getattr(mv, name) for name in model.model_fields if name != "aliases"}
    return model(**fields, aliases=[alias] if mv.id == alias_id else [])


# The answer to starting a background job; follow the job at ``GET /jobs/{job_id}``.
class JobAccepted(BaseModel):
    job_id: uuid.UUID
    status: JobStatus


class JobBase(SQLModel):
    """A background job (training, fitting a synthesizer) and its progress: the ``jobs`` table's
    fields and what the APIs report."""

    id: uuid.UUID = sqlmodel.Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = sqlmodel.Field(sa_type=sa.String(32))
    dataset: str = sqlmodel.Field(sa_type=sa.String(32))
    status: JobStatus = sqlmodel.Field(default="queued", sa_type=sa.String(16))
    progress: float = 0.0
    message: str = sqlmodel.Field(default="", sa_type=sa.String(512))
    params: dict[str, Any] = json_column(default_factory=dict)
    result: dict[str, Any] | None = json_column(nullable=True, default=None)
    error: str | None = sqlmodel.Field(default=None, sa_type=sa.Text)
    created_at: UTCDateTime = timestamp_column(default_factory=clock.now)
    started_at: UTCDateTime | None = timestamp_column(default=None)
    finished_at: UTCDateTime | None = timestamp_column(default=None)


class JobOut(JobBase):
    """A background job (training, fitting a synthesizer) as the APIs report it."""

    model_config = answer_config(JobBase)
