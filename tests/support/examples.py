"""Valid request bodies for every test: each dataset spec's example row (a setosa and the first
red wine of the reference data), copied so that a test may change its own."""

from __future__ import annotations

from typing import Any

from dailyml.datasets import IRIS, SPECS, WINE

IRIS_OK: dict[str, Any] = IRIS.example_row
WINE_OK: dict[str, Any] = WINE.example_row
BODIES: dict[str, dict[str, Any]] = {name: spec.example_row for name, spec in SPECS.items()}
