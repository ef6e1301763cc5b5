"""The API's request and response models, derived from the dataset specs.

Services validate with these; frontends and the scheduler parse responses with them. A field's
range, unit and description come from its ``Feature``: nothing is typed twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from dailyml.datasets import SPECS, Constraint, DatasetSpec, Feature

MAX_BATCH = 10_000
EntryT = TypeVar("EntryT", bound=BaseModel)
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


def _field(feature: Feature) -> tuple[Any, Any]:
    extra: JsonDict | None = {"unit": feature.unit} if feature.unit else None
    if feature.is_categorical:
        choices: Any = Literal[feature.categories]  # type: ignore[valid-type]
        return (choices, Field(description=feature.description, json_schema_extra=extra))
    low = feature.minimum
    title = f"{feature.description} ({feature.unit})" if feature.unit else feature.description
    return (
        float,
        Field(
            description=title,
            json_schema_extra=extra,
            gt=low if feature.exclusive_minimum else None,
            ge=None if feature.exclusive_minimum else low,
            le=feature.maximum,
        ),
    )


def _constraint_validator(constraint: Constraint) -> Any:
    # Attached to the upper field (declared after the lower one), so the error names a field.
    def check(value: float, info: ValidationInfo) -> float:
        lower = info.data.get(constraint.lower)
        if lower is not None and lower > value:
            raise PydanticCustomError(
                "constraint",
                "must be at least {lower} ({value}): {lower} cannot exceed {upper}",
                {"lower": constraint.lower, "upper": constraint.upper, "value": lower},
            )
        return value

    return field_validator(constraint.upper)(check)


@cache
def instance_model(dataset: str) -> type[BaseModel]:
    """The request body of ``POST /{dataset}/predict``: every feature, in range, nothing extra."""
    spec = SPECS[dataset]
    validators = {f"check_{c.upper}": _constraint_validator(c) for c in spec.constraints}
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{spec.name.capitalize()}Features",
        __config__=_STRICT,
        __validators__=validators,
        **{f.name: _field(f) for f in spec.features},
    )


def _label_type(spec: DatasetSpec) -> Any:
    if spec.label_type is int:
        return int
    return Literal[spec.labels]  # type: ignore[valid-type]


@cache
def prediction_model(dataset: str) -> type[BaseModel]:
    """The response of ``POST /{dataset}/predict``: the label under the target's name, plus
    probabilities (classification) or the raw score (regression), the model version and the id
    under which the prediction was logged (to record the true label later)."""
    spec = SPECS[dataset]
    fields: dict[str, Any] = {spec.target: (_label_type(spec), Field(description=spec.target_description))}
    if spec.task == "classification":
        fields["probabilities"] = (dict[str, float], Field(description="Probability of each label"))
    else:
        fields["score"] = (float, Field(description="Raw model output before rounding to a grade"))
    fields["model_version"] = (int, ...)
    fields["prediction_id"] = (uuid.UUID, Field(description="Use to record the true label later"))
    return create_model(f"{spec.name.capitalize()}Prediction", **fields)  # type: ignore[call-overload, no-any-return]


@cache
def batch_request_model(dataset: str) -> type[BaseModel]:
    """``{"instances": [...]}``, 1 to ``MAX_BATCH`` instances."""
    item = instance_model(dataset)
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{dataset.capitalize()}BatchRequest",
        __config__=ConfigDict(extra="forbid"),
        instances=(list[item], Field(min_length=1, max_length=MAX_BATCH)),  # type: ignore[valid-type]
    )


@cache
def batch_response_model(dataset: str) -> type[BaseModel]:
    item = prediction_model(dataset)
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{dataset.capitalize()}BatchResponse",
        predictions=(list[item], ...),  # type: ignore[valid-type]
        model_version=(int, ...),
    )


class ErrorItem(BaseModel):
    field: str
    loc: list[str | int]
    rule: str
    message: str


class ErrorResponse(BaseModel):
    error: str
    message: str
    detail: Any = None


class ActualIn(BaseModel):
    """The true label of a prediction's sample (a variety for iris, a grade for wine)."""

    model_config = ConfigDict(extra="forbid")
    actual: str | int


class ActualOut(BaseModel):
    prediction_id: uuid.UUID
    sample_id: uuid.UUID
    actual: str | int


class HistoryItem(BaseModel):
    id: uuid.UUID
    sample_id: uuid.UUID
    created_at: datetime
    event_time: datetime
    source: str
    model_version: int
    features: dict[str, Any]
    predicted: str | int
    actual: str | int | None
    correct: bool | None
    score: float | None = None
    probabilities: dict[str, float] | None = None


class HistoryPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[HistoryItem]


class ConfusionMatrix(BaseModel):
    labels: list[str | int]
    matrix: list[list[int]] = Field(description="Rows: actual label; columns: predicted label")
    total: int


class MetricsPoint(BaseModel):
    bucket: str
    n: int
    accuracy: float | None = None
    mae: float | None = None
    within_one_accuracy: float | None = None


class MetricsSeries(BaseModel):
    dataset: str
    bucket: str
    points: list[MetricsPoint]


class ModelVersionOut(BaseModel):
    version: int
    kind: str
    algorithm: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    data_hash: str
    artifact_sha256: str
    artifact_size: int
    feature_schema: dict[str, Any]
    created_at: datetime
    aliases: list[str]


def registry_entry_out(model: type[EntryT], mv: Any, alias: str, alias_id: int | None) -> EntryT:
    """A registry version (model or synthesizer) as the API model ``model``: its fields read off
    the row, and ``alias`` listed when the alias points at this version."""
    fields = {name: getattr(mv, name) for name in model.model_fields if name != "aliases"}
    return model(**fields, aliases=[alias] if mv.id == alias_id else [])


class ModelList(BaseModel):
    dataset: str
    champion: int | None
    versions: list[ModelVersionOut]


class FeatureOut(BaseModel):
    name: str
    description: str
    unit: str
    kind: str
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool
    categories: list[str]
    reference: dict[str, Any] = Field(default_factory=dict, description="Median, min, max of the reference rows")


class SpecOut(BaseModel):
    name: str
    title: str
    task: str
    target: str
    target_description: str
    labels: list[str | int]
    features: list[FeatureOut]


def spec_out(spec: DatasetSpec, reference: dict[str, dict[str, Any]] | None = None) -> SpecOut:
    """A dataset spec as the API describes it, with reference statistics when given."""
    return SpecOut(
        name=spec.name,
        title=spec.title,
        task=spec.task,
        target=spec.target,
        target_description=spec.target_description,
        labels=[spec.label_to_api(x) for x in spec.labels],
        features=[
            FeatureOut(
                name=f.name,
                description=f.description,
                unit=f.unit,
                kind=f.kind,
                minimum=f.minimum,
                maximum=f.maximum,
                exclusive_minimum=f.exclusive_minimum,
                categories=list(f.categories),
                reference=(reference or {}).get(f.name, {}),
            )
            for f in spec.features
        ],
    )


class PendingResult(BaseModel):
    dataset: str
    predicted: int
    model_version: int | None


class JobOut(BaseModel):
    """A background job (training, fitting a synthesizer) as the APIs report it."""

    id: uuid.UUID
    kind: str
    dataset: str
    status: str
    progress: float
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
