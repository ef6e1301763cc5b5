"""Synthesizers: the algorithms that fit on reference rows and sample labelled rows that pass the
spec, and the fidelity report that measures them.

Named for what it holds: the synthesizers themselves (``base``, ``copula``, ``sdv_models``) and
how faithful they are (``fidelity``). Everything here is a pure function of data frames: it
imports no database, registry, feature store or ``dailyml.generation`` (which fits, registers
and serves them); ``tests/core/test_layers.py`` checks it. The generator's API contracts read
its algorithm names and default epochs. Importing it is cheap: the implementations (scipy, and
SDV/torch for the SDV-backed ones) load when one is built.

Stored artifacts pickle their class under its module; ``base.MOVED_MODULES`` maps the modules
of the former ``dailyml.synth`` package here, so versions registered before the split still load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dailyml.datasets import DatasetSpec

if TYPE_CHECKING:
    from dailyml.synthesizers.base import Synthesizer

# algorithm -> (module, class, the task it needs or None). The order is the order the bench
# and the docs list them in.
ALGORITHMS: dict[str, tuple[str, str, str | None]] = {
    "grade_copula": ("dailyml.synthesizers.copula", "GradeCopula", "regression"),
    "empirical_copula": ("dailyml.synthesizers.copula", "EmpiricalCopula", None),
    "grouped_gaussian_copula": ("dailyml.synthesizers.sdv_models", "GroupedGaussianCopulaSDV", None),
    "gaussian_copula": ("dailyml.synthesizers.sdv_models", "GaussianCopulaSDV", None),
    "ctgan": ("dailyml.synthesizers.sdv_models", "CTGANSDV", None),
    "tvae": ("dailyml.synthesizers.sdv_models", "TVAESDV", None),
    "multivariate_gaussian": ("dailyml.synthesizers.copula", "MultivariateGaussian", "classification"),
}
# The contract's name for the per-variety GaussianCopula (it groups per variety on iris).
ALIASES = {"per_variety_gaussian_copula": "grouped_gaussian_copula"}
EPOCH_ALGORITHMS = ("ctgan", "tvae")
DEFAULT_EPOCHS = 300  # their training epochs when a fit does not say
ARTIFACT_FORMAT = "cloudpickle"


def algorithms_for(spec: DatasetSpec) -> list[str]:
    """The algorithms that apply to ``spec``."""
    return [name for name, (_, _, task) in ALGORITHMS.items() if task is None or spec.task == task]


def canonical(algorithm: str) -> str:
    """The algorithm's registered name (resolving the contract's aliases)."""
    return ALIASES.get(algorithm, algorithm)


def synthesizer_class(algorithm: str) -> type[Synthesizer]:
    """The Synthesizer class of ``algorithm`` (or its alias), importing its module only now."""
    module, name, _ = ALGORITHMS[canonical(algorithm)]
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def build(
    spec: DatasetSpec, algorithm: str, *, seed: int = 42, epochs: int | None = None, **params: Any
) -> Synthesizer:
    """An unfitted synthesizer of ``algorithm`` for ``spec`` (ValueError for an unknown one)."""
    name = canonical(algorithm)
    if name not in algorithms_for(spec):
        raise ValueError(f"unknown algorithm {algorithm!r} for {spec.name}; one of {algorithms_for(spec)}")
    cls = synthesizer_class(name)
    if name in EPOCH_ALGORITHMS:
        return cls(spec.name, seed=seed, epochs=epochs, **params)
    return cls(spec.name, seed=seed, **params)


__all__ = [
    "ALGORITHMS",
    "ALIASES",
    "ARTIFACT_FORMAT",
    "EPOCH_ALGORITHMS",
    "algorithms_for",
    "build",
    "canonical",
    "synthesizer_class",
]
