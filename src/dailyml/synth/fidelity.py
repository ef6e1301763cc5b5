"""The fidelity report of a fitted synthesizer: how close its rows are to the real ones.

Scored on a fresh sample against the de-duplicated reference rows:
- SDMetrics quality (column shapes, column pair trends, overall) and diagnostic score (SDV 2);
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
from typing import Any

import numpy as np
import pandas as pd

from dailyml.datasets import DatasetSpec
from dailyml.synth.base import Synthesizer

# The label distribution counts as faithful when every real label's synthetic share is within
# this factor of its real share (the target for wine grades).
LABEL_RATIO_LIMIT = 1.5


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


def tstr(
    spec: DatasetSpec,
    synthetic: pd.DataFrame,
    real_train: pd.DataFrame,
    real_test: pd.DataFrame,
    *,
    seed: int,
    trees: int,
) -> dict[str, Any]:
    """Train-on-synthetic/test-on-real versus train-on-real, on the same real test rows."""
    metric = "mse" if spec.task == "regression" else "accuracy"
    synthetic = synthetic.iloc[: len(real_train)]
    on_real = _score(spec, _fit_model(spec, real_train, seed, trees), real_test)
    on_synthetic = _score(spec, _fit_model(spec, synthetic, seed, trees), real_test)
    return {
        "metric": metric,
        "greater_is_better": metric != "mse",
        "model": "random_forest_regressor" if spec.task == "regression" else "logistic_regression",
        "train_rows": len(real_train),
        "test_rows": len(real_test),
        "train_on_real": on_real,
        "train_on_synthetic": on_synthetic,
        "synthetic_single_label": _single_label(spec, synthetic),
        # >1 means the synthetic-trained model is worse (MSE up, accuracy down).
        "ratio": (on_synthetic / on_real if metric == "mse" else on_real / on_synthetic)
        if min(on_real, on_synthetic) > 0
        else None,
    }


def _evaluation_frame(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[[*spec.feature_names, "label"]].copy()
    out["label"] = out["label"].astype(str)
    return out.reset_index(drop=True)


def sdmetrics_scores(spec: DatasetSpec, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """SDMetrics quality and diagnostic scores (label as a categorical column)."""
    from sdv.evaluation import evaluate_quality, run_diagnostic

    from dailyml.synth.sdv_models import sdv_metadata

    metadata = sdv_metadata(spec)
    real_e, syn_e = _evaluation_frame(spec, real), _evaluation_frame(spec, synthetic)
    quality = evaluate_quality(real_e, syn_e, metadata, verbose=False)
    properties = quality.get_properties().set_index("Property")["Score"]
    shapes = quality.get_details("Column Shapes")
    diagnostic = run_diagnostic(real_e, syn_e, metadata, verbose=False)
    return {
        "quality": float(quality.get_score()),
        "column_shapes": float(properties["Column Shapes"]),
        "column_pair_trends": float(properties["Column Pair Trends"]),
        "diagnostic": float(diagnostic.get_score()),
        "column_shape_by_column": {
            str(r["Column"]).replace("label", spec.target): round(float(r["Score"]), 4) for _, r in shapes.iterrows()
        },
    }


def label_distribution(spec: DatasetSpec, real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, Any]:
    """Share of each label in the real and synthetic rows, and their ratio for every real label."""
    real_share = real["label"].astype(str).value_counts(normalize=True)
    syn_share = synthetic["label"].astype(str).value_counts(normalize=True)
    labels = [x for x in spec.labels if x in real_share.index or x in syn_share.index]
    ratio = {x: float(syn_share.get(x, 0.0) / real_share[x]) for x in labels if x in real_share.index}
    worst = max(ratio.values(), key=lambda r: max(r, 1 / r) if r > 0 else float("inf"))
    return {
        "labels": labels,
        "real": {x: float(real_share.get(x, 0.0)) for x in labels},
        "synthetic": {x: float(syn_share.get(x, 0.0)) for x in labels},
        "ratio": ratio,
        "worst_ratio": worst,
        "within_limit": all(1 / LABEL_RATIO_LIMIT <= r <= LABEL_RATIO_LIMIT for r in ratio.values()),
        "limit": LABEL_RATIO_LIMIT,
    }


def outside_real_range(spec: DatasetSpec, real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Share of synthetic rows with a numeric value outside the range the real rows cover."""
    outside = pd.Series(False, index=synthetic.index)
    for f in spec.numeric_features:
        outside |= (synthetic[f.name] < real[f.name].min()) | (synthetic[f.name] > real[f.name].max())
    return float(outside.mean())


def sampling_times(synthesizer: Synthesizer, seed: int) -> dict[str, float]:
    """Milliseconds to sample 1 row (median of 5) and 1,000 rows, spec checks included."""
    ones = []
    for i in range(5):
        started = time.perf_counter()
        synthesizer.sample(1, seed=seed + i)
        ones.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    synthesizer.sample(1000, seed=seed)
    return {"sample_1_ms": float(np.median(ones)), "sample_1000_ms": (time.perf_counter() - started) * 1000}


def fidelity_report(
    spec: DatasetSpec,
    synthesizer: Synthesizer,
    reference: pd.DataFrame,
    *,
    rows: int = 6000,
    seed: int = 42,
    trees: int = 100,
    fit_seconds: float | None = None,
) -> dict[str, Any]:
    """Score ``synthesizer`` on ``rows`` fresh rows against the de-duplicated ``reference`` rows
    (features, ``label``, ``split``; the test split is the hold-out of the TSTR comparison)."""
    columns = [*spec.feature_names, "label"]
    real = reference.drop_duplicates(subset=columns).reset_index(drop=True)
    batch = synthesizer.sample(rows, seed=seed)
    synthetic = batch.frame
    train = real[real["split"] == "train"] if "split" in real else real
    test = real[real["split"] == "test"] if "split" in real else real
    report: dict[str, Any] = {
        "rows_scored": len(synthetic),
        "real_rows": len(real),
        **sdmetrics_scores(spec, real, synthetic),
        "invalid_share_before_resampling": batch.invalid_share,
        "invalid_by_field": batch.invalid_by_field,
        "copy_share_before_resampling": batch.copy_share,
        "invalid_rows_kept": int((~spec.valid_mask(synthetic)).sum()),
        "copies_kept": int(
            synthetic[spec.feature_names].merge(real[spec.feature_names].drop_duplicates(), how="inner").shape[0]
        ),
        "outside_real_range_share": outside_real_range(spec, real, synthetic),
        "label_distribution": label_distribution(spec, real, synthetic),
        "tstr": tstr(spec, synthetic, train, test, seed=seed, trees=trees),
        **sampling_times(synthesizer, seed),
    }
    if fit_seconds is not None:
        report["fit_seconds"] = fit_seconds
    return report


def rank_key(report: dict[str, Any]) -> tuple[int, float]:
    """Order of preference: faithful label distribution first, then SDMetrics overall quality."""
    return (1 if report.get("label_distribution", {}).get("within_limit") else 0, float(report.get("quality", 0.0)))


def choose_default(candidate: dict[str, Any], current: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether a new synthesizer's report beats the current default's, and why (in words)."""
    q = candidate.get("quality", 0.0)
    labels_ok = candidate.get("label_distribution", {}).get("within_limit", False)
    if current is None:
        return True, f"no default yet; quality {q:.3f}"
    cq = current.get("quality", 0.0)
    c_ok = current.get("label_distribution", {}).get("within_limit", False)
    if rank_key(candidate) > rank_key(current):
        if labels_ok and not c_ok:
            return True, (
                f"label distribution within x{LABEL_RATIO_LIMIT} of the real one (the default's is not); "
                f"quality {q:.3f} vs {cq:.3f}"
            )
        return True, f"higher SDMetrics quality {q:.3f} > {cq:.3f} of the default"
    if labels_ok or not c_ok:
        return False, f"quality {q:.3f} does not beat the default's {cq:.3f}"
    return False, f"label distribution outside x{LABEL_RATIO_LIMIT} of the real one (the default's is within)"
