"""What a dataset is: the one description every route, table, model and UI is derived from."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pandas loads when frames are used, not with the specs (a light `dailyml serve`)
    import pandas as pd

Task = Literal["classification", "regression"]

# A dataset's name is a URL segment (``/iris/predict``) and part of a table name (``features_iris``).
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ReferenceDataError(RuntimeError):
    """The reference data on disk is missing or is not the file we know (checksum mismatch)."""


@dataclass(frozen=True)
class Feature:
    """One input of a model: name, meaning, unit and the physically valid range.

    The valid range is deliberately wider than what the reference data shows: it rejects
    the impossible (negative lengths, pH 20), not the merely unusual.
    """

    name: str
    description: str
    unit: str = ""
    kind: Literal["float", "category"] = "float"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    categories: tuple[str, ...] = ()

    @property
    def is_categorical(self) -> bool:
        return self.kind == "category"

    def check(self, value: Any) -> str | None:
        """Why ``value`` is not valid for this feature, or None when it is."""
        if self.is_categorical:
            return None if value in self.categories else f"must be one of {list(self.categories)}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        if self.minimum is not None:
            if self.exclusive_minimum and value <= self.minimum:
                return f"must be greater than {self.minimum:g}"
            if not self.exclusive_minimum and value < self.minimum:
                return f"must be greater than or equal to {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be less than or equal to {self.maximum:g}"
        return None


@dataclass(frozen=True)
class Constraint:
    """A rule between two features, ``lower <= upper`` (e.g. free SO2 cannot exceed total SO2)."""

    lower: str
    upper: str

    def check(self, row: Mapping[str, Any]) -> str | None:
        """Why ``row`` breaks the rule, or None when it keeps it."""
        if row[self.lower] > row[self.upper]:
            return f"{self.lower} must not exceed {self.upper}"
        return None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: its features, its target and labels, and how to load its reference rows.

    ``labels`` are stored as strings everywhere (database, confusion matrices); ``label_type``
    says how the API presents them (iris: the variety name; wine: the integer grade).
    ``example`` is one valid row (every feature): the API documentation, the frontends' first
    inputs, the tests and the benchmarks use it instead of hand-typed bodies.

    What a spec cannot express yet: a continuous regression target ("regression" means ordered
    integer grades, scored by MSE and shown rounded), more than one categorical group, text or
    date features, and missing values (every feature is required).
    """

    name: str
    title: str
    task: Task
    target: str
    target_description: str
    labels: tuple[str, ...]
    label_type: type
    features: tuple[Feature, ...]
    loader: Callable[[Path], pd.DataFrame]
    constraints: tuple[Constraint, ...] = ()
    primary_metric: str = "accuracy"
    greater_is_better: bool = True
    group_feature: str | None = None  # report metrics per value of this categorical feature
    extra: dict[str, Any] = field(default_factory=dict)
    example: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ValueError(f"dataset name {self.name!r} must match {NAME_PATTERN.pattern} (a URL and table name)")
        names = self.feature_names
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"{self.name}: feature names must be unique and at least one")
        for name in names:
            if not NAME_PATTERN.match(name):
                raise ValueError(f"{self.name}: feature name {name!r} must match {NAME_PATTERN.pattern}")
        if self.task == "regression" and not all(label.lstrip("-").isdigit() for label in self.labels):
            raise ValueError(f"{self.name}: a regression spec's labels are integer grades, got {self.labels}")
        if self.group_feature is not None and not self.feature(self.group_feature).is_categorical:
            raise ValueError(f"{self.name}: group_feature {self.group_feature!r} must be categorical")
        if not self.example:
            raise ValueError(f"{self.name}: a spec carries one valid example row (example=...)")
        problems = self.validate_row(self.example)
        if problems or set(self.example) != set(names):
            extra = sorted(set(self.example) - set(names))
            raise ValueError(f"{self.name}: the example row is not valid: {problems or {'unknown': extra}}")

    @property
    def example_row(self) -> dict[str, Any]:
        """A fresh copy of the spec's valid example row, in feature order."""
        # A mapping, not a model: keyed by the spec's own feature names (a request body as is).
        return {name: self.example[name] for name in self.feature_names}

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric_features(self) -> list[Feature]:
        return [f for f in self.features if not f.is_categorical]

    @property
    def categorical_features(self) -> list[Feature]:
        return [f for f in self.features if f.is_categorical]

    def feature(self, name: str) -> Feature:
        """The feature called ``name``; KeyError when the dataset has none."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def label_to_api(self, label: str | None) -> Any:
        """A stored label as the API shows it (``'6'`` becomes ``6`` for wine)."""
        return None if label is None else self.label_type(label)

    def label_from_api(self, value: Any) -> str:
        """An API label as stored; raises ValueError when it is not one of the spec's labels."""
        text = str(value)
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        if text not in self.labels:
            raise ValueError(f"must be one of {list(self.label_type(x) for x in self.labels)}")
        return text

    def grade(self, score: float) -> str:
        """The label users see for a regression score: rounded, clipped to the known grades."""
        low, high = self._grade_range
        return str(min(max(round(score), low), high))

    @cached_property
    def hash_columns(self) -> tuple[tuple[str, bool], ...]:
        """Each feature's name and whether it is categorical, in order (for :func:`row_hash`)."""
        return tuple((f.name, f.is_categorical) for f in self.features)

    @cached_property
    def _grade_range(self) -> tuple[int, int]:
        grades = [int(x) for x in self.labels]
        return min(grades), max(grades)

    def validate_row(self, row: Mapping[str, Any]) -> dict[str, str]:
        """Every rule a row breaks, by field; empty when the row is valid."""
        errors: dict[str, str] = {}
        for f in self.features:
            if f.name not in row:
                errors[f.name] = "missing"
                continue
            problem = f.check(row[f.name])
            if problem:
                errors[f.name] = problem
        if not errors:
            for c in self.constraints:
                problem = c.check(row)
                if problem:
                    errors[c.lower] = problem
        return errors

    def valid_mask(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorised ``validate_row``: True for each row of ``frame`` that passes every rule."""
        import pandas as pd

        mask = pd.Series(True, index=frame.index)
        for f in self.features:
            col = frame[f.name]
            if f.is_categorical:
                mask &= col.isin(f.categories)
                continue
            num = pd.to_numeric(col, errors="coerce")
            mask &= num.notna() & num.apply(lambda v: math.isfinite(v) if pd.notna(v) else False)
            if f.minimum is not None:
                mask &= (num > f.minimum) if f.exclusive_minimum else (num >= f.minimum)
            if f.maximum is not None:
                mask &= num <= f.maximum
        for c in self.constraints:
            mask &= pd.to_numeric(frame[c.lower], errors="coerce") <= pd.to_numeric(frame[c.upper], errors="coerce")
        return mask

    def distinct_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` without exact duplicates (same features and label), the first of each kept:
        the one notion of row identity (``row_hash`` hashes the same fields)."""
        return frame.drop_duplicates(subset=[*self.feature_names, "label"], keep="first")

    def load_reference(self, data_dir: Path) -> pd.DataFrame:
        """The reference rows: one column per feature plus ``label`` (str), checked against the spec."""
        frame = self.loader(data_dir)
        frame = frame[[*self.feature_names, "label"]].reset_index(drop=True)
        frame["label"] = frame["label"].astype(str)
        bad = ~self.valid_mask(frame)
        if bad.any():
            raise ReferenceDataError(f"{self.name}: {int(bad.sum())} reference rows break the spec")
        unknown = set(frame["label"]) - set(self.labels)
        if unknown:
            raise ReferenceDataError(f"{self.name}: labels {sorted(unknown)} are not in the spec")
        return frame


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def row_hash(spec: DatasetSpec, row: Mapping[str, Any], *, with_label: bool = False) -> str:
    """A stable hash of a row's features (and label): equal rows, equal hashes, across processes."""
    parts = [str(row[name]) if categorical else repr(float(row[name])) for name, categorical in spec.hash_columns]
    if with_label:
        parts.append(str(row["label"]))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def frame_hash(frame: pd.DataFrame) -> str:
    """A hash of a whole frame's contents and column order: the 'training data hash' of a model."""
    import pandas as pd

    digest = hashlib.sha256("|".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).values.tobytes())
    return digest.hexdigest()
