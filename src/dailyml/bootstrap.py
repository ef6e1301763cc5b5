"""First start: migrate, load the reference data, train and promote first models. Idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Engine

from dailyml.datasets import SPECS, DatasetSpec
from dailyml.db import migrate
from dailyml.featurestore import load_reference, training_frame
from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.tables import ModelVersion
from dailyml.training import ProgressFn, assign_split, train
from dailyml.vocab import SampleSource, TrainProfile


@dataclass
class BootstrapReport:
    dataset: str
    reference_rows_added: int
    trained: ModelVersion | None
    champion: ModelVersion | None


def ensure_reference(engine: Engine, spec: DatasetSpec, settings: Settings) -> int:
    """Load the reference rows (with their fixed train/test split) if the store has none."""
    frame = spec.load_reference(settings.data_dir)
    return load_reference(engine, spec, frame, assign_split(spec, frame, settings.seed))


def train_and_register(
    engine: Engine,
    registry: Registry,
    spec: DatasetSpec,
    settings: Settings,
    *,
    progress: ProgressFn,
    profile: TrainProfile | None = None,
    sources: tuple[SampleSource, ...] = ("reference",),
    frame: pd.DataFrame | None = None,
) -> ModelVersion:
    """Train on the feature store (or on ``frame``, already read from it) and register the result
    (not promoted)."""
    if frame is None:
        frame = training_frame(engine, spec, sources)
    result = train(spec, frame, seed=settings.seed, profile=profile or settings.train_profile, progress=progress)
    return registry.register_model(result)


def bootstrap(
    settings: Settings,
    engine: Engine,
    *,
    progress_factory: Callable[[str], ProgressFn],
    datasets: tuple[str, ...] | None = None,
) -> list[BootstrapReport]:
    """Migrate; per dataset load the reference rows, and train + promote a model if none is champion."""
    migrate(settings.resolved_database_url)
    registry = Registry.from_settings(engine, settings)
    registry.check_signing()
    reports = []
    for name in datasets or tuple(SPECS):
        spec = SPECS[name]
        added = ensure_reference(engine, spec, settings)
        trained = None
        champion = registry.aliased(spec.name)
        if champion is None:
            existing = registry.versions(spec.name)
            trained = (
                existing[0]
                if existing
                else train_and_register(engine, registry, spec, settings, progress=progress_factory(spec.name))
            )
            champion = registry.promote(spec.name, trained.version, reason="bootstrap: first model")
        reports.append(BootstrapReport(spec.name, added, trained, champion))
    return reports
