"""Data drift of each dataset's recent inputs against its reference training rows (dailyml.drift)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from dailyml.contracts import DriftReport
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.drift import DEFAULT_BINS, WINDOW_HELP, WINDOW_PATTERN, drift_report
from dailyml.vocab import SampleSource
from services.predictor.deps import EngineDep


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}", tags=[spec.name])

    # A plain `def`: the aggregate queries and the arithmetic run in the threadpool.
    def drift(
        engine: EngineDep,
        window: str = Query("24h", description=WINDOW_HELP, pattern=WINDOW_PATTERN),
        source: Literal["online", "synthetic"] | None = Query(
            None, description="Only online requests or only synthetic samples; both when absent."
        ),
        bins: int = Query(DEFAULT_BINS, ge=2, le=20, description="Quantile bins of numeric features (at most)."),
    ) -> DriftReport:
        sources: tuple[SampleSource, ...] = (source,) if source else ("online", "synthetic")
        return drift_report(engine, spec, window, sources=sources, bins=bins)

    router.add_api_route(
        "/drift",
        drift,
        methods=["GET"],
        response_model=DriftReport,
        summary="Per feature, PSI and a chi-square test of the recent inputs against the reference training rows",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]
