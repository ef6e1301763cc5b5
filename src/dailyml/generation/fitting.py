"""Fit a synthesizer on the reference rows, report its fidelity, register it, maybe make it default.

Synthesizers are fitted on the reference rows of the fixed *training* split only (de-duplicated).
The test split is the hold-out every model is scored on; a synthesizer that had seen it would
leak those rows into the synthetic training data of the next challenger. Every reference row,
training or test, is on the list of rows the synthesizer must never emit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from pydantic import BaseModel
from sqlalchemy.engine import Engine

from dailyml.contracts.common import NewVersion
from dailyml.datasets import DatasetSpec, frame_hash
from dailyml.errors import NotFoundError
from dailyml.featurestore import training_frame
from dailyml.registry import Registry
from dailyml.synthesizers import ARTIFACT_FORMAT, EPOCH_ALGORITHMS, algorithms_for, build, canonical
from dailyml.synthesizers.base import FitProgress, Synthesizer
from dailyml.tables import ModelVersion
from dailyml.training import feature_schema

KIND = "synthesizer"
DEFAULT = "default"
FIT_JOB = "fit_synthesizer"


@dataclass(frozen=True)
class FitSettings:
    """How thoroughly a fitted synthesizer is scored: sampled rows, and the forest size of the
    train-on-synthetic check. The defaults are the generator's (``DAILYML_GENERATOR_*``)."""

    report_rows: int = 6000
    trees: int = 100


# Requested fits and the first start score alike, so their reports compare like for like.
SCORING = FitSettings()


def fast_candidates(spec: DatasetSpec) -> list[str]:
    """What the first start fits: every algorithm that fits in seconds (no CTGAN/TVAE)."""
    return [a for a in algorithms_for(spec) if a not in EPOCH_ALGORITHMS]


def reference_rows(engine: Engine, spec: DatasetSpec) -> pd.DataFrame:
    """Every reference row in the store (features, ``label``, ``split``)."""
    frame = training_frame(engine, spec, ("reference",))
    if frame.empty:
        raise NotFoundError(f"the feature store has no {spec.name} reference rows: run `dailyml bootstrap`")
    return frame


def fit_rows(spec: DatasetSpec, reference: pd.DataFrame) -> pd.DataFrame:
    """The rows a synthesizer is fitted on: the training split, exact duplicates dropped."""
    train = reference[reference["split"] == "train"]
    return spec.distinct_rows(train).reset_index(drop=True)


def fit(
    spec: DatasetSpec,
    algorithm: str,
    reference: pd.DataFrame,
    *,
    seed: int,
    epochs: int | None = None,
    progress: FitProgress,
) -> tuple[Synthesizer, float]:
    """A fitted synthesizer and its fit time in seconds."""
    synthesizer = build(spec, algorithm, seed=seed, epochs=epochs)
    rows = fit_rows(spec, reference)
    started = time.perf_counter()
    synthesizer.fit(rows, forbidden_rows=reference, progress=progress)
    return synthesizer, time.perf_counter() - started


class FitOutcome(BaseModel):
    """A fit job's result: the version registered, whether it became default and why, its quality
    and fit time, and the default version after it."""

    version: int
    algorithm: str
    became_default: bool
    reason: str
    quality: float
    fit_seconds: float
    default: int | None


class CandidatesFitted(BaseModel):
    """The result of fitting several candidates in turn: each fit, and the default version after them."""

    fitted: list[FitOutcome]
    default: int | None


def fit_and_register(
    engine: Engine,
    registry: Registry,
    spec: DatasetSpec,
    algorithm: str,
    *,
    seed: int,
    settings: FitSettings = SCORING,
    epochs: int | None = None,
    promote: str = "auto",
    progress: FitProgress,
) -> FitOutcome:
    """Fit, score, register and (per ``promote``) make default. Returns the job result."""
    from dailyml.synthesizers.fidelity import (
        ComparedDefault,
        Selection,
        choose_default,
        fidelity_report,
        selection_score,
    )

    algorithm = canonical(algorithm)
    reference = reference_rows(engine, spec)

    def fitting(fraction: float, message: str) -> None:
        progress(0.8 * fraction, message)

    synthesizer, seconds = fit(spec, algorithm, reference, seed=seed, epochs=epochs, progress=fitting)
    progress(0.8, f"scoring {settings.report_rows} sampled rows against the real ones")
    report = fidelity_report(
        spec, synthesizer, reference, rows=settings.report_rows, seed=seed, trees=settings.trees, fit_seconds=seconds
    )
    current = registry.aliased(spec.name, KIND, DEFAULT)
    if promote == "always":
        make_default, reason = True, "promote=always"
    elif promote == "never":
        make_default, reason = False, "promote=never"
    else:
        make_default, reason = choose_default(report.model_dump(), current.metrics if current else None)
    report.selection = Selection(
        policy=promote,
        became_default=make_default,
        reason=reason,
        rule=(
            "eligible first (every label within x1.5 of its real share; synthetic rows no closer to the "
            "training rows than real hold-out rows are), then the higher score = mean of SDMetrics quality "
            "over the real-vs-real ceiling and train-on-synthetic over train-on-real (both on hold-out rows)"
        ),
        compared_with=None
        if current is None
        else ComparedDefault(
            version=current.version,
            algorithm=current.algorithm,
            quality=current.metrics.get("quality"),
            score=selection_score(current.metrics),
        ),
    )
    progress(0.95, "registering")
    new = NewVersion(
        dataset=spec.name,
        kind=KIND,
        algorithm=algorithm,
        params=synthesizer.describe(),
        metrics=report.model_dump(),
        feature_schema=feature_schema(spec).model_dump(),
        data_hash=frame_hash(fit_rows(spec, reference)[[*spec.feature_names, "label"]]),
    )
    mv = registry.register(new, synthesizer.dumps(), ARTIFACT_FORMAT)
    if make_default:
        registry.promote(spec.name, mv.version, kind=KIND, alias=DEFAULT, reason=reason)
    now_default = registry.aliased(spec.name, KIND, DEFAULT)
    return FitOutcome(
        version=mv.version,
        algorithm=algorithm,
        became_default=make_default,
        reason=reason,
        quality=report.quality,
        fit_seconds=round(seconds, 3),
        default=now_default.version if now_default else None,
    )


# Fits one candidate and reports its progress: ``fit_and_register`` with the store bound, or a
# caller's wrapper of it (the generator service takes its turn on a lock around each fit).
FitOne = Callable[[str, FitProgress], FitOutcome]


def fit_candidates(
    registry: Registry, spec: DatasetSpec, algorithms: list[str], fit_one: FitOne, *, progress: FitProgress
) -> CandidatesFitted:
    """Fit each algorithm in turn with ``fit_one`` (``promote='auto'``: the best measured becomes default)."""
    results = []
    for i, algorithm in enumerate(algorithms):

        def step(fraction: float, message: str, i: int = i, algorithm: str = algorithm) -> None:
            progress((i + fraction) / len(algorithms), f"{algorithm}: {message}")

        results.append(fit_one(algorithm, step))
    current = registry.aliased(spec.name, KIND, DEFAULT)
    return CandidatesFitted(fitted=results, default=current.version if current else None)


def load(registry: Registry, mv: ModelVersion) -> Synthesizer:
    """The synthesizer of a registered version: signature, then sha256 verified before unpickling."""
    from dailyml.synthesizers.base import SynthesisError

    if mv.kind != KIND or mv.artifact_format != ARTIFACT_FORMAT:
        raise SynthesisError(f"version {mv.version} is a {mv.kind} ({mv.artifact_format}), not a synthesizer")
    return Synthesizer.loads(registry.artifact(mv))
