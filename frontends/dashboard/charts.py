"""Altair charts of the monitoring aggregates: confusion matrix, metrics over time, distributions."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd


def confusion_frame(cm: dict[str, Any]) -> pd.DataFrame:
    """One row per (actual, predicted) cell, every label included, with the row share."""
    labels = [str(x) for x in cm["labels"]]
    rows = []
    for i, actual in enumerate(labels):
        row_total = sum(cm["matrix"][i])
        for j, predicted in enumerate(labels):
            n = cm["matrix"][i][j]
            rows.append(
                {
                    "actual": actual,
                    "predicted": predicted,
                    "count": n,
                    "share of actual": n / row_total if row_total else 0.0,
                }
            )
    return pd.DataFrame(rows)


def confusion_heatmap(cm: dict[str, Any]) -> alt.LayerChart:
    """Rows actual, columns predicted; colour is the share of the actual class, text the count."""
    frame = confusion_frame(cm)
    order = [str(x) for x in cm["labels"]]
    base = alt.Chart(frame).encode(
        x=alt.X(
            "predicted:N", sort=order, title="predicted", axis=alt.Axis(labelAngle=0, labelOverlap=False, labelLimit=0)
        ),
        y=alt.Y("actual:N", sort=order, title="actual"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "share of actual:Q",
            scale=alt.Scale(scheme="purples", domain=[0, 1]),
            legend=alt.Legend(format="%", orient="bottom", gradientLength=200),
        ),
        tooltip=["actual", "predicted", "count", alt.Tooltip("share of actual:Q", format=".0%")],
    )
    text = base.mark_text(fontSize=13).encode(
        text="count:Q",
        color=alt.condition(alt.datum["share of actual"] > 0.55, alt.value("white"), alt.value("#222")),
    )
    # A fixed band size: a layered chart does not stretch its discrete axis to the container.
    step = max(36, 240 // max(1, len(order)))
    return (cells + text).properties(height=alt.Step(step), width=alt.Step(step))


def metrics_frame(points: list[dict[str, Any]], task: str) -> pd.DataFrame:
    """Long format: one row per bucket and measure (accuracy; for regression also MAE and within-one)."""
    measures = (
        {"accuracy": "accuracy"}
        if task == "classification"
        else {
            "accuracy": "exact-grade accuracy",
            "within_one_accuracy": "within one grade",
            "mae": "MAE (grades)",
        }
    )
    rows = []
    for p in points:
        for key, name in measures.items():
            if p.get(key) is not None:
                rows.append({"bucket": p["bucket"], "measure": name, "value": float(p[key]), "n": p["n"]})
    frame = pd.DataFrame(rows, columns=["bucket", "measure", "value", "n"])
    frame["time"] = pd.to_datetime(frame["bucket"], utc=True, errors="coerce")
    return frame


def metrics_chart(points: list[dict[str, Any]], task: str) -> alt.VConcatChart | alt.LayerChart:
    """Accuracy over time (share, 0-1); for wine also MAE on its own scale below."""
    frame = metrics_frame(points, task)
    shares = frame[frame["measure"] != "MAE (grades)"]
    x = alt.X("time:T", title=None)
    tooltip = ["bucket", "measure", alt.Tooltip("value:Q", format=".3f"), "n"]
    accuracy = (
        alt.Chart(shares)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("measure:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=tooltip,
        )
        .properties(height=200 if task != "classification" else 300)
    )
    if task == "classification":
        return accuracy
    mae = (
        alt.Chart(frame[frame["measure"] == "MAE (grades)"])
        .mark_line(point=True, color="#c2410c")
        .encode(x=x, y=alt.Y("value:Q", title="MAE (grades)", scale=alt.Scale(zero=True)), tooltip=tooltip)
        .properties(height=120)
    )
    return alt.vconcat(accuracy, mae)


def distribution_frame(entry: dict[str, Any]) -> pd.DataFrame:
    """Reference and synthetic shares per bin (floats) or per category."""
    if entry.get("kind") == "category" or entry.get("labels"):
        keys = [str(c) for c in entry.get("categories") or entry.get("labels") or []]
    else:
        edges = entry["edges"]
        keys = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
    rows = []
    for source in ("reference", "synthetic"):
        counts = entry.get(source) or [0] * len(keys)
        total = sum(counts)
        for order, (key, n) in enumerate(zip(keys, counts, strict=False)):
            rows.append({"bin": key, "order": order, "source": source, "count": n, "share": n / total if total else 0})
    return pd.DataFrame(rows)


def distribution_chart(entry: dict[str, Any], title: str) -> alt.Chart:
    """Reference and synthetic side by side per bin, as shares so different sizes compare."""
    frame = distribution_frame(entry)
    order = list(dict.fromkeys(frame["bin"]))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", sort=order, title=title, axis=alt.Axis(labelAngle=-40, labelLimit=90)),
            xOffset=alt.XOffset("source:N"),
            y=alt.Y("share:Q", title="share of rows", axis=alt.Axis(format="%")),
            color=alt.Color(
                "source:N",
                scale=alt.Scale(domain=["reference", "synthetic"], range=["#6f5fd8", "#f59e0b"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["source", "bin", "count", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=300)
    )
