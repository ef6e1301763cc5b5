"""The one promotion and ranking rule: directions, margins, and an import the scheduler can afford."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from dailyml.datasets import SPECS, DatasetSpec
from dailyml.evaluation import classification_metrics, regression_metrics
from dailyml.metric_direction import GREATER_IS_BETTER, best, is_better, reaches
from dailyml.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("candidate", "reference", "greater", "margin", "expected"),
    [
        (0.9, 0.8, True, 0.05, True),
        (0.9, 0.8, True, 0.2, False),
        (0.5, 0.5, True, 0.0, False),  # a tie does not beat
        (0.5, 0.5, True, -0.01, True),  # a negative margin lets a tie through
        (0.8, 0.9, False, 0.05, True),  # lower is better: 0.8 beats 0.9 by 0.1
        (0.8, 0.9, False, 0.2, False),
        (0.9, 0.8, False, 0.0, False),
        (0.6, 0.4, False, -0.5, True),
    ],
)
def test_is_better_follows_the_direction_and_the_margin(
    candidate: float, reference: float, greater: bool, margin: float, expected: bool
) -> None:
    assert is_better(candidate, reference, greater_is_better=greater, margin=margin) is expected


def test_reaches_accepts_a_value_on_the_target_or_on_its_good_side() -> None:
    assert reaches(0.97, 0.967, greater_is_better=True) and reaches(0.967, 0.967, greater_is_better=True)
    assert not reaches(0.96, 0.967, greater_is_better=True)
    assert reaches(0.40, 0.44, greater_is_better=False) and not reaches(0.45, 0.44, greater_is_better=False)


def test_best_picks_the_first_of_the_best_in_either_direction() -> None:
    scores = {"a": 0.3, "b": 0.1, "c": 0.3, "d": 0.1}
    assert best(scores, scores.__getitem__, greater_is_better=True) == "a"
    assert best(scores, scores.__getitem__, greater_is_better=False) == "b"


def _computed_metrics(spec: DatasetSpec) -> set[str]:
    truth = pd.Series(list(spec.labels))
    if spec.task == "classification":
        report = classification_metrics(spec, truth, truth.to_numpy())
    else:
        report = regression_metrics(spec, truth, truth.astype(float).to_numpy())
    return set(report.figures())


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_metric_has_a_direction_and_the_spec_agrees_with_it(name: str) -> None:
    spec = SPECS[name]
    computed = _computed_metrics(spec)
    assert computed and computed <= set(GREATER_IS_BETTER)
    assert spec.primary_metric in computed
    assert spec.greater_is_better == GREATER_IS_BETTER[spec.primary_metric]


def _loaded(modules: str, candidates: tuple[str, ...]) -> list[str]:
    code = f"import sys, {modules}; print(','.join(m for m in {candidates!r} if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return [m for m in run.stdout.strip().split(",") if m]


def test_the_rule_loads_no_ml_library() -> None:
    assert _loaded("dailyml.metric_direction", ("numpy", "pandas", "sklearn")) == []
    # The scheduler's gate uses it; the scheduler trains nothing and must not load scikit-learn.
    assert _loaded("services.scheduler.scheduled_jobs", ("sklearn", "scipy", "torch", "sdv")) == []
