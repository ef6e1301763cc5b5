"""Retraining's use case: train a challenger on the feature store and score the champion of the
time on exactly the challenger's hold-out rows, so that the two figures can be compared."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from dailyml.bootstrap import train_and_register
from dailyml.contracts import ChampionScore, TrainingOutcome
from dailyml.datasets import DatasetSpec
from dailyml.evaluation import evaluate
from dailyml.featurestore import training_frame
from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.training import ProgressFn, holdout_frame
from dailyml.vocab import SampleSource, TrainProfile


def train_challenger(
    engine: Engine,
    registry: Registry,
    spec: DatasetSpec,
    settings: Settings,
    *,
    include_synthetic: bool,
    profile: TrainProfile | None,
    progress: ProgressFn,
) -> TrainingOutcome:
    """Train and register a challenger (not promoted) on the reference rows (and the labelled
    synthetic ones); score the current champion, if any, on the challenger's hold-out rows."""
    sources: tuple[SampleSource, ...] = ("reference", "synthetic") if include_synthetic else ("reference",)
    champion = registry.aliased(spec.name)
    frame = training_frame(engine, spec, sources)  # read once: the challenger's and the champion's rows
    mv = train_and_register(engine, registry, spec, settings, profile=profile, frame=frame, progress=progress)
    scored = None
    if champion is not None:
        scored = ChampionScore(
            version=champion.version,
            metrics=evaluate(spec, registry.load(champion), holdout_frame(spec, frame)),
        )
    return TrainingOutcome(
        version=mv.version,
        algorithm=mv.algorithm,
        primary_metric=spec.primary_metric,
        greater_is_better=spec.greater_is_better,
        challenger=mv.metrics["holdout"],
        training_rows=mv.metrics["data"]["train_rows"],
        champion=scored,
    )
