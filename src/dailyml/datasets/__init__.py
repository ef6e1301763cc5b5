"""The registered dataset specs. Adding a dataset means adding a spec here, nothing else."""

from __future__ import annotations

from dailyml.datasets.base import (
    Constraint,
    DatasetSpec,
    Feature,
    ReferenceDataError,
    frame_hash,
    row_hash,
    sha256_file,
)
from dailyml.datasets.iris import IRIS
from dailyml.datasets.wine import WINE

SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in (IRIS, WINE)}
DATASET_NAMES: tuple[str, ...] = tuple(SPECS)


class UnknownDatasetError(KeyError):
    """A dataset name that no spec is registered for."""


def get_spec(name: str) -> DatasetSpec:
    """The spec registered under ``name``."""
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownDatasetError(name) from None


__all__ = [
    "DATASET_NAMES",
    "SPECS",
    "Constraint",
    "DatasetSpec",
    "Feature",
    "ReferenceDataError",
    "UnknownDatasetError",
    "frame_hash",
    "get_spec",
    "row_hash",
    "sha256_file",
]
