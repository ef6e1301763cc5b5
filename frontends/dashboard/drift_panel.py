"""The dashboard's data drift panel: which features of the recent inputs moved away from the
reference training rows (``GET /{dataset}/drift`` of the predictor; see docs/operability.md)."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from frontends.common.services import ServiceUrls
from frontends.dashboard import data

WINDOWS = {"last hour": "1h", "last 24 h": "24h", "last 7 days": "7d", "newest 500": "500"}
DRIFTED, STABLE = "#d62728", "#4c78a8"


@st.cache_data(ttl=data.AGGREGATE_CACHE_SECONDS, show_spinner=False)
def fetch(url: str, dataset: str, window: str) -> data.Fetched:
    return data._ask("predictor", url, "drift", dataset, dataset, window=window)


def psi_frame(report: dict[str, Any]) -> pd.DataFrame:
    """One row per feature: PSI, the chi-square p-value, drifted or not; most drifted first."""
    rows = [
        {
            "feature": f["feature"],
            "PSI": round(f["psi"], 4),
            "chi-square p": f["p_value"],
            "drifted": bool(f["drifted"]),
        }
        for f in report["features"]
    ]
    return pd.DataFrame(rows).sort_values("PSI", ascending=False, kind="stable")


def psi_chart(report: dict[str, Any]) -> alt.LayerChart | alt.FacetChart:
    """PSI per feature as bars (red when drifted) and the threshold as a dashed rule."""
    frame = psi_frame(report)
    frame["state"] = frame["drifted"].map({True: "drifted", False: "stable"})
    order = list(frame["feature"])
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("PSI:Q", title="population stability index"),
            y=alt.Y("feature:N", sort=order, title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=["drifted", "stable"], range=[DRIFTED, STABLE]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["feature", "PSI", alt.Tooltip("chi-square p:Q", format=".2g"), "state"],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [report["psi_threshold"]]}))
        .mark_rule(strokeDash=[4, 4], color="#333")
        .encode(x=alt.X("threshold:Q"))
    )
    return alt.layer(bars, rule).properties(height=alt.Step(26))


def drift_panel(urls: ServiceUrls, dataset: str) -> None:
    """Subheader, window choice, a verdict, PSI per feature and the numbers behind it."""
    with st.container(key=f"drift-panel-{dataset}"):
        st.subheader("Data drift")
        label = st.segmented_control(
            "Window", list(WINDOWS), default="last 24 h", key=f"drift-window-{dataset}", label_visibility="collapsed"
        )
        window = WINDOWS[label or "last 24 h"]
        fetched = fetch(urls.predictor, dataset, window)
        if not fetched.ok:
            st.warning(f"Drift not available: {fetched.error}", icon=":material/warning:")
            return
        report = fetched.value
        n, needed = report["n_window"], report["min_samples"]
        inputs = f"{n:,} online and synthetic inputs ({label}) vs {report['n_reference']:,} reference training rows"
        if n == 0:
            st.info(f"No online or synthetic inputs in this window ({label}).", icon=":material/info:")
            return
        if not report["enough_data"]:
            st.info(
                f"Only {n:,} inputs in this window: drift is judged from {needed:,} on. "
                "PSI is shown, nothing is flagged.",
                icon=":material/info:",
            )
        elif report["drifted"]:
            names = ", ".join(report["drifted_features"])
            st.error(
                f"{len(report['drifted_features'])} of {len(report['features'])} features drifted: {names}",
                icon=":material/trending_up:",
            )
        else:
            st.success(f"No feature drifted (PSI ≤ {report['psi_threshold']:g} for all).", icon=":material/check:")
        st.altair_chart(psi_chart(report), width="stretch")
        st.caption(
            f"{inputs} · PSI over quantile bins of the reference, flagged above {report['psi_threshold']:g} "
            "(dashed line) · chi-square test of the bin counts in the table"
        )
        with st.expander("PSI and chi-square per feature"):
            frame = psi_frame(report)
            frame["drifted"] = frame["drifted"].map({True: "✗ drifted", False: ""})
            st.dataframe(frame, hide_index=True, width="stretch")
