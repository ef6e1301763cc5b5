"""Background fit jobs: status, progress, result or error."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from dailyml.background_jobs import get_job
from dailyml.contracts import JobOut
from dailyml.errors import NotFoundError
from dailyml.generation.fitting import FIT_JOB
from dailyml.web import error_responses
from services.generator.deps import EngineDep

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses=error_responses(404),
    summary="A fit job's status, progress and result",
)
def job(job_id: uuid.UUID, engine: EngineDep) -> JobOut:
    row = get_job(engine, job_id)
    if row.kind != FIT_JOB:
        raise NotFoundError(f"no generator job {job_id}")
    return JobOut.model_validate(row, from_attributes=True)
