"""Training challengers in the background, and the jobs that do it."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from dailyml.background_jobs import Progress, get_job, list_jobs
from dailyml.challenger import train_challenger
from dailyml.contracts import JobAccepted, JobOut, TrainingOutcome, TrainRequest
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.web import error_responses
from services.predictor.deps import AdminDep, EngineDep, JobsDep, RegistryDep, SettingsDep

router = APIRouter(tags=["jobs"])


def _train_body(spec: DatasetSpec, request: TrainRequest, engine: Any, registry: Any, settings: Any) -> Any:
    def body(progress: Progress) -> TrainingOutcome:
        return train_challenger(
            engine,
            registry,
            spec,
            settings,
            include_synthetic=request.include_synthetic,
            profile=request.profile,
            progress=lambda done, total, message: progress(done / max(total, 1), message),
        )

    return body


def router_for(spec: DatasetSpec) -> APIRouter:
    r = APIRouter(prefix=f"/{spec.name}/models", tags=[spec.name])

    def start_training(
        body: TrainRequest, engine: EngineDep, registry: RegistryDep, settings: SettingsDep, jobs: JobsDep
    ) -> JSONResponse:
        job = jobs.submit("train", spec.name, body.model_dump(), _train_body(spec, body, engine, registry, settings))
        return JSONResponse(
            status_code=202, content=JobAccepted(job_id=job.id, status=job.status).model_dump(mode="json")
        )

    r.add_api_route(
        "/train",
        start_training,
        methods=["POST"],
        status_code=202,
        dependencies=[AdminDep],
        summary="Train a challenger in the background (not promoted); returns a job id",
    )
    return r


@router.get("/jobs/{job_id}", response_model=JobOut, responses=error_responses(404))
def job_status(job_id: uuid.UUID, engine: EngineDep) -> JobOut:
    """Status, progress, result or error of a background job."""
    return JobOut.model_validate(get_job(engine, job_id), from_attributes=True)


@router.get("/jobs", response_model=list[JobOut])
def jobs_list(engine: EngineDep, dataset: str | None = None, limit: int = Query(50, ge=1, le=500)) -> list[JobOut]:
    return [JobOut.model_validate(j, from_attributes=True) for j in list_jobs(engine, dataset=dataset, limit=limit)]


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()] + [router]
