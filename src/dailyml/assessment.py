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
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold
from threadpoolctl import threadpool_limits

from dailyml.datasets import DatasetSpec
from dailyml.evaluation import GREATER_IS_BETTER, evaluate
from dailyml.pipelines import Candidate, candidates, references, servable
from dailyml.training import deduplicate

ProgressFn = Callable[[int, int, str], None]

# The targets, under the full protocol. A figure is "met" when it is on the right side.
TARGETS: dict[str, dict[str, float]] = {
    "wine": {"mse": 0.44, "exact_accuracy": 0.60},
    "iris": {"accuracy": 0.967},
}


@dataclass(frozen=True)
class Protocol:
    n_splits: int
    n_repeats: int
    seed: int = 42

    def describe(self, rows: int, duplicates: int) -> dict[str, Any]:
        return {
            "scheme": f"repeated stratified {self.n_splits}-fold x {self.n_repeats}, seed {self.seed}",
            "n_splits": self.n_splits,
            "n_repeats": self.n_repeats,
            "seed": self.seed,
            "rows": rows,
            "duplicates_dropped": duplicates,
            "deduplicated_before_splitting": True,
        }


FULL = Protocol(5, 3)
QUICK = Protocol(3, 1)


def _no_progress(done: int, total: int, message: str) -> None:
    return None


def evaluation_rows(spec: DatasetSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows the protocol uses: exact duplicates dropped, in a canonical order."""
    data = frame.sort_values([*spec.feature_names, "label"], kind="mergesort")
    return deduplicate(spec, data).reset_index(drop=True)


def _mean_metrics(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    scalars = [k for k, v in per_fold[0].items() if isinstance(v, float)]
    out: dict[str, Any] = {k: float(np.mean([m[k] for m in per_fold])) for k in scalars}
    out.update({f"{k}_std": float(np.std([m[k] for m in per_fold])) for k in scalars})
    if "by_group" in per_fold[0]:
        groups = sorted({g for m in per_fold for g in m["by_group"]})
        out["by_group"] = {
            g: {
                k: float(np.mean([m["by_group"][g][k] for m in per_fold if g in m["by_group"]]))
                for k in scalars
                if k != "n"
            }
            for g in groups
        }
    return out


def serving_cost(spec: DatasetSpec, estimator: Any, rows: pd.DataFrame, calls: int = 300) -> dict[str, Any]:
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
    return {
        "us_per_row": round(float(np.median(times)) * 1e6, 1),
        "mb": round(len(dump_model(estimator)) / 1e6, 3),
        "compiled": loaded.compiled is not None and loaded.compiled.inline,
    }


def _target(spec: DatasetSpec, frame: pd.DataFrame) -> pd.Series:
    return frame["label"] if spec.task == "classification" else frame["label"].astype(int)


def assess(
    spec: DatasetSpec,
    frame: pd.DataFrame,
    *,
    quick: bool = False,
    progress: ProgressFn = _no_progress,
    cost_calls: int = 300,
) -> dict[str, Any]:
    """Cross-validate our candidates and the references under the protocol, measure their cost,
    and report with the champion's figures at the top level (see the module docstring)."""
    protocol = QUICK if quick else FULL
    profile = "fast" if quick else "full"
    data = evaluation_rows(spec, frame)
    ours = [c for c in candidates(spec, profile) if not c.baseline and not c.lab]
    refs = [c for c in candidates(spec, profile) if c.baseline or c.lab] + references(spec, profile)
    entries: list[tuple[Candidate, str]] = [(c, "reference") for c in refs] + [(c, "candidate") for c in ours]
    folds = list(
        RepeatedStratifiedKFold(
            n_splits=protocol.n_splits, n_repeats=protocol.n_repeats, random_state=protocol.seed
        ).split(data[spec.feature_names], data["label"])
    )
    total = len(entries) * (len(folds) + 1)
    done = 0
    X, y = data[spec.feature_names], _target(spec, data)
    results: dict[str, dict[str, Any]] = {}
    # One OpenMP thread for gradient boosting: on a shared machine its spinning threads slow a fit
    # down a hundredfold (measured: 150 s instead of 0.7 s); forests use joblib threads instead.
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for candidate, role in entries:
            per_fold, fit_seconds = [], []
            for i, (fit_idx, val_idx) in enumerate(folds):
                model = clone(candidate.build(protocol.seed))
                started = time.perf_counter()
                model.fit(X.iloc[fit_idx], y.iloc[fit_idx])
                fit_seconds.append(time.perf_counter() - started)
                per_fold.append(evaluate(spec, model, data.iloc[val_idx]))
                done += 1
                progress(done, total, f"{candidate.name} fold {i + 1}/{len(folds)}")
            final = servable(candidate.build(protocol.seed).fit(X, y))
            cost = serving_cost(spec, final, data, calls=cost_calls)
            done += 1
            progress(done, total, f"{candidate.name} cost")
            results[candidate.name] = {
                "role": role,
                "baseline": candidate.baseline,
                "lab": candidate.lab,
                "description": candidate.description,
                "params": candidate.params,
                **_mean_metrics(per_fold),
                "cost": {**cost, "fit_seconds": round(float(np.median(fit_seconds)), 3)},
            }
    sign = 1 if spec.greater_is_better else -1
    champion = max(ours, key=lambda c: sign * results[c.name][spec.primary_metric]).name
    top = results[champion]
    targets = {
        metric: {
            "target": value,
            "value": top[metric],
            "met": top[metric] >= value if GREATER_IS_BETTER[metric] else top[metric] <= value,
        }
        for metric, value in TARGETS.get(spec.name, {}).items()
    }
    return {
        "dataset": spec.name,
        "protocol": protocol.describe(len(data), len(frame) - len(data)),
        "champion": champion,
        "primary_metric": spec.primary_metric,
        **{k: v for k, v in top.items() if k != "role"},
        "targets": targets,
        "targets_apply": not quick,
        "candidates": {name: r for name, r in results.items() if r["role"] == "candidate"},
        "references": {name: r for name, r in results.items() if r["role"] == "reference"},
    }


def headline_keys(spec: DatasetSpec) -> list[str]:
    """The metrics a report shows first for ``spec``."""
    if spec.task == "classification":
        return ["accuracy", "macro_f1"]
    return ["mse", "mae", "exact_accuracy", "within_one_accuracy"]


def recordable(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a report the registry keeps on the champion's version: protocol, figures,
    cost and targets (not every reference)."""
    keep = ("protocol", "champion", "primary_metric", "targets", "targets_apply", "cost", "by_group")
    out = {k: report[k] for k in keep if k in report}
    out.update({k: v for k, v in report.items() if isinstance(v, float)})
    out["references"] = {
        name: {k: v for k, v in r.items() if isinstance(v, float) or k == "by_group"}
        for name, r in report["references"].items()
    }
    return out
