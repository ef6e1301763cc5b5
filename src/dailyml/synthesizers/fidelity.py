"""The fidelity report of a fitted synthesizer, scored on real rows it never saw.

The synthesizer is fitted on the training split; a fresh sample is scored against the
de-duplicated hold-out rows only, next to the ceiling (real training rows against the same
hold-out rows, as many rows as the synthetic ones scored):
- SDMetrics quality (column shapes, column pair trends, overall) and diagnostic score (SDV 2);
- novelty: median distance to the closest training row, against the hold-out rows' own;
- the share of raw rows outside the spec's valid ranges (and of real-row copies) before they
  were redrawn, and of kept rows outside the range the real data covers;
- the label distribution (share per label, synthetic / real ratio);
- train-on-synthetic / test-on-real against train-on-real for the dataset's model: the same
  scikit-learn model trained on the real training rows or on as many synthetic rows, both
  scored on the fixed real test rows the synthesizer never saw.

``rank_key`` and ``choose_default`` turn reports into the default synthesizer and say why.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel

from dailyml.datasets import DatasetSpec
from dailyml.metric_direction import GREATER_IS_BETTER
from dailyml.reports import Report
from dailyml.synthesizers.base import Synthesizer

# The label distribution counts as faithful when every real label's synthetic share is within
# this factor of its real share (the target for wine grades).
LABEL_RATIO_LIMIT = 1.5
# The tighter target for a default (reported as ``within_target``).
LABEL_RATIO_TARGET = 1.25
# Synthetic rows' median distance to the closest training row over the hold-out rows' (>= this).
NOVELTY_TOLERANCE = 0.95


class TSTR(BaseModel):
    """Train-on-synthetic/test-on-real against train-on-real, on the same real test rows."""

    metric: str
    greater_is_better: bool
    model: str
    train_rows: int
    test_rows: int
    train_on_real: float
    train_on_synthetic: float
    synthetic_single_label: bool
    ratio: float | None


class SDMetricsScores(BaseModel):
    """SDMetrics quality (overall, column shapes and pair trends), diagnostic, and shape per column."""

    quality: float
    column_shapes: float
    column_pair_trends: float
    diagnostic: float
    column_shape_by_column: dict[str, float]


class LabelDistribution(BaseModel):
    """Share of each label in real and synthetic rows, their ratio, and whether it is within limits."""

    labels: list[str]
    real: dict[str, float]
    synthetic: dict[str, float]
    ratio: dict[str, float]
    worst_ratio: float
    within_limit: bool
    limit: float
    within_target: bool
    target: float


class Novelty(BaseModel):
    """Median distance to the closest training row, of synthetic rows and of real hold-out rows."""

    synthetic_median_distance: float
    holdout_median_distance: float
    ratio: float | None
    no_closer_than_holdout: bool


class Ceiling(BaseModel):
    """The SDMetrics quality of real training rows against the same hold-out rows."""

    what: str
    quality: float
    column_shapes: float
    column_pair_trends: float


class ComparedDefault(BaseModel):
    """The default a new synthesizer was compared with."""

    version: int
    algorithm: str
    quality: float | None
    score: float


class Selection(BaseModel):
    """Whether a fitted synthesizer became default, by which policy and rule, and why."""

    policy: str
    became_default: bool
    reason: str
    rule: str
    compared_with: ComparedDefault | None


class FidelityReport(SDMetricsScores, Report):
    """A fitted synthesizer scored on hold-out rows it never saw (see the module docstring);
    stored as the synthesizer version's metrics."""

    protocol: str
    rows_sampled: int
    rows_scored: int
    real_rows: int
    train_rows: int
    holdout_rows: int
    ceiling: Ceiling
    quality_vs_ceiling: float | None
    novelty: Novelty
    invalid_share_before_resampling: float
    invalid_by_field: dict[str, int]
    copy_share_before_resampling: float
    invalid_rows_kept: int
    copies_kept: int
    outside_real_range_share: float
    label_distribution: LabelDistribution
    tstr: TSTR
    sample_1_ms: float
    sample_1000_ms: float
    fit_seconds: float | None = None
    selection: Selection | None = None
    # Left out when not measured (no fit time) or not decided yet (no selection).
    omitted_when_none: ClassVar[tuple[str, ...]] = ("fit_seconds", "selection")


def dataset_model(spec: DatasetSpec, seed: int, trees: int = 100) -> Any:
    """The model train-on-synthetic/test-on-real uses: a random forest regressor for a graded
    dataset (MSE), a scaled logistic regression for a classification one (accuracy)."""
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression

    from dailyml.pipelines import build_pipeline

    if spec.task == "regression":
        return build_pipeline(spec, RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=-1))
    return build_pipeline(spec, LogisticRegression(C=1.0, max_iter=2000), scale=True)


def _score(spec: DatasetSpec, model: Any, test: pd.DataFrame) -> float:
    from sklearn.metrics import accuracy_score, mean_squared_error

    X = test[spec.feature_names]
    if spec.task == "regression":
        return float(mean_squared_error(test["label"].astype(float), model.predict(X)))
    return float(accuracy_score(test["label"], model.predict(X)))


def _single_label(spec: DatasetSpec, frame: pd.DataFrame) -> bool:
    return spec.task == "classification" and frame["label"].nunique() < 2


def _fit_model(spec: DatasetSpec, frame: pd.DataFrame, seed: int, trees: int) -> Any:
    if _single_label(spec, frame):
        # A collapsed synthesizer (e.g. TVAE after a few epochs) may emit one class only. A model
        # trained on that can only ever answer that class, which is what this scores, instead of
        # failing the whole fit on a classifier that refuses one-class data.
        from sklearn.dummy import DummyClassifier

        from dailyml.pipelines import build_pipeline

        return build_pipeline(spec, DummyClassifier(strategy="most_frequent")).fit(
            frame[spec.feature_names], frame["label"]
        )
    model = dataset_model(spec, seed, trees)
    y = frame["label"].astype(float) if spec.task == "regression" else frame["label"]
    return model.fit(frame[spec.feature_names], y)


def tstr_metric(spec: DatasetSpec) -> str:
    """The figure train-on-synthetic reports for ``spec``: MSE (graded) or accuracy (classes)."""
    return "mse" if spec.task == "regression" else "accuracy"


def tstr(
    spec: DatasetSpec,
    synthetic: pd.DataFrame,
    real_train: pd.DataFrame,
    real_test: pd.DataFrame,
    *,
    seed: int,
    trees: int,
) -> TSTR:
    """Train-on-synthetic/test-on-real versus train-on-real, on the same real test rows."""
    metric = tstr_metric(spec)
    greater = GREATER_IS_BETTER[metric]
    synthetic = synthetic.iloc[: len(real_train)]
    on_real = _score(spec, _fit_model(spec, real_train, seed, trees), real_test)
    on_synthetic = _score(spec, _fit_model(spec, synthetic, seed, trees), real_test)
    return TSTR(
        metric=metric,
        greater_is_better=greater,
        model="random_forest_regressor" if spec.task == "regression" else "logistic_regression",
        train_rows=len(real_train),
        test_rows=len(real_test),
        train_on_real=on_real,
        train_on_synthetic=on_synthetic,
        synthetic_single_label=_single_label(spec, synthetic),
        # >1 means the synthetic-trained model is worse (MSE up, accuracy down).
        ratio=(on_real / on_synthetic if greater else on_synthetic / on_real)
        if min(on_real, on_synthetic) > 0
        else None,
    )


class ResamplingReference(BaseModel):
    """Train-on-synthetic of a "synthesizer" that copies the real training rows: as many rows as
    there are training rows, drawn from them with replacement (the empirical distribution itself).
    It fails novelty and copies by construction; it shows what train-on-synthetic can reach at
    this row count without knowing more than the training rows (a resample holds about 63% of
    the distinct rows, so it is below train-on-real)."""

    metric: str
    repeats: int
    train_rows: int
    train_on_real: float
    train_on_resampled: list[float]
    mean: float


def resampling_reference(
    spec: DatasetSpec, real_train: pd.DataFrame, real_test: pd.DataFrame, *, seed: int, trees: int, repeats: int = 3
) -> ResamplingReference:
    """TSTR's model trained on ``repeats`` resamples (with replacement, seeds ``seed``,
    ``seed + 1``, ...) of the real training rows, each tested on ``real_test``."""
    on_real = _score(spec, _fit_model(spec, real_train, seed, trees), real_test)
    scores = []
    for i in range(repeats):
        resampled = real_train.sample(n=len(real_train), replace=True, random_state=seed + i).reset_index(drop=True)
        scores.append(_score(spec, _fit_model(spec, resampled, seed, trees), real_test))
    return ResamplingReference(
        metric=tstr_metric(spec),
        repeats=repeats,
        train_rows=len(real_train),
        train_on_real=on_real,
        train_on_resampled=scores,
        mean=float(np.mean(scores)),
    )


def _evaluation_frame(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[*spec.feature_names, "label"]].copy()
    out["label"] = out["label"].astype(str)
    return out.reset_index(drop=True)


def sdmetrics_scores(spec: DatasetSpec, real: pd.DataFrame, synthetic: pd.DataFrame) -> SDMetricsScores:
    """SDMetrics quality and diagnostic scores (label as a categorical column)."""
    from sdv.evaluation import evaluate_quality, run_diagnostic

    from dailyml.synthesizers.sdv_models import sdv_metadata

    metadata = sdv_metadata(spec)
    real_e, syn_e = _evaluation_frame(spec, real), _evaluation_frame(spec, synthetic)
    quality = evaluate_quality(real_e, syn_e, metadata, verbose=False)
    properties = quality.get_properties().set_index("Property")["Score"]
    shapes = quality.get_details("Column Shapes")
    diagnostic = run_diagnostic(real_e, syn_e, metadata, verbose=False)
    return SDMetricsScores(
        quality=float(quality.get_score()),
        column_shapes=float(properties["Column Shapes"]),
        column_pair_trends=float(properties["Column Pair Trends"]),
        diagnostic=float(diagnostic.get_score()),
        column_shape_by_column={
            str(r["Column"]).replace("label", spec.target): round(float(r["Score"]), 4) for _, r in shapes.iterrows()
        },
    )


def label_distribution(spec: DatasetSpec, real: pd.DataFrame, synthetic: pd.DataFrame) -> LabelDistribution:
    """Share of each label in the real and synthetic rows, and their ratio for every real label."""
    real_share = real["label"].astype(str).value_counts(normalize=True)
    syn_share = synthetic["label"].astype(str).value_counts(normalize=True)
    labels = [x for x in spec.labels if x in real_share.index or x in syn_share.index]
    ratio = {x: float(syn_share.get(x, 0.0) / real_share[x]) for x in labels if x in real_share.index}
    worst = max(ratio.values(), key=lambda r: max(r, 1 / r) if r > 0 else float("inf"))
    return LabelDistribution(
        labels=labels,
        real={x: float(real_share.get(x, 0.0)) for x in labels},
        synthetic={x: float(syn_share.get(x, 0.0)) for x in labels},
        ratio=ratio,
        worst_ratio=worst,
        within_limit=all(1 / LABEL_RATIO_LIMIT <= r <= LABEL_RATIO_LIMIT for r in ratio.values()),
        limit=LABEL_RATIO_LIMIT,
        within_target=all(1 / LABEL_RATIO_TARGET <= r <= LABEL_RATIO_TARGET for r in ratio.values()),
        target=LABEL_RATIO_TARGET,
    )


def outside_real_range(spec: DatasetSpec, real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Share of synthetic rows with a numeric value outside the range the real rows cover."""
    outside = pd.Series(False, index=synthetic.index)
    for f in spec.numeric_features:
        outside |= (synthetic[f.name] < real[f.name].min()) | (synthetic[f.name] > real[f.name].max())
    return float(outside.mean())


def sampling_times(synthesizer: Synthesizer, seed: int, repeats: int = 5) -> dict[str, float]:
    """Milliseconds to sample 1 row (median of ``repeats``) and 1,000 rows, spec checks included."""
    ones = []
    for i in range(repeats):
        started = time.perf_counter()
        synthesizer.sample(1, seed=seed + i)
        ones.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    synthesizer.sample(1000, seed=seed)
    return {"sample_1_ms": float(np.median(ones)), "sample_1000_ms": (time.perf_counter() - started) * 1000}


def novelty(spec: DatasetSpec, train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame) -> Novelty:
    """How far rows are from the real training rows: the median distance of each synthetic row
    to its closest training row (numeric features standardised by the training rows, compared
    within the same categorical group, e.g. colour), next to the same for the hold-out rows.

    Real hold-out rows are what "new but realistic" looks like: synthetic rows should be no
    closer to the training rows than they are (``ratio`` >= 1); a memorising synthesizer
    (training rows with a little noise) has a ratio well below 1.
    """
    from sklearn.neighbors import NearestNeighbors

    numeric = [f.name for f in spec.numeric_features]
    groups = [f.name for f in spec.categorical_features]
    mean, std = train[numeric].mean(), train[numeric].std().replace(0.0, 1.0)

    def distances(rows: pd.DataFrame) -> np.ndarray:
        out = []
        keyed = rows.groupby(groups) if groups else [((), rows)]
        for key, part in keyed:
            base = train
            for column, value in zip(groups, key if isinstance(key, tuple) else (key,), strict=False):
                base = base[base[column] == value]
            if base.empty:
                continue
            nn = NearestNeighbors(n_neighbors=1).fit(((base[numeric] - mean) / std).to_numpy())
            d, _ = nn.kneighbors(((part[numeric] - mean) / std).to_numpy())
            out.append(d[:, 0])
        return np.concatenate(out) if out else np.array([np.nan])

    syn, hold = float(np.median(distances(synthetic))), float(np.median(distances(holdout)))
    return Novelty(
        synthetic_median_distance=syn,
        holdout_median_distance=hold,
        ratio=syn / hold if hold > 0 else None,
        no_closer_than_holdout=bool(hold > 0 and syn >= hold),
    )


def fidelity_report(
    spec: DatasetSpec,
    synthesizer: Synthesizer,
    reference: pd.DataFrame,
    *,
    rows: int,
    seed: int = 42,
    trees: int,
    fit_seconds: float | None = None,
) -> FidelityReport:
    """Score ``synthesizer`` on held-out rows it never saw.

    ``reference`` holds features, ``label`` and ``split``; the synthesizer was fitted on the
    de-duplicated training rows. ``rows`` fresh rows are drawn. Quality (SDMetrics) compares
    as many synthetic rows as there are training rows (at most ``rows``) with the hold-out rows
    only; the ceiling is the real training rows against the same hold-out rows (same sizes).
    TSTR trains on that many synthetic rows and on the real training rows, and tests both on the
    hold-out rows.
    """
    real = spec.distinct_rows(reference).reset_index(drop=True)
    train = real[real["split"] == "train"].reset_index(drop=True)
    holdout = real[real["split"] == "test"].reset_index(drop=True)
    batch = synthesizer.sample(rows, seed=seed)
    synthetic = batch.frame
    scored = min(len(train), len(synthetic))
    syn_scored = synthetic.iloc[:scored]
    real_scored = train.sample(n=scored, random_state=seed) if scored < len(train) else train
    quality = sdmetrics_scores(spec, holdout, syn_scored)
    ceiling = sdmetrics_scores(spec, holdout, real_scored)
    times = sampling_times(synthesizer, seed)
    return FidelityReport(
        protocol="fitted on the training rows, scored against the hold-out rows only",
        rows_sampled=len(synthetic),
        rows_scored=scored,
        real_rows=len(real),
        train_rows=len(train),
        holdout_rows=len(holdout),
        **dict(quality),
        ceiling=Ceiling(
            what=f"{scored} real training rows against the same {len(holdout)} hold-out rows",
            quality=ceiling.quality,
            column_shapes=ceiling.column_shapes,
            column_pair_trends=ceiling.column_pair_trends,
        ),
        quality_vs_ceiling=quality.quality / ceiling.quality if ceiling.quality else None,
        novelty=novelty(spec, train, syn_scored, holdout),
        invalid_share_before_resampling=batch.invalid_share,
        invalid_by_field=batch.invalid_by_field,
        copy_share_before_resampling=batch.copy_share,
        invalid_rows_kept=int((~spec.valid_mask(synthetic)).sum()),
        copies_kept=int(
            synthetic[spec.feature_names].merge(real[spec.feature_names].drop_duplicates(), how="inner").shape[0]
        ),
        outside_real_range_share=outside_real_range(spec, train, synthetic),
        label_distribution=label_distribution(spec, train, synthetic),
        tstr=tstr(spec, synthetic, train, holdout, seed=seed, trees=trees),
        sample_1_ms=times["sample_1_ms"],
        sample_1000_ms=times["sample_1000_ms"],
        fit_seconds=fit_seconds,
    )


# The selection rule reads reports as the registry stores them (JSON, some from older versions of
# the report), hence plain mappings and ``.get`` below.
def usefulness(report: dict[str, Any]) -> float:
    """Train-on-synthetic against train-on-real as one number in (0, 1]: 1 = as good as real rows."""
    t = report.get("tstr") or {}
    real, syn = t.get("train_on_real"), t.get("train_on_synthetic")
    if not real or not syn:
        return 0.0
    return float(min(1.0, syn / real if GREATER_IS_BETTER[t["metric"]] else real / syn))


def selection_score(report: dict[str, Any]) -> float:
    """Quality relative to the real-vs-real ceiling and usefulness (TSTR), weighed equally."""
    q = report.get("quality_vs_ceiling")
    if q is None:  # a report from before hold-out scoring: no comparable figure
        return 0.0
    return (min(float(q), 1.0) + usefulness(report)) / 2


def eligible(report: dict[str, Any]) -> bool:
    """Faithful grades/varieties (within x1.5) and novel rows (no closer to the training rows
    than real hold-out rows are, within 5% for sampling noise)."""
    labels_ok = bool(report.get("label_distribution", {}).get("within_limit"))
    ratio = (report.get("novelty") or {}).get("ratio")
    return labels_ok and ratio is not None and ratio >= NOVELTY_TOLERANCE


def rank_key(report: dict[str, Any]) -> tuple[int, float]:
    """Order of preference: eligible first (faithful labels, novel rows), then the selection
    score (quality against its ceiling and train-on-synthetic usefulness, weighed equally)."""
    return (1 if eligible(report) else 0, selection_score(report))


def _describe(report: dict[str, Any]) -> str:
    q = report.get("quality_vs_ceiling")
    novelty_ratio = (report.get("novelty") or {}).get("ratio")
    return (
        f"score {selection_score(report):.3f} (quality {report.get('quality', 0.0):.3f}"
        + (f" = {q:.3f} of the real ceiling" if q is not None else "")
        + f", TSTR usefulness {usefulness(report):.3f}"
        + (f", novelty x{novelty_ratio:.2f}" if novelty_ratio is not None else "")
        + ")"
    )


def choose_default(candidate: dict[str, Any], current: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether a new synthesizer's report beats the current default's, and why (in words)."""
    if current is None:
        return True, f"no default yet; {_describe(candidate)}"
    ok, current_ok = eligible(candidate), eligible(current)
    if ok and not current_ok:
        return True, f"eligible (faithful labels, novel rows) where the default is not; {_describe(candidate)}"
    if not ok and current_ok:
        why = (
            "label distribution outside x1.5 of the real one"
            if not candidate.get("label_distribution", {}).get("within_limit")
            else "rows closer to the training rows than real hold-out rows are"
        )
        return False, f"{why} (the default's is fine); {_describe(candidate)}"
    if selection_score(candidate) > selection_score(current):
        return True, f"higher {_describe(candidate)} than the default's {selection_score(current):.3f}"
    return False, f"{_describe(candidate)} does not beat the default's {selection_score(current):.3f}"
