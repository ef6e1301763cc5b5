"""Tables shaped from API answers for display."""

from __future__ import annotations

from typing import Any

# The headline measures of a synthesizer's fidelity report (the generator's ``metrics``), in order.
FIDELITY_MEASURES = (
    ("SDMetrics quality", ("quality",), "{:.1%}"),
    ("column shapes", ("column_shapes",), "{:.1%}"),
    ("column pair trends", ("column_pair_trends",), "{:.1%}"),
    ("diagnostic", ("diagnostic",), "{:.1%}"),
    ("rows outside the real range", ("outside_real_range_share",), "{:.1%}"),
    ("worst label share ratio", ("label_distribution", "worst_ratio"), "{:.2f}"),
    ("train on synthetic (test on real)", ("tstr", "train_on_synthetic"), "{:.3f}"),
    ("train on real (same test)", ("tstr", "train_on_real"), "{:.3f}"),
)


def _dig(report: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = report
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def fidelity_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The headline measures present in a fidelity report, formatted."""
    rows = []
    for name, path, fmt in FIDELITY_MEASURES:
        value = _dig(report, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if path[0] == "tstr":
                name = f"{name}: {report['tstr'].get('metric', '')}"
            rows.append({"measure": name, "value": fmt.format(value)})
    return rows
