"""Honest training: de-duplicate, hold out a stratified test set, select by repeated CV, report.

The hold-out test set is chosen once (``assign_split``) and stored with the samples, so a
retrained challenger is scored on exactly the rows its champion was scored on. Selection uses
cross-validation on the training rows only; the test rows are looked at once, to report.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedShuffleSplit
from threadpoolctl import threadpool_limits

from dailyml.contracts.common import NewVersion
from dailyml.datasets import DatasetSpec, frame_hash, row_hash
from dailyml.evaluation import FoldMeans, evaluate, fold_means
from dailyml.metric_direction import best
from dailyml.pipelines import Candidate, candidates, servable
from dailyml.scores import Metrics
from dailyml.vocab import TrainProfile

ProgressFn = Callable[[int, int, str], None]
TEST_SIZE = 0.2
MODEL_KIND = "model"  # the registry kind of what training makes


def _no_progress(done: int, total: int, message: str) -> None:
    return None


class CrossValidation(FoldMeans):
    """One candidate's repeated stratified k-fold CV: its scheme, seconds, and every figure's mean and std."""

    scheme: str
    seconds: float


class CandidateReport(BaseModel):
    """One candidate of a training run: its parameters and role, its CV figures and its hold-out metrics."""

    params: dict[str, Any]  # the estimator's own hyper-parameters, whatever they are
    baseline: bool
    lab: bool
    cv: CrossValidation
    holdout: Metrics


class TrainingData(BaseModel):
    """The rows a training run used: read, duplicates dropped, train and test sizes, seed and profile."""

    rows: int
    duplicates_dropped: int
    train_rows: int
    test_rows: int
    test_size: float
    seed: int
    profile: TrainProfile


class TrainingReport(BaseModel):
    """What a training run measured, stored as the registered version's metrics: the chosen
    candidate and its hold-out metrics, every candidate's figures, and the data."""

    primary_metric: str
    chosen: str
    holdout: Metrics
    baseline: str
    lab_model: str | None
    candidates: dict[str, CandidateReport]
    data: TrainingData


@dataclass
class TrainingResult:
    """A fitted model, its training report, and the registry entry it makes
    (``new_version``, whose ``metrics`` are the report as stored)."""

    estimator: Any
    report: TrainingReport
    new_version: NewVersion


class FeatureColumn(BaseModel):
    """One input of a trained model: its name, kind, unit, range and categories."""

    name: str
    kind: str
    unit: str
    minimum: float | None
    maximum: float | None
    categories: list[str]


class FeatureSchema(BaseModel):
    """The input contract a model was trained on, stored with it in the registry."""

    dataset: str
    task: str
    target: str
    labels: list[str]
    features: list[FeatureColumn]


def feature_schema(spec: DatasetSpec) -> FeatureSchema:
    """The input contract a model was trained on, stored with it in the registry."""
    return FeatureSchema(
        dataset=spec.name,
        task=spec.task,
        target=spec.target,
        labels=list(spec.labels),
        features=[FeatureColumn.model_validate(f, from_attributes=True) for f in spec.features],
    )


def assign_split(spec: DatasetSpec, frame: pd.DataFrame, seed: int, test_size: float = TEST_SIZE) -> pd.Series:
    """``train``/``test`` for each row: stratified by label over the *distinct* rows.

    Exact duplicates share one key and so always land on the same side: no copy of a test row
    can sit in the training set.
    """
    keys = frame.apply(lambda r: row_hash(spec, r, with_label=True), axis=1)
    distinct = frame.assign(_key=keys).drop_duplicates("_key")
    counts = distinct["label"].value_counts()
    stratifiable = distinct[distinct["label"].map(counts) >= 2]
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    _, test_idx = next(splitter.split(stratifiable, stratifiable["label"]))
    test_keys = set(stratifiable["_key"].iloc[test_idx])
    return pd.Series(np.where(keys.isin(test_keys), "test", "train"), index=frame.index)


def deduplicate(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Drop exact duplicate rows (same features and label), keeping the first."""
    return spec.distinct_rows(frame)


def holdout_frame(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """The de-duplicated hold-out rows of ``frame`` in canonical order: what every model is scored on."""
    test = deduplicate(spec, frame[frame["split"] == "test"])
    return test.sort_values([*spec.feature_names, "label"], kind="mergesort").reset_index(drop=True)


def _cv_scheme(profile: TrainProfile) -> tuple[int, int]:
    return (3, 1) if profile == "fast" else (5, 3)


def cross_validate(
    spec: DatasetSpec,
    candidate: Candidate,
    train: pd.DataFrame,
    *,
    seed: int,
    profile: TrainProfile,
    progress: Callable[[str], None],
) -> CrossValidation:
    """Repeated stratified k-fold CV of one candidate: mean and std of every scalar metric."""
    n_splits, n_repeats = _cv_scheme(profile)
    folds = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    X, y = train[spec.feature_names], train["label"]
    target = y if spec.task == "classification" else y.astype(int)
    per_fold: list[Metrics] = []
    started = time.perf_counter()
    for i, (fit_idx, val_idx) in enumerate(folds.split(X, y)):
        model = clone(candidate.build(seed))
        model.fit(X.iloc[fit_idx], target.iloc[fit_idx])
        per_fold.append(evaluate(spec, model, train.iloc[val_idx]))
        progress(f"{candidate.name} fold {i + 1}/{n_splits * n_repeats}")
    figures = fold_means(per_fold)
    return CrossValidation(
        scheme=f"{n_splits}-fold x {n_repeats} repeats, stratified, seed {seed}",
        seconds=round(time.perf_counter() - started, 2),
        means=figures.means,
        stds=figures.stds,  # per-group figures are the hold-out's, not CV's
    )


def train(
    spec: DatasetSpec,
    frame: pd.DataFrame,
    *,
    seed: int = 42,
    profile: TrainProfile = "full",
    progress: ProgressFn = _no_progress,
) -> TrainingResult:
    """Select, fit and report a model for ``spec`` from ``frame`` (features, ``label``, ``split``).

    Rows without a ``split`` get one from ``assign_split``. Selection is by the spec's primary
    metric in cross-validation on the training rows; baselines are never chosen.
    """
    # A canonical row order makes training reproducible whatever order the store returned.
    data = frame.sort_values([*spec.feature_names, "label"], kind="mergesort").reset_index(drop=True)
    if "split" not in data or data["split"].isna().any():
        missing = data["split"].isna() if "split" in data else pd.Series(True, index=data.index)
        data.loc[missing, "split"] = assign_split(spec, data[missing], seed)
    rows_in = len(data)
    data = deduplicate(spec, data)
    train_rows = data[data["split"] == "train"].reset_index(drop=True)
    test_rows = holdout_frame(spec, data)

    tried = candidates(spec, profile)
    n_splits, n_repeats = _cv_scheme(profile)
    total = len(tried) * (n_splits * n_repeats + 1) + 1
    done = 0

    def step(message: str) -> None:
        nonlocal done
        done += 1
        progress(done, total, message)

    # One OpenMP thread for gradient boosting (see dailyml.assessment): a shared machine otherwise
    # turns a one-second fit into minutes.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        # Grade 9 wines are too few for 5 folds; stratification still does the best it can.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        cv = {c.name: cross_validate(spec, c, train_rows, seed=seed, profile=profile, progress=step) for c in tried}
    eligible = [c for c in tried if not c.baseline]
    chosen = best(eligible, lambda c: cv[c.name].mean(spec.primary_metric), greater_is_better=spec.greater_is_better)

    X, y = train_rows[spec.feature_names], train_rows["label"]
    target = y if spec.task == "classification" else y.astype(int)
    holdout: dict[str, Metrics] = {}
    final: Any = None
    for c in tried:
        with threadpool_limits(limits=1, user_api="openmp"):
            model = c.build(seed).fit(X, target)
        holdout[c.name] = evaluate(spec, model, test_rows)
        if c is chosen:
            final = servable(model)
        step(f"hold-out {c.name}")

    report = TrainingReport(
        primary_metric=spec.primary_metric,
        chosen=chosen.name,
        holdout=holdout[chosen.name],
        baseline=next(c.name for c in tried if c.baseline),
        lab_model=next((c.name for c in tried if c.lab), None),
        candidates={
            c.name: CandidateReport(
                params=c.params, baseline=c.baseline, lab=c.lab, cv=cv[c.name], holdout=holdout[c.name]
            )
            for c in tried
        },
        data=TrainingData(
            rows=rows_in,
            duplicates_dropped=rows_in - len(data),
            train_rows=len(train_rows),
            test_rows=len(test_rows),
            test_size=TEST_SIZE,
            seed=seed,
            profile=profile,
        ),
    )
    step("done")
    return TrainingResult(
        estimator=final,
        report=report,
        new_version=NewVersion(
            dataset=spec.name,
            kind=MODEL_KIND,
            algorithm=chosen.name,
            params={**chosen.params, "seed": seed, "profile": profile},
            metrics=report.model_dump(),
            data_hash=frame_hash(data[[*spec.feature_names, "label", "split"]]),
            feature_schema=feature_schema(spec).model_dump(),
        ),
    )
