"""The registered dataset specs: the built-in iris and wine, then every spec a user brings.

A dataset is one spec (plus its data): nothing else in dailyml names it. Specs come from
  * the built-ins (``dailyml.datasets.iris``, ``dailyml.datasets.wine``);
  * Python entry points in the group ``dailyml.datasets`` (a package that ships a spec), each
    naming a ``DatasetSpec``;
  * ``DAILYML_DATASET_FILES``: paths of Python files or folders of them (``:``-separated), every
    module-level ``DatasetSpec`` of which is registered (a spec kept next to your data, no
    packaging; a folder, e.g. a mounted ConfigMap, contributes its ``*.py`` files by name).
Every process (services, scheduler, frontends, CLI) reads the same variable, so they agree on
the datasets. From a spec alone the system derives the request and response schemas, the feature
table, the training candidates, the synthesizers, the scheduler's jobs and the frontends' views.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path

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

ENTRY_POINT_GROUP = "dailyml.datasets"
FILES_VARIABLE = "DAILYML_DATASET_FILES"


class DatasetRegistrationError(RuntimeError):
    """A spec that cannot be registered: a file that does not load, no spec in it, a name taken twice."""


class UnknownDatasetError(KeyError):
    """A dataset name that no spec is registered for."""


def _specs_in_file(path: Path) -> list[DatasetSpec]:
    """Every module-level ``DatasetSpec`` of the Python file at ``path``, in definition order."""
    if not path.is_file():
        raise DatasetRegistrationError(f"{FILES_VARIABLE}: {path} is not a file")
    module_name = f"dailyml_dataset_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise DatasetRegistrationError(f"{FILES_VARIABLE}: {path} is not a Python file")
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # dataclasses and pickles look their module up by name
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise DatasetRegistrationError(f"{FILES_VARIABLE}: {path} failed to load: {exc!r}") from exc
    found = [value for value in vars(module).values() if isinstance(value, DatasetSpec)]
    if not found:
        raise DatasetRegistrationError(f"{FILES_VARIABLE}: {path} defines no DatasetSpec")
    return found


def _from_entry_points() -> list[DatasetSpec]:
    specs = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        value = point.load()
        if not isinstance(value, DatasetSpec):
            raise DatasetRegistrationError(
                f"entry point {point.name} = {point.value} is a {type(value).__name__}, not a DatasetSpec"
            )
        specs.append(value)
    return specs


def _from_files(value: str) -> list[DatasetSpec]:
    specs: list[DatasetSpec] = []
    for part in value.split(os.pathsep):
        if not part.strip():
            continue
        path = Path(part.strip()).resolve()
        files = sorted(p for p in path.glob("*.py") if not p.name.startswith("_")) if path.is_dir() else [path]
        for file in files:
            specs.extend(_specs_in_file(file))
    return specs


def _register(specs: Iterable[DatasetSpec]) -> dict[str, DatasetSpec]:
    registered: dict[str, DatasetSpec] = {}
    for spec in specs:
        if spec.name in registered and registered[spec.name] is not spec:
            raise DatasetRegistrationError(f"two datasets are named {spec.name!r}")
        registered[spec.name] = spec
    return registered


def discover(files: str | None = None) -> dict[str, DatasetSpec]:
    """The built-in specs, then those of the entry points, then those of ``files`` (by default
    ``DAILYML_DATASET_FILES``), by name."""
    if files is None:
        files = os.environ.get(FILES_VARIABLE, "")
    return _register([IRIS, WINE, *_from_entry_points(), *_from_files(files)])


# Read once per process, when first imported: every route, table and view is built from it.
SPECS: dict[str, DatasetSpec] = discover()
DATASET_NAMES: tuple[str, ...] = tuple(SPECS)


def get_spec(name: str) -> DatasetSpec:
    """The spec registered under ``name``."""
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownDatasetError(name) from None


__all__ = [
    "DATASET_NAMES",
    "ENTRY_POINT_GROUP",
    "FILES_VARIABLE",
    "IRIS",
    "WINE",
    "SPECS",
    "Constraint",
    "DatasetRegistrationError",
    "DatasetSpec",
    "Feature",
    "ReferenceDataError",
    "UnknownDatasetError",
    "discover",
    "frame_hash",
    "get_spec",
    "row_hash",
    "sha256_file",
]
