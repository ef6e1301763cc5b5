"""Input fields from a dataset's spec as the predictor serves it (``GET /{d}/spec``): labels with
units, valid ranges, sensible steps and the reference median as the default."""

from __future__ import annotations

import math
from typing import Any

from dailyml.contracts import FeatureOut, SpecOut, spec_out
from dailyml.datasets import DatasetSpec


def local_spec(spec: DatasetSpec) -> SpecOut:
    """The spec from the shared core, without reference statistics: field names, units and ranges
    for when the predictor cannot be asked (its ``/spec`` adds the medians)."""
    return spec_out(spec)


def field_label(feature: FeatureOut) -> str:
    """``Sepal length (cm)``: the description with the unit."""
    return f"{feature.description} ({feature.unit})" if feature.unit else feature.description


def _num(value: float) -> str:
    return f"{value:g}"


def range_text(feature: FeatureOut) -> str:
    """The valid range and what the reference data shows, e.g. ``valid > 0 to 30 · data 4.3-7.9``."""
    parts = []
    if feature.minimum is not None or feature.maximum is not None:
        low = "" if feature.minimum is None else ("> " if feature.exclusive_minimum else "") + _num(feature.minimum)
        high = "" if feature.maximum is None else _num(feature.maximum)
        parts.append(f"valid {low} to {high}".replace("  ", " "))
    ref = feature.reference
    if "min" in ref and "max" in ref:
        parts.append(f"data {_num(round(ref['min'], 4))}–{_num(round(ref['max'], 4))}")
    return " · ".join(parts)


def step_for(feature: FeatureOut) -> float:
    """An input step that suits the field's magnitude: 0.01 for 5.1 cm, 0.0001 for 0.05 g/L."""
    median = feature.reference.get("median")
    if not median or median <= 0:
        return 0.01
    exponent = math.floor(math.log10(abs(median))) - 2
    # Density (~0.995 g/cm³) has a narrow valid range and varies in the fourth decimal.
    if feature.maximum is not None and feature.minimum is not None and feature.maximum - feature.minimum < 1:
        exponent -= 1
    return float(10**exponent)


def decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step)))


def default_value(feature: FeatureOut, fallback: Any = None) -> Any:
    """The reference median (numeric) or most common value (categorical); without reference
    statistics ``fallback`` (the spec's example value), else None (a number) or the first choice."""
    ref = feature.reference
    if feature.kind == "category":
        return ref.get("mode") or fallback or (feature.categories[0] if feature.categories else None)
    median = ref.get("median")
    if median is None:
        return fallback
    return round(float(median), decimals(step_for(feature)))


def numeric_features(spec: SpecOut) -> list[FeatureOut]:
    return [f for f in spec.features if f.kind != "category"]


def categorical_features(spec: SpecOut) -> list[FeatureOut]:
    return [f for f in spec.features if f.kind == "category"]
