"""The monitoring dashboard (Streamlit script; ``dailyml serve dashboard`` runs it).

Per dataset (every registered spec, each shown the same way; iris and wine with their own
picture): the latest synthetic sample predicted vs actual, recent predictions (paged),
the confusion matrix, accuracy / MAE over time, synthetic vs reference distributions and the
synthesizer's fidelity, model versions and scheduler runs. Everything comes from the services'
HTTP APIs as aggregates or single pages; the body refreshes itself every few seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from dailyml import clock
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.vocab import BUCKETS
from frontends.common.drawing import grade_scale_svg, picture
from frontends.common.services import ServiceUrls
from frontends.dashboard import charts, data, tables
from frontends.dashboard.drift_panel import drift_panel
from frontends.dashboard.next_run import next_run_hint

PAGE_SIZE = 20
REFRESH_CHOICES = {"every 5 s": 5, "every 10 s": 10, "every 30 s": 30, "off": None}


def _urls() -> ServiceUrls:
    return ServiceUrls.from_env()


def _when(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _unavailable(what: str, fetched: data.Fetched) -> None:
    st.warning(f"{what} not available: {fetched.error}", icon=":material/warning:")


def _empty(urls: ServiceUrls, dataset: str, text: str) -> None:
    """An empty state: what is missing, when the next daily run is due and how to start one now."""
    fetched = data.schedule(urls.scheduler)
    hint = next_run_hint(fetched.value if fetched.ok else None, fetched.error, dataset, clock.now())
    st.info(f"{text}\n\n{hint}", icon=":material/info:")


# -- sections -------------------------------------------------------------------------------------
def headline(urls: ServiceUrls, spec: DatasetSpec) -> None:
    dataset = spec.name
    page = data.history(urls.predictor, dataset, PAGE_SIZE, 0)  # the same call as the table's first page
    cm = data.confusion_matrix(urls.predictor, dataset)
    mv = data.models(urls.predictor, dataset)
    cols = st.columns(4)
    cols[0].metric("Predictions logged", f"{page.value['total']:,}" if page.ok else "–")
    if cm.ok:
        total = cm.value["total"]
        correct = sum(cm.value["matrix"][i][i] for i in range(len(cm.value["labels"])))
        cols[1].metric("With a known true label", f"{total:,}")
        cols[2].metric("Exact accuracy (all time)", f"{correct / total:.1%}" if total else "–")
    else:
        cols[1].metric("With a known true label", "–")
        cols[2].metric("Exact accuracy (all time)", "–")
    cols[3].metric("Champion model", f"v{mv.value['champion']}" if mv.ok and mv.value["champion"] else "–")
    offline = tables.evaluated_figures(spec.task, mv.value) if mv.ok else None
    if offline:
        st.caption(f"Live figures above, from labelled predictions. {offline}")
    if not page.ok:
        st.error(page.error, icon=":material/error:")


def _grade_scale(spec: DatasetSpec, item: dict[str, Any]) -> str | None:
    """A regression prediction's grade on the spec's scale, with its score and the actual grade."""
    if spec.task != "regression" or item["predicted"] is None:
        return None
    grades = [int(label) for label in spec.labels]  # a regression spec's labels are integer grades
    actual = None if item["actual"] is None else int(item["actual"])
    return grade_scale_svg(int(item["predicted"]), item.get("score"), actual, grades=grades)


def _features_table(spec: DatasetSpec, features: dict[str, Any]) -> None:
    """A sample's features by name, for a dataset without a picture of its own."""
    rows = [
        {"feature": f.description + (f" ({f.unit})" if f.unit else ""), "value": str(features.get(f.name, ""))}
        for f in spec.features
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def latest_synthetic(urls: ServiceUrls, spec: DatasetSpec) -> None:
    dataset = spec.name
    st.subheader("Latest synthetic sample")
    page = data.history(urls.predictor, dataset, 1, 0, "synthetic")
    if not page.ok:
        _unavailable("History", page)
        return
    if not page.value["items"]:
        _empty(
            urls,
            dataset,
            "No synthetic sample has been predicted yet. The generator makes them and the daily loop "
            "(scheduler) predicts them.",
        )
        return
    item = page.value["items"][0]
    own_picture = picture(dataset, item["features"])
    left, right = st.columns([1, 1])
    with left:
        if own_picture:
            st.image(own_picture, width="stretch")
        else:
            _features_table(spec, item["features"])
    with right:
        if item["actual"] is None:
            st.badge("true label not known yet", icon=":material/hourglass_empty:", color="gray")
        elif item["correct"]:
            st.badge("correct", icon=":material/check_circle:", color="green")
        else:
            st.badge("wrong", icon=":material/cancel:", color="red")
        actual = "–" if item["actual"] is None else item["actual"]
        st.markdown(
            f"| | {spec.target} |\n|---|---|\n| **predicted** | **{item['predicted']}** |\n| **actual** | {actual} |"
        )
        if item.get("probabilities"):
            probs = item["probabilities"]
            st.caption(" · ".join(f"{k} {v:.0%}" for k, v in sorted(probs.items(), key=lambda kv: -kv[1])))
        st.caption(f"model v{item['model_version']} · predicted {_when(item['created_at'])}")
    scale = _grade_scale(spec, item)
    if scale:  # the grade scale needs the whole width to be readable
        st.image(scale, width="stretch")


def confusion(urls: ServiceUrls, dataset: str) -> None:
    st.subheader("Confusion matrix")
    cm = data.confusion_matrix(urls.predictor, dataset)
    if not cm.ok:
        _unavailable("Confusion matrix", cm)
        return
    if cm.value["total"] == 0:
        _empty(urls, dataset, "No predictions with a known true label yet: the matrix fills in as true labels arrive.")
        return
    st.altair_chart(charts.confusion_heatmap(cm.value), width="content")  # fixed-size cells
    st.caption(f"{cm.value['total']:,} labelled predictions · rows: actual, columns: predicted")


def _metrics_series(urls: ServiceUrls, dataset: str, choice: str) -> tuple[str, data.Fetched]:
    """The metrics per ``choice`` bucket. ``auto`` takes days when there are enough of them to draw
    a line, else hours, else minutes (a fresh install), and weeks past half a year."""
    if choice != "auto":
        return choice, data.metrics(urls.predictor, dataset, choice)
    for bucket in ("day", "hour"):
        series = data.metrics(urls.predictor, dataset, bucket)
        if not series.ok:
            return bucket, series
        points = len(series.value["points"])
        if bucket == "day" and points > 180:
            return "week", data.metrics(urls.predictor, dataset, "week")
        if points >= 5:
            return bucket, series
    return "minute", data.metrics(urls.predictor, dataset, "minute")


def performance(urls: ServiceUrls, spec: DatasetSpec) -> None:
    dataset = spec.name
    title = "Accuracy over time" if spec.task == "classification" else "MAE and exact-grade accuracy over time"
    st.subheader(title)
    choice = st.segmented_control(
        "Bucket", ["auto", *BUCKETS], default="auto", key=f"bucket-{dataset}", label_visibility="collapsed"
    )
    bucket, series = _metrics_series(urls, dataset, choice or "auto")
    if not series.ok:
        _unavailable("Metrics", series)
        return
    points = series.value["points"]
    if not points:
        _empty(urls, dataset, "No labelled predictions yet, so no metrics to plot.")
        return
    st.altair_chart(charts.metrics_chart(points, spec.task), width="stretch")
    st.caption(f"{len(points)} {bucket} buckets · {sum(p['n'] for p in points):,} labelled predictions")


def recent(urls: ServiceUrls, spec: DatasetSpec) -> None:
    dataset = spec.name
    st.subheader("Recent predictions")
    first = data.history(urls.predictor, dataset, PAGE_SIZE, 0)
    if not first.ok:
        _unavailable("History", first)
        return
    total = first.value["total"]
    if total == 0:
        _empty(urls, dataset, "No predictions yet. Try the Gradio app, or let the daily loop run.")
        return
    pages = max(1, -(-total // PAGE_SIZE))
    page_no = st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, key=f"page-{dataset}")
    offset = (int(page_no) - 1) * PAGE_SIZE
    page = first if offset == 0 else data.history(urls.predictor, dataset, PAGE_SIZE, offset)
    if not page.ok:
        _unavailable("History", page)
        return
    rows = []
    for item in page.value["items"]:
        row: dict[str, Any] = {"time": _when(item["created_at"])}
        row.update({f: item["features"].get(f) for f in spec.feature_names})
        row["predicted"] = str(item["predicted"])
        if spec.task == "regression" and item.get("score") is not None:
            row["score"] = round(item["score"], 2)
        row["actual"] = "" if item["actual"] is None else str(item["actual"])
        row["correct"] = {True: "✓", False: "✗", None: ""}[item["correct"]]
        row["model"] = f"v{item['model_version']}"
        row["source"] = item["source"]
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    last = offset + len(rows)
    st.caption(f"rows {offset + 1:,}–{last:,} of {total:,}, newest first")


def synthetic_vs_reference(urls: ServiceUrls, spec: DatasetSpec) -> None:
    dataset = spec.name
    st.subheader("Synthetic vs reference data")
    synths = data.synthesizers(urls.generator, dataset)
    dists = data.distributions(urls.generator, dataset)
    if not synths.ok and not dists.ok:
        st.info(f"Generator not available: {dists.error}", icon=":material/info:")
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        if dists.ok:
            features = dict(dists.value.get("features", {}))
            if dists.value.get("label"):
                features[spec.target] = {"kind": "category", **dists.value["label"]}
            names = list(features)
            if names:
                titles = {f.name: f.description + (f" ({f.unit})" if f.unit else "") for f in spec.features}
                first_number = next((i for i, n in enumerate(names) if features[n].get("kind") == "float"), 0)
                name = st.selectbox(
                    "Feature",
                    names,
                    index=first_number,
                    key=f"dist-{dataset}",
                    format_func=lambda n: titles.get(n, n.replace("_", " ")),
                )
                st.altair_chart(charts.distribution_chart(features[name], titles.get(name, name)), width="stretch")
        else:
            _unavailable("Distributions", dists)
    with right:
        if synths.ok:
            default = synths.value.get("default")
            current = next((v for v in synths.value.get("versions", []) if v.get("version") == default), None)
            if current is None:
                st.info("No default synthesizer yet.", icon=":material/info:")
            else:
                st.markdown(f"**Default synthesizer v{default}** · {current.get('algorithm', '')}")
                report = current.get("metrics", {})
                rows = tables.fidelity_rows(report)
                if rows:
                    st.table(pd.DataFrame(rows).set_index("measure"))
                else:
                    st.caption("This synthesizer has no fidelity report.")
                with st.expander("Full fidelity report"):
                    st.json(report, expanded=False)
        else:
            _unavailable("Synthesizers", synths)


def model_versions(urls: ServiceUrls, dataset: str) -> None:
    st.subheader("Model versions")
    mv = data.models(urls.predictor, dataset)
    if not mv.ok:
        _unavailable("Models", mv)
        return
    rows = []
    for v in sorted(mv.value["versions"], key=lambda v: -v["version"]):
        holdout = v.get("metrics", {}).get("holdout", {})
        row: dict[str, Any] = {
            "version": f"v{v['version']}",
            "champion": "★" if v["version"] == mv.value["champion"] else "",
            "algorithm": v["algorithm"],
            "created": _when(v["created_at"]),
        }
        row.update({f"hold-out {k}": round(x, 4) for k, x in holdout.items() if isinstance(x, int | float)})
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def scheduler_runs(urls: ServiceUrls, dataset: str) -> None:
    st.subheader("Scheduler runs")
    page = data.runs(urls.scheduler, dataset)
    if not page.ok:
        st.info(f"Scheduler not available: {page.error}", icon=":material/info:")
        return
    if not page.value["items"]:
        _empty(urls, dataset, "No scheduler runs yet.")
        return
    status_icon = {"succeeded": "✓", "failed": "✗", "running": "…", "skipped": "–"}
    rows = [
        {
            "job": r["job"],
            "scheduled for": r["scheduled_for"],
            "status": f"{status_icon.get(r['status'], '')} {r['status']}",
            "attempts": r["attempts"],
            "trigger": r["trigger"],
            "counts": ", ".join(
                f"{k} {v}"
                for k, v in (r.get("counts") or {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            ),
            "started": _when(r["started_at"]),
            "finished": _when(r.get("finished_at")),
            "error": r.get("error") or "",
        }
        for r in page.value["items"]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"latest {len(rows)} of {page.value['total']:,} runs")


def body(urls: ServiceUrls, spec: DatasetSpec) -> None:
    headline(urls, spec)
    top_left, top_right = st.columns([6, 5], gap="large")
    with top_left:
        latest_synthetic(urls, spec)
    with top_right:
        confusion(urls, spec.name)
    performance(urls, spec)
    recent(urls, spec)
    drift_panel(urls, spec.name)
    synthetic_vs_reference(urls, spec)
    model_versions(urls, spec.name)
    scheduler_runs(urls, spec.name)
    st.caption(f"updated {datetime.now():%H:%M:%S}")


# -- page -----------------------------------------------------------------------------------------
def main(specs: Mapping[str, DatasetSpec] | None = None) -> None:
    """The page, with a view per dataset of ``specs`` (default: every registered one)."""
    st.set_page_config(page_title="dailyml · monitoring", page_icon=":material/monitoring:", layout="wide")
    specs = SPECS if specs is None else specs
    names = list(specs)
    urls = _urls()
    requested = st.query_params.get("dataset", names[0])
    with st.sidebar:
        st.title("dailyml")
        dataset = st.radio(
            "Dataset",
            names,
            index=names.index(requested) if requested in names else 0,
            format_func=lambda d: specs[d].title,
        )
        refresh = st.selectbox("Refresh", list(REFRESH_CHOICES), index=1)
        st.caption(f"predictor `{urls.predictor}`  \ngenerator `{urls.generator}`  \nscheduler `{urls.scheduler}`")
    st.query_params["dataset"] = dataset
    spec = specs[dataset]
    st.title(f"{spec.title} · monitoring")

    @st.fragment(run_every=REFRESH_CHOICES[refresh])
    def live() -> None:
        body(urls, spec)

    live()


if __name__ == "__main__":  # as Streamlit runs the script; tests import main and pass their specs
    main()
