"""The predictor API's request and response models, derived from the dataset specs.

The predictor validates with these; frontends and the scheduler parse its answers with them. A
field's range, unit and description come from its ``Feature``: nothing is typed twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from dailyml.contracts.common import RegisteredVersion, UTCDateTime, VersionKind, answer_config
from dailyml.datasets import SPECS, Constraint, DatasetSpec, Feature
from dailyml.scores import Metrics
from dailyml.vocab import Bucket, SampleSource, TrainProfile

MAX_BATCH = 10_000
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


def _field(feature: Feature) -> tuple[Any, Any]:
    extra: dict[str, JsonValue] | None = {"unit": feature.unit} if feature.unit else None
    if feature.is_categorical:
        choices: Any = Literal[feature.categories]
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
    config = _STRICT
    if spec.constraints:
        # JSON Schema cannot compare two fields: say it in words, and as data for tools.
        rules = [{"lower": c.lower, "upper": c.upper} for c in spec.constraints]
        words = "; ".join(f"{c.lower} <= {c.upper}" for c in spec.constraints)
        config = ConfigDict(
            **_STRICT,
            json_schema_extra={"description": f"Also required: {words}.", "x-constraints": rules},  # type: ignore[dict-item]
        )
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{spec.name.capitalize()}Features",
        __config__=config,
        __validators__=validators,
        **{f.name: _field(f) for f in spec.features},
    )


def _label_type(spec: DatasetSpec) -> Any:
    if spec.label_type is int:
        return int
    return Literal[spec.labels]


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
    return create_model(f"{spec.name.capitalize()}Prediction", **fields)


def prediction_body(
    spec: DatasetSpec,
    label: str,
    *,
    model_version: int,
    prediction_id: uuid.UUID,
    score: float | None,
    probabilities: dict[str, float] | None,
) -> dict[str, Any]:
    """An answer of ``POST /{dataset}/predict`` as plain JSON values, in :func:`prediction_model`'s
    shape (built directly: the hot path serialises it once, without a pydantic round trip)."""
    body: dict[str, Any] = {spec.target: spec.label_to_api(label)}
    if spec.task == "classification":
        body["probabilities"] = probabilities
    else:
        body["score"] = score
    body["model_version"] = model_version
    body["prediction_id"] = str(prediction_id)
    return body


@cache
def batch_request_model(dataset: str) -> type[BaseModel]:
    """``{"instances": [...]}``, 1 to ``MAX_BATCH`` instances."""
    item = instance_model(dataset)
    return create_model(
        f"{dataset.capitalize()}BatchRequest",
        __config__=ConfigDict(extra="forbid", strict=True),
        instances=(list[item], Field(min_length=1, max_length=MAX_BATCH)),  # type: ignore[valid-type]
    )


@cache
def batch_response_model(dataset: str) -> type[BaseModel]:
    """The response of ``POST /{dataset}/predict/batch``: a prediction per instance, in order, and the model version."""
    item = prediction_model(dataset)
    return create_model(
        f"{dataset.capitalize()}BatchResponse",
        predictions=(list[item], ...),  # type: ignore[valid-type]
        model_version=(int, ...),
    )


def _api_labels(spec: DatasetSpec) -> Any:
    return Literal[tuple(spec.label_to_api(x) for x in spec.labels)]


@cache
def actual_model(dataset: str) -> type[BaseModel]:
    """The body of ``POST /{dataset}/predictions/{id}/actual``: one of the dataset's labels."""
    spec = SPECS[dataset]
    return create_model(
        f"{spec.name.capitalize()}ActualIn",
        __config__=ConfigDict(extra="forbid", strict=True),
        __doc__=f"The true {spec.target} of a prediction's sample.",
        actual=(_api_labels(spec), Field(description=spec.target_description)),
    )


class ActualOut(BaseModel):
    prediction_id: uuid.UUID
    sample_id: uuid.UUID
    actual: str | int


class HistoryItem(BaseModel):
    id: uuid.UUID
    sample_id: uuid.UUID
    created_at: UTCDateTime
    event_time: UTCDateTime
    source: SampleSource
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
    bucket: Bucket
    points: list[MetricsPoint]


# What a drift report (computed by ``dailyml.drift``) flags on, and says it flags on: PSI above
# the threshold, with at least ``MIN_SAMPLES`` rows in the window.
PSI_THRESHOLD = 0.2
MIN_SAMPLES = 100


class DriftBin(BaseModel):
    label: str = Field(description="The bin: '<= 5.1', '(5.1, 5.8]', '> 6.4', or a category.")
    reference: int = Field(description="Reference training rows in the bin.")
    window: int = Field(description="Window rows in the bin.")


class FeatureDrift(BaseModel):
    feature: str
    kind: Literal["numeric", "categorical"]
    psi: float = Field(description="Population stability index, window vs reference.")
    drifted: bool = Field(description="psi > psi_threshold, with enough window rows.")
    test: Literal["chi_square"] = "chi_square"
    statistic: float | None = Field(description="Chi-square statistic of the bin counts (None: empty window).")
    dof: int
    p_value: float | None
    bins: list[DriftBin]


class DriftReport(BaseModel):
    dataset: str
    window: str
    since: datetime | None = Field(description="Start of a time window (None for a count window).")
    sources: list[SampleSource]
    n_reference: int
    n_window: int
    psi_threshold: float = PSI_THRESHOLD
    min_samples: int = MIN_SAMPLES
    enough_data: bool
    drifted: bool = Field(description="At least one feature drifted.")
    drifted_features: list[str]
    features: list[FeatureDrift]


# A registered model version as the predictor lists it, with the aliases pointing at it (no
# docstring: it would become the schema's description).
class ModelVersionOut(VersionKind, RegisteredVersion):
    model_config = answer_config(RegisteredVersion)
    aliases: list[str]


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


# The body of ``POST /{dataset}/models/train``.
class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    include_synthetic: bool = True
    profile: TrainProfile | None = None


class ChampionScore(BaseModel):
    """The champion when a challenger was trained, scored on the challenger's hold-out rows."""

    version: int
    metrics: Metrics = Field(description="Every metric of the evaluation, the primary one included")


class TrainingOutcome(BaseModel):
    """The result of a training job (``POST /{dataset}/models/train``): the challenger registered
    (not promoted) and the champion of the time, both scored on the same hold-out rows; what the
    scheduler's retraining gate decides on."""

    version: int = Field(description="The challenger's registry version")
    algorithm: str
    primary_metric: str
    greater_is_better: bool
    challenger: Metrics = Field(description="Every metric of the challenger on the hold-out rows")
    training_rows: int
    champion: ChampionScore | None = Field(description="None when the dataset had no champion")

    def score(self, metrics: Metrics) -> float:
        """The primary metric in ``metrics``."""
        return metrics.figure(self.primary_metric)
