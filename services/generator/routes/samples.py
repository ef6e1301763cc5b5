"""Generate labelled rows; page through stored samples; compare distributions."""

from __future__ import annotations

from fastapi import APIRouter, Query

from dailyml.contracts.common import MAX_DB_INT
from dailyml.contracts.generator import Distributions, GenerateIn, GenerateOut, SamplesPage
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.generation import store
from dailyml.observability.metrics import SAMPLES_GENERATED
from dailyml.vocab import SampleSource
from dailyml.web import error_responses
from services.generator.deps import AdminDep, EngineDep, SynthesizersDep


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}", tags=[spec.name])

    # Plain `def` routes: sampling and writing take milliseconds of CPU and I/O, run in the
    # threadpool instead of stalling the event loop.
    def generate(body: GenerateIn, engine: EngineDep, synthesizers: SynthesizersDep) -> GenerateOut:
        if body.idempotency_key is not None:
            previous = store.stored_response(engine, spec.name, body.idempotency_key)
            if previous is not None:  # replays work even before a synthesizer is loaded
                return previous
        loaded = synthesizers.get(spec.name)
        result = store.generate(engine, spec, loaded, body.n, body.idempotency_key)
        if not result.replayed:
            SAMPLES_GENERATED.labels(spec.name).inc(result.n)
        return result

    def samples(
        engine: EngineDep,
        source: SampleSource | None = None,
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_DB_INT),
    ) -> SamplesPage:
        total, items = store.list_samples(engine, spec, source=source, limit=limit, offset=offset)
        return SamplesPage(total=total, limit=limit, offset=offset, items=items)

    def distributions(engine: EngineDep, bins: int = Query(20, ge=1, le=200)) -> Distributions:
        return store.distributions(engine, spec, bins)

    router.add_api_route(
        "/generate",
        generate,
        methods=["POST"],
        response_model=GenerateOut,
        dependencies=[AdminDep],
        responses=error_responses(409),
        summary=f"Generate labelled synthetic {spec.name} rows and store them",
    )
    router.add_api_route(
        "/samples",
        samples,
        methods=["GET"],
        response_model=SamplesPage,
        summary="Stored samples, newest first, optionally of one source",
    )
    router.add_api_route(
        "/distributions",
        distributions,
        methods=["GET"],
        response_model=Distributions,
        response_model_exclude_none=True,
        summary="Histograms of each feature and the label: reference against synthetic",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]
