"""schemathesis hooks for our APIs: the cross-field rules a body's schema can only state as
``x-constraints`` (JSON Schema cannot compare two fields; e.g. free SO2 <= total SO2).

A positive case that breaks one is not valid data, whatever the generator thinks: it is
dropped (negative cases keep it). Loaded by tests/test_openapi_fuzz.py; for the CLI::

    SCHEMATHESIS_HOOKS=tests.support.schemathesis_hooks schemathesis run --checks all URL
"""

from __future__ import annotations

from typing import Any

import schemathesis


def documented_constraints(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Every ``(lower, upper)`` pair the document's schemas declare in ``x-constraints``."""
    schemas = document.get("components", {}).get("schemas", {})
    return [(c["lower"], c["upper"]) for s in schemas.values() for c in s.get("x-constraints", ())]


def breaks(value: Any, constraints: list[tuple[str, str]]) -> bool:
    """Whether ``value`` or an object inside it has ``lower > upper`` for a constraint."""
    if isinstance(value, list):
        return any(breaks(item, constraints) for item in value)
    if not isinstance(value, dict):
        return False
    for lower, upper in constraints:
        low, high = value.get(lower), value.get(upper)
        if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
            return True
    return any(breaks(item, constraints) for item in value.values())


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return True
    constraints = documented_constraints(case.operation.schema.raw_schema)
    return not (constraints and breaks(case.body, constraints))
