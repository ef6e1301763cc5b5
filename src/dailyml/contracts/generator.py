"""The generator API's request and response models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from dailyml.contracts.common import RegisteredVersion, answer_config, whole_number
from dailyml.datasets import DatasetSpec
from dailyml.synthesizers import ALIASES, DEFAULT_EPOCHS, algorithms_for

MAX_GENERATE = 10_000
Promote = Literal["auto", "always", "never"]


class GenerateIn(BaseModel):
    """``POST /{dataset}/generate``: how many rows, and an optional key that makes it idempotent."""

    model_config = ConfigDict(extra="forbid", strict=True)
    n: int = Field(1, ge=1, le=MAX_GENERATE, description="Rows to generate (1 to 10,000)")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="Repeat the key to get the first answer back, nothing new stored",
    )
    _whole = field_validator("n", mode="before")(whole_number)


class GenerateOut(BaseModel):
    """The generated rows; each sample carries its label under the dataset's target name."""

    dataset: str
    n: int
    synthesizer_version: int
    replayed: bool
    samples: list[dict[str, Any]]


class SamplesPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


# A fitted synthesizer as the generator lists it, with the aliases pointing at it.
class SynthesizerOut(RegisteredVersion):
    model_config = answer_config(RegisteredVersion)
    metrics: dict[str, Any] = Field(description="The fidelity report")
    aliases: list[str]


class SynthesizerList(BaseModel):
    dataset: str
    default: int | None
    versions: list[SynthesizerOut]


class FitIn(BaseModel):
    """``POST /{dataset}/synthesizers/fit``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    algorithm: str = Field(description="empirical_copula, gaussian_copula, ctgan, tvae, grouped_gaussian_copula, ...")
    epochs: int | None = Field(
        None, ge=1, le=5000, description=f"CTGAN/TVAE training epochs (default {DEFAULT_EPOCHS})"
    )
    promote: Promote = Field("auto", description="auto: become default only with better measured fidelity")
    _whole = field_validator("epochs", mode="before")(whole_number)


def fit_model(spec: DatasetSpec) -> type[FitIn]:
    """``FitIn`` with ``algorithm`` one of those that apply to ``spec`` (or an alias of one)."""
    known = algorithms_for(spec)
    names = (*known, *(alias for alias, name in ALIASES.items() if name in known))
    algorithm: Any = Literal[names]
    return create_model(
        f"{spec.name.capitalize()}FitIn",
        __base__=FitIn,
        algorithm=(algorithm, Field(description=f"One of {', '.join(known)}")),
    )


class Histogram(BaseModel):
    kind: Literal["float", "category"]
    edges: list[float] | None = None
    categories: list[str] | None = None
    reference: list[int]
    synthetic: list[int]


class LabelCounts(BaseModel):
    labels: list[str | int]
    reference: list[int]
    synthetic: list[int]


class Distributions(BaseModel):
    dataset: str
    features: dict[str, Histogram]
    label: LabelCounts
