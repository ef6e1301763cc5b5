"""Tables shaped from API answers for display."""

from __future__ import annotations

from typing import Any

# The headline measures of a synthesizer's fidelity report (the generator's ``metrics``), in order.
FIDELITY_MEASURES = (
    ("SDMetrics quality", ("quality",), "{:.1%}"),
    ("real vs real ceiling", ("ceiling", "quality"), "{:.1%}"),
    ("novelty (distance ratio to hold-out)", ("novelty", "ratio"), "{:.2f}"),
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


# What ``dailyml evaluate`` (or training's cross-validation) measured, by task, in display order.
_EVALUATED = {
    "classification": (("accuracy", "accuracy", "{:.1%}"), ("macro_f1", "macro-F1", "{:.3f}")),
    "regression": (("exact_accuracy", "exact grade", "{:.1%}"), ("mse", "MSE", "{:.3f}"), ("mae", "MAE", "{:.3f}")),
}


def evaluated_figures(task: str, models: dict[str, Any]) -> str | None:
    """One line with the champion's offline figures, for display next to the live metrics.

    ``models`` is the predictor's ``GET /{dataset}/models`` answer. The figures recorded by
    ``dailyml evaluate --record`` are preferred; without them, training's cross-validation of the
    chosen candidate. None when there is no champion or it carries neither.
    """
    champion = next((v for v in models.get("versions", []) if v.get("version") == models.get("champion")), None)
    if champion is None:
        return None
    metrics = champion.get("metrics") or {}
    evaluation = metrics.get("evaluation")
    if evaluation:
        figures, where = evaluation, f"dailyml evaluate, {evaluation.get('protocol', {}).get('scheme', '')}"
    else:
        chosen = (metrics.get("candidates") or {}).get(metrics.get("chosen"), {})
        figures, where = chosen.get("cv") or {}, f"training CV, {(chosen.get('cv') or {}).get('scheme', '')}"
    parts = [
        f"{label} {fmt.format(figures[key])}"
        for key, label, fmt in _EVALUATED[task]
        if isinstance(figures.get(key), float)
    ]
    if not parts:
        return None
    return f"Champion v{champion['version']} offline ({where}): " + " · ".join(parts)
