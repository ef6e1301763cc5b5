"""``dailyml evaluate``: our candidates and the honest references under one fixed protocol.

Protocol: the reference rows of a dataset with exact duplicates (same features and label)
dropped *before* any split, then repeated stratified k-fold cross-validation with a fixed seed
(5 folds x 3 repeats; ``quick``: 3 x 1). Every model, ours or a reference, sees exactly the same
folds. Figures are the mean (and standard deviation) over the folds; wine's per-colour figures
are averaged the same way.

Next to accuracy, each model's serving cost is measured: microseconds for a one-row prediction
through the path the predictor uses (``dailyml.compiled``; scikit-learn where a model is not
compiled), the size of its registry artifact (skops) and the seconds one fit takes. The champion
is the candidate ``dailyml train`` would choose by the same rule (best primary metric among our
candidates; baselines and references are never chosen).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold
from threadpoolctl import threadpool_limits

from dailyml.datasets import DatasetSpec
from dailyml.evaluation import FoldMeans, evaluate, fold_means
from dailyml.metric_direction import GREATER_IS_BETTER, best, reaches
from dailyml.pipelines import Candidate, candidates, references, servable
from dailyml.reports import Report
from dailyml.scores import Metrics
from dailyml.training import deduplicate
from dailyml.vocab import TrainProfile

ProgressFn = Callable[[int, int, str], None]

# The targets, under the full protocol. A figure is "met" when it is on the right side.
TARGETS: dict[str, dict[str, float]] = {
    "wine": {"mse": 0.44, "exact_accuracy": 0.60},
    "iris": {"accuracy": 0.967},
}


class ProtocolReport(BaseModel):
    """The protocol as a report records it."""

    scheme: str
    n_splits: int
    n_repeats: int
    seed: int
    rows: int
    duplicates_dropped: int
    deduplicated_before_splitting: bool


@dataclass(frozen=True)
class Protocol:
    n_splits: int
    n_repeats: int
    seed: int = 42

    def describe(self, rows: int, duplicates: int) -> ProtocolReport:
        """The protocol as a report records it: scheme, splits, repeats, seed, rows and duplicates dropped."""
        return ProtocolReport(
            scheme=f"repeated stratified {self.n_splits}-fold x {self.n_repeats}, seed {self.seed}",
            n_splits=self.n_splits,
            n_repeats=self.n_repeats,
            seed=self.seed,
            rows=rows,
            duplicates_dropped=duplicates,
            deduplicated_before_splitting=True,
        )


FULL = Protocol(5, 3)
QUICK = Protocol(3, 1)


def _no_progress(done: int, total: int, message: str) -> None:
    return None


def evaluation_rows(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the protocol uses: exact duplicates dropped, in a canonical order."""
    data = frame.sort_values([*spec.feature_names, "label"], kind="mergesort")
    return deduplicate(spec, data).reset_index(drop=True)


def outer_folds(spec: DatasetSpec, data: pd.DataFrame, protocol: Protocol) -> list[tuple[np.ndarray, np.ndarray]]:
    """The protocol's folds on ``data`` (the rows of ``evaluation_rows``): the same for every model."""
    splitter = RepeatedStratifiedKFold(
        n_splits=protocol.n_splits, n_repeats=protocol.n_repeats, random_state=protocol.seed
    )
    return list(splitter.split(data[spec.feature_names], data["label"]))


class ServingCost(Report):
    """What serving a model costs: µs for one row, its artifact's MB, whether it is compiled, and
    (measured while cross-validating) the seconds one fit takes."""

    us_per_row: float
    mb: float
    compiled: bool
    fit_seconds: float | None = None
    omitted_when_none: ClassVar[tuple[str, ...]] = ("fit_seconds",)


def serving_cost(spec: DatasetSpec, estimator: Any, rows: pd.DataFrame, calls: int = 300) -> ServingCost:
    """What serving ``estimator`` costs: µs for one row (median of ``calls`` one-row predictions
    through the predictor's path), and the registry artifact's size in MB."""
    from dailyml.inference import LoadedModel, predict_rows
    from dailyml.registry import dump_model

    loaded = LoadedModel.load(spec.name, 0, 0, "candidate", estimator)
    records = rows[spec.feature_names].to_dict("records")
    predict_rows(spec, loaded, records[:1])  # warm-up
    times = []
    for i in range(calls):
        started = time.perf_counter()
        predict_rows(spec, loaded, [records[i % len(records)]])
        times.append(time.perf_counter() - started)
    return ServingCost(
        us_per_row=round(float(np.median(times)) * 1e6, 1),
        mb=round(len(dump_model(estimator)) / 1e6, 3),
        compiled=loaded.compiled is not None and loaded.compiled.inline,
    )


class ModelAssessment(FoldMeans):
    """One model under the protocol: what it is, its figures over the folds and its serving cost."""

    role: str
    baseline: bool
    lab: bool
    description: str
    params: dict[str, Any]  # the estimator's own hyper-parameters, whatever they are
    cost: ServingCost


def _target(spec: DatasetSpec, frame: pd.DataFrame) -> pd.Series:
    return frame["label"] if spec.task == "classification" else frame["label"].astype(int)


def _cross_validate(
    spec: DatasetSpec,
    data: pd.DataFrame,
    entries: list[tuple[Candidate, str]],
    folds: list[tuple[np.ndarray, np.ndarray]],
    seed: int,
    progress: ProgressFn,
    cost_calls: int,
) -> dict[str, ModelAssessment]:
    """Each entry fitted on every fold's training part and scored on its test part, then fitted
    on all rows and costed as served."""
    total = len(entries) * (len(folds) + 1)
    done = 0
    X, y = data[spec.feature_names], _target(spec, data)
    results: dict[str, ModelAssessment] = {}
    # One OpenMP thread for gradient boosting: on a shared machine its spinning threads slow a fit
    # down a hundredfold (measured: 150 s instead of 0.7 s); forests use joblib threads instead.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for candidate, role in entries:
            per_fold: list[Metrics] = []
            fit_seconds: list[float] = []
            median_grade: list[float] = []
            for i, (fit_idx, val_idx) in enumerate(folds):
                model = clone(candidate.build(seed))
                started = time.perf_counter()
                model.fit(X.iloc[fit_idx], y.iloc[fit_idx])
                fit_seconds.append(time.perf_counter() - started)
                per_fold.append(evaluate(spec, model, data.iloc[val_idx]))
                if hasattr(model, "predict_grade"):  # an ordinal model's own grade (the median)
                    graded = model.predict_grade(X.iloc[val_idx])
                    median_grade.append(float(np.mean(graded == y.iloc[val_idx].to_numpy())))
                done += 1
                progress(done, total, f"{candidate.name} fold {i + 1}/{len(folds)}")
            final = servable(candidate.build(seed).fit(X, y))
            cost = serving_cost(spec, final, data, calls=cost_calls)
            done += 1
            progress(done, total, f"{candidate.name} cost")
            figures = fold_means(per_fold, {"median_grade_exact_accuracy": median_grade} if median_grade else None)
            results[candidate.name] = ModelAssessment(
                **dict(figures),
                role=role,
                baseline=candidate.baseline,
                lab=candidate.lab,
                description=candidate.description,
                params=candidate.params,
                cost=cost.model_copy(update={"fit_seconds": round(float(np.median(fit_seconds)), 3)}),
            )
    return results


class Target(BaseModel):
    """One of the issue's targets against the champion's figure."""

    target: float
    value: float
    met: bool


class Assessment(Report):
    """``dailyml evaluate``'s report. In JSON the champion's figures, cost and description sit at
    the top level too, after ``primary_metric``."""

    dataset: str
    protocol: ProtocolReport
    champion: str
    primary_metric: str
    targets: dict[str, Target]
    targets_apply: bool
    candidates: dict[str, ModelAssessment]
    references: dict[str, ModelAssessment]

    @property
    def top(self) -> ModelAssessment:
        """The champion's assessment."""
        return self.candidates[self.champion]

    def shaped(self, data: dict[str, Any]) -> dict[str, Any]:
        """The report's JSON: the champion's figures, cost and description after ``primary_metric``."""
        head = {k: data.pop(k) for k in ("dataset", "protocol", "champion", "primary_metric")}
        top = {k: v for k, v in data["candidates"][self.champion].items() if k != "role"}
        return {**head, **top, **data}


def assess(
    spec: DatasetSpec,
    frame: pd.DataFrame,
    *,
    quick: bool = False,
    progress: ProgressFn = _no_progress,
    cost_calls: int = 300,
) -> Assessment:
    """Cross-validate our candidates and the references under the protocol, measure their cost,
    and report with the champion's figures at the top level (see the module docstring)."""
    protocol = QUICK if quick else FULL
    profile: TrainProfile = "fast" if quick else "full"
    data = evaluation_rows(spec, frame)
    ours = [c for c in candidates(spec, profile) if not c.baseline and not c.lab]
    refs = [c for c in candidates(spec, profile) if c.baseline or c.lab] + references(spec, profile)
    entries: list[tuple[Candidate, str]] = [(c, "reference") for c in refs] + [(c, "candidate") for c in ours]
    folds = outer_folds(spec, data, protocol)
    results = _cross_validate(spec, data, entries, folds, protocol.seed, progress, cost_calls)
    primary = spec.primary_metric
    champion = best(ours, lambda c: results[c.name].mean(primary), greater_is_better=spec.greater_is_better).name
    top = results[champion]
    targets = {
        metric: Target(
            target=value,
            value=top.mean(metric),
            met=reaches(top.mean(metric), value, greater_is_better=GREATER_IS_BETTER[metric]),
        )
        for metric, value in TARGETS.get(spec.name, {}).items()
    }
    return Assessment(
        dataset=spec.name,
        protocol=protocol.describe(len(data), len(frame) - len(data)),
        champion=champion,
        primary_metric=spec.primary_metric,
        targets=targets,
        targets_apply=not quick,
        candidates={name: r for name, r in results.items() if r.role == "candidate"},
        references={name: r for name, r in results.items() if r.role == "reference"},
    )


def headline_keys(spec: DatasetSpec) -> list[str]:
    """The metrics a report shows first for ``spec``."""
    if spec.task == "classification":
        return ["accuracy", "macro_f1"]
    return ["mse", "mae", "exact_accuracy", "within_one_accuracy"]


class RecordedEvaluation(FoldMeans):
    """What the registry keeps of a report on the champion's version: protocol, champion's
    figures, cost and targets, and the references' figures."""

    protocol: ProtocolReport
    champion: str
    primary_metric: str
    targets: dict[str, Target]
    targets_apply: bool
    cost: ServingCost
    references: dict[str, FoldMeans]


def recordable(report: Assessment) -> RecordedEvaluation:
    """The part of a report the registry keeps on the champion's version: protocol, figures,
    cost and targets (not every reference)."""
    return RecordedEvaluation(
        **dict(report.top.fold_means()),
        protocol=report.protocol,
        champion=report.champion,
        primary_metric=report.primary_metric,
        targets=report.targets,
        targets_apply=report.targets_apply,
        cost=report.top.cost,
        references={name: r.fold_means() for name, r in report.references.items()},
    )


# ---------------------------------------------------------------------------------------------
# Nested hyper-parameter search and the model families measured next to the candidates
# (``dailyml evaluate wine --search``). See docs/models.md for the search space and the figures.

FitLog = Callable[[str, np.ndarray], None]


def wine_search_space(n_per_family: int = 5, seed: int = 42) -> list[Candidate]:
    """The documented wine search space: ``n_per_family`` configurations drawn at random (seeded)
    from each grid, ExtraTrees and histogram gradient boosting (docs/models.md)."""
    from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor
    from sklearn.model_selection import ParameterSampler

    from dailyml.datasets import WINE
    from dailyml.pipelines import build_pipeline

    trees_grid = {
        "n_estimators": [100, 200, 300],
        "max_features": [0.3, 0.4, 0.5, 0.7, 1.0],
        "min_samples_leaf": [1, 2, 3, 5],
    }
    boosting_grid = {
        "learning_rate": [0.03, 0.05, 0.1],
        "max_leaf_nodes": [15, 31, 63],
        "max_depth": [None, 6, 8],
        "min_samples_leaf": [10, 20, 40],
        "l2_regularization": [0.0, 1.0, 3.0],
    }
    space: list[Candidate] = []
    for params in ParameterSampler(trees_grid, n_per_family, random_state=seed):
        space.append(
            Candidate(
                "extra_trees " + _short(params),
                _builder(lambda s, p=params: build_pipeline(WINE, ExtraTreesRegressor(**p, random_state=s, n_jobs=2))),
                dict(params),
            )
        )
    for params in ParameterSampler(boosting_grid, n_per_family, random_state=seed):
        space.append(
            Candidate(
                "boosting " + _short(params),
                _builder(
                    lambda s, p=params: build_pipeline(
                        WINE, HistGradientBoostingRegressor(**p, max_iter=300, early_stopping=False, random_state=s)
                    )
                ),
                {**params, "max_iter": 300},
            )
        )
    return space


def _builder(build: Any) -> Callable[[int], Any]:
    return build  # type: ignore[no-any-return]


def _short(params: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(params.items()))


class SearchedConfiguration(BaseModel):
    """One configuration of a search space."""

    name: str
    params: dict[str, Any]  # the estimator's own hyper-parameters, whatever they are


class FoldWinner(SearchedConfiguration):
    """The configuration an outer fold's inner search chose, and its figures."""

    fold: int
    inner_mse: float
    outer_mse: float
    outer_exact_accuracy: float


class ChosenConfiguration(BaseModel):
    """The configuration chosen most often, and what serving it (fitted on all rows) costs."""

    name: str
    cost: ServingCost


class NestedSearch(FoldMeans):
    """A nested search: its inner scheme, space, each outer fold's winner, the outer folds' figures
    and (in ``explore``) the configuration chosen most often."""

    inner: str
    space: list[SearchedConfiguration]
    winners: list[FoldWinner]
    chosen: ChosenConfiguration | None = None
    omitted_when_none: ClassVar[tuple[str, ...]] = ("by_group", "chosen")


def nested_search(
    spec: DatasetSpec,
    data: pd.DataFrame,
    folds: list[tuple[np.ndarray, np.ndarray]],
    space: list[Candidate],
    *,
    inner_splits: int = 3,
    seed: int = 42,
    progress: ProgressFn = _no_progress,
    fit_log: FitLog | None = None,
) -> NestedSearch:
    """A nested search: for each outer fold, every configuration of ``space`` is scored by an
    inner stratified ``inner_splits``-fold CV on that fold's *training part only* (lowest MSE
    wins), the winner is refitted on the whole training part and scored on the outer test part,
    which the search never saw. The figures are the outer folds' means; which configuration won
    each fold is reported. ``fit_log(stage, positions)`` receives the ``data`` row positions of
    every fit (stages ``inner`` and ``outer``) so a test can check what the search saw."""
    from sklearn.model_selection import StratifiedKFold

    X, y = data[spec.feature_names], _target(spec, data)
    total = len(folds) * (len(space) * inner_splits + 1)
    done = 0
    per_fold: list[Metrics] = []
    winners: list[FoldWinner] = []
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for o, (train_idx, test_idx) in enumerate(folds):
            inner = StratifiedKFold(n_splits=inner_splits, shuffle=True, random_state=seed + o)
            inner_folds = [
                (train_idx[a], train_idx[b]) for a, b in inner.split(train_idx, y.iloc[train_idx].to_numpy())
            ]
            scores = []
            for candidate in space:
                mses = []
                for fit_pos, val_pos in inner_folds:
                    if fit_log is not None:
                        fit_log("inner", fit_pos)
                    model = clone(candidate.build(seed)).fit(X.iloc[fit_pos], y.iloc[fit_pos])
                    prediction = np.asarray(model.predict(X.iloc[val_pos]), dtype=float)
                    mses.append(float(np.mean((prediction - y.iloc[val_pos].to_numpy()) ** 2)))
                    done += 1
                    progress(done, total, f"outer {o + 1}/{len(folds)} {candidate.name}")
                scores.append(float(np.mean(mses)))
            best = space[int(np.argmin(scores))]
            if fit_log is not None:
                fit_log("outer", train_idx)
            model = clone(best.build(seed)).fit(X.iloc[train_idx], y.iloc[train_idx])
            per_fold.append(evaluate(spec, model, data.iloc[test_idx]))
            winners.append(
                FoldWinner(
                    fold=o,
                    name=best.name,
                    params=best.params,
                    inner_mse=min(scores),
                    outer_mse=per_fold[-1].figure("mse"),
                    outer_exact_accuracy=per_fold[-1].figure("exact_accuracy"),
                )
            )
            done += 1
            progress(done, total, f"outer {o + 1}/{len(folds)} refit")
    return NestedSearch(
        **dict(fold_means(per_fold)),
        inner=f"stratified {inner_splits}-fold on each outer training part, seed {seed} + fold",
        space=[SearchedConfiguration(name=c.name, params=c.params) for c in space],
        winners=winners,
    )


def wine_families(spec: DatasetSpec) -> list[Candidate]:
    """Model families measured next to the candidates (not served): one model per colour, and
    cumulative ordinal models of the grade."""
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier

    from dailyml.pipelines import CumulativeOrdinal, PerGroup, _extra_trees, _student, build_pipeline

    group = spec.group_feature or ""
    return [
        Candidate(
            "extra_trees",
            lambda s: _extra_trees(spec, 300, s),
            {"n_estimators": 300, "max_features": 0.4},
            description="the reference, in the same run",
        ),
        Candidate(
            "per_colour_extra_trees",
            lambda s: PerGroup(group, _extra_trees(spec, 300, s)),
            {"per": group, "n_estimators": 300, "max_features": 0.4},
        ),
        Candidate(
            "per_colour_boosting",
            lambda s: PerGroup(group, build_pipeline(spec, _student(300, 8, s, learning_rate=0.05))),
            {"per": group, "max_iter": 300, "max_depth": 8, "learning_rate": 0.05},
        ),
        Candidate(
            "ordinal_boosting",
            lambda s: CumulativeOrdinal(
                build_pipeline(
                    spec,
                    HistGradientBoostingClassifier(
                        max_iter=200, learning_rate=0.05, max_depth=6, early_stopping=False, random_state=s
                    ),
                )
            ),
            {"thresholds": "K-1", "max_iter": 200, "learning_rate": 0.05, "max_depth": 6},
        ),
        Candidate(
            "ordinal_extra_trees",
            lambda s: CumulativeOrdinal(
                build_pipeline(spec, ExtraTreesClassifier(n_estimators=100, max_features=0.4, random_state=s, n_jobs=2))
            ),
            {"thresholds": "K-1", "n_estimators": 100, "max_features": 0.4},
        ),
    ]


class Exploration(Report):
    """``dailyml evaluate wine --search``'s report: the extra families and the nested search, each
    with its protocol (left out when not run)."""

    dataset: str
    families_protocol: ProtocolReport | None = None
    families: dict[str, ModelAssessment] | None = None
    search_protocol: ProtocolReport | None = None
    search: NestedSearch | None = None
    omitted_when_none: ClassVar[tuple[str, ...]] = ("families_protocol", "families", "search_protocol", "search")


def explore(
    spec: DatasetSpec,
    frame: pd.DataFrame,
    *,
    outer_repeats: int = 1,
    families: bool = True,
    search: bool = True,
    progress: ProgressFn = _no_progress,
    cost_calls: int = 300,
) -> Exploration:
    """``dailyml evaluate wine --search``: the nested search (outer folds: the protocol's first
    ``outer_repeats`` repeats of 5 folds) and the extra families (all 15 folds)."""
    if spec.name != "wine":
        raise ValueError("the search and the extra families are defined for wine only")
    data = evaluation_rows(spec, frame)
    report = Exploration(dataset=spec.name)
    if families:
        folds = outer_folds(spec, data, FULL)
        entries = [(c, "family") for c in wine_families(spec)]
        report.families_protocol = FULL.describe(len(data), len(frame) - len(data))
        report.families = _cross_validate(spec, data, entries, folds, FULL.seed, progress, cost_calls)
    if search:
        protocol = Protocol(FULL.n_splits, outer_repeats, FULL.seed)
        folds = outer_folds(spec, data, protocol)
        report.search_protocol = protocol.describe(len(data), len(frame) - len(data))
        space = wine_search_space()
        report.search = found = nested_search(spec, data, folds, space, progress=progress)
        # What serving the configuration chosen most often would cost, fitted on all rows.
        names = [w.name for w in found.winners]
        chosen = next(c for c in space if c.name == max(set(names), key=names.count))
        X, y = data[spec.feature_names], _target(spec, data)
        with threadpool_limits(limits=1, user_api="openmp"):
            final = chosen.build(FULL.seed).fit(X, y)
        found.chosen = ChosenConfiguration(name=chosen.name, cost=serving_cost(spec, final, data, calls=cost_calls))
    return report
