"""History, true labels, confusion matrices and metrics over time, per dataset."""

import uuid
from typing import Any

from fastapi import APIRouter, Query

from dailyml import featurestore, monitoring
from dailyml.contracts import MAX_DB_INT, ActualOut, ConfusionMatrix, HistoryPage, MetricsSeries, SpecOut, actual_model
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.errors import InvalidInputError, NotFoundError
from dailyml.vocab import Bucket, SampleSource
from dailyml.web import error_responses
from services.predictor.deps import AdminDep, EngineDep, LogDep


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}", tags=[spec.name])
    ActualIn = actual_model(spec.name)

    def history(
        engine: EngineDep,
        limit: int = Query(50, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_DB_INT),
        source: SampleSource | None = None,
    ) -> HistoryPage:
        return monitoring.history(engine, spec, limit=limit, offset=offset, source=source)

    def record_actual(
        prediction_id: uuid.UUID,
        body: ActualIn,  # type: ignore[valid-type]
        engine: EngineDep,
        log: LogDep,
    ) -> ActualOut:
        try:
            label = spec.label_from_api(body.actual)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise InvalidInputError(
                f"actual: {exc}", [{"field": "actual", "loc": ["actual"], "rule": "label", "message": str(exc)}]
            ) from None
        try:
            return featurestore.set_actual(engine, spec, prediction_id, label)
        except NotFoundError:
            # Answered but maybe not yet written by the prediction log (it batches every few
            # 100 ms): write it now if still queued (or landing meanwhile), then look again.
            log.write_through(prediction_id)
            return featurestore.set_actual(engine, spec, prediction_id, label)

    def confusion_matrix(
        engine: EngineDep,
        model_version: int | None = Query(None, ge=1, le=MAX_DB_INT),
        source: SampleSource | None = None,
    ) -> ConfusionMatrix:
        return monitoring.confusion_matrix(engine, spec, model_version=model_version, source=source)

    def metrics(
        engine: EngineDep,
        bucket: Bucket = "day",
        model_version: int | None = Query(None, ge=1, le=MAX_DB_INT),
        source: SampleSource | None = None,
        limit: int = Query(366, ge=1, le=5000),
    ) -> MetricsSeries:
        return monitoring.metrics_over_time(
            engine, spec, bucket=bucket, model_version=model_version, source=source, limit=limit
        )

    def describe(engine: EngineDep) -> SpecOut:
        return monitoring.described_spec(engine, spec)

    def random_sample(engine: EngineDep, source: SampleSource = "reference") -> dict[str, Any]:
        sample = featurestore.random_sample(engine, spec, source)
        if sample is None:
            raise NotFoundError(f"the feature store has no {source} {spec.name} samples")
        return {"sample_id": sample.id, "features": sample.features, spec.target: spec.label_to_api(sample.label)}

    router.add_api_route(
        "/history",
        history,
        methods=["GET"],
        response_model=HistoryPage,
        summary="Predictions, newest first, with features, predicted and actual",
    )
    router.add_api_route(
        "/predictions/{prediction_id}/actual",
        record_actual,
        methods=["POST"],
        response_model=ActualOut,
        dependencies=[AdminDep],
        responses=error_responses(404, 409),
        summary="Record the true label of a prediction's sample",
    )
    router.add_api_route(
        "/confusion-matrix",
        confusion_matrix,
        methods=["GET"],
        response_model=ConfusionMatrix,
        summary="Rows actual, columns predicted; every label of the dataset",
    )
    router.add_api_route(
        "/metrics",
        metrics,
        methods=["GET"],
        response_model=MetricsSeries,
        summary="Accuracy (and MAE for regression) per time bucket",
    )
    router.add_api_route(
        "/spec",
        describe,
        methods=["GET"],
        response_model=SpecOut,
        summary="Features, units, valid ranges and reference statistics",
    )
    router.add_api_route(
        "/samples/random",
        random_sample,
        methods=["GET"],
        responses=error_responses(404),
        summary="One random stored sample (features and label)",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]
