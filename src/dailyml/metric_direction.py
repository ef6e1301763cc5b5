"""Which way each metric improves, and the one rule that says a score beats another.

Training ranks candidates with it, the assessment checks targets with it, the synthesizer
fidelity report states it, and the scheduler's promotion gate applies it. It imports nothing
beyond the standard library, so the scheduler (which trains nothing) uses it without loading
scikit-learn or numpy; a test keeps it that way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

# Whether a larger value of a metric is better, for every metric dailyml.evaluation computes.
GREATER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "macro_f1": True,
    "exact_accuracy": True,
    "within_one_accuracy": True,
    "mse": False,
    "mae": False,
}


def is_better(candidate: float, reference: float, *, greater_is_better: bool, margin: float = 0.0) -> bool:
    """True when ``candidate`` beats ``reference`` by more than ``margin`` in the metric's direction."""
    if greater_is_better:
        return candidate > reference + margin
    return candidate < reference - margin


def reaches(value: float, target: float, *, greater_is_better: bool) -> bool:
    """True when ``value`` is at least as good as ``target`` (the target does not beat it)."""
    return not is_better(target, value, greater_is_better=greater_is_better)


def best(items: Iterable[T], score: Callable[[T], float], *, greater_is_better: bool) -> T:
    """The item with the best score (the first of equals); ValueError when ``items`` is empty."""
    return max(items, key=score) if greater_is_better else min(items, key=score)
