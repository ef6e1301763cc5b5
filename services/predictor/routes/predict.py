"""Prediction routes, one set per registered dataset spec (the body schema is the spec's)."""

# No `from __future__ import annotations` here: FastAPI must see the body classes built from
# the specs as real objects, not as strings it cannot resolve.

import json
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from dailyml import inference
from dailyml.contracts import (
    PendingResult,
    batch_request_model,
    batch_response_model,
    instance_model,
    prediction_model,
)
from dailyml.datasets import SPECS, DatasetSpec
from services.predictor.deps import AdminDep, EngineDep, LogDep, ModelsDep


def json_bytes(body: Any) -> bytes:
    """An answer's JSON, compact (``fast_path`` sends the same bytes)."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def _json(body: Any) -> Response:
    """The body serialised once, here: FastAPI does not validate a returned Response against the
    route's response model again (the model still documents it; tests check the answers match it)."""
    return Response(json_bytes(body), media_type="application/json")


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}", tags=[spec.name])
    Instance = instance_model(spec.name)
    BatchRequest = batch_request_model(spec.name)

    async def predict(body: Instance, models: ModelsDep, log: LogDep) -> Any:  # type: ignore[valid-type]
        model = models.get(spec.name)
        row = [body.model_dump()]  # type: ignore[attr-defined]
        if model.compiled is not None and model.compiled.inline and not log.synchronous:
            # A compiled one-row predict costs tens of microseconds: cheaper inline on the event
            # loop than a trip through the threadpool.
            return _json(inference.predict_and_record(spec, model, row, log)[0])
        # scikit-learn as fitted costs milliseconds of CPU: run it in the threadpool so it does
        # not stall the event loop.
        return _json((await run_in_threadpool(inference.predict_and_record, spec, model, row, log))[0])

    def predict_batch(body: BatchRequest, models: ModelsDep, log: LogDep) -> Any:  # type: ignore[valid-type]
        model = models.get(spec.name)
        rows = [i.model_dump() for i in body.instances]  # type: ignore[attr-defined]
        predictions = inference.predict_and_record(spec, model, rows, log)
        return _json({"predictions": predictions, "model_version": model.version})

    def predict_pending(
        engine: EngineDep, models: ModelsDep, limit: int = Query(10_000, ge=1, le=100_000)
    ) -> PendingResult:
        """Predict every stored sample that has no prediction yet (the daily loop's step), written
        before returning so the caller can read the results."""
        return inference.predict_pending(engine, spec, models.get(spec.name), limit)

    router.add_api_route(
        "/predict",
        predict,
        methods=["POST"],
        response_model=prediction_model(spec.name),
        summary=f"Predict {spec.target} for one {spec.name} instance",
    )
    router.add_api_route(
        "/predict/batch",
        predict_batch,
        methods=["POST"],
        response_model=batch_response_model(spec.name),
        summary=f"Predict up to 10,000 {spec.name} instances, answers in order",
    )
    router.add_api_route(
        "/predict/pending",
        predict_pending,
        methods=["POST"],
        response_model=PendingResult,
        dependencies=[AdminDep],
        summary="Predict stored samples that have no prediction yet",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]
__all__ = ["routers"]
