"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dailyml.web import READINESS_RESPONSES, database_status
from services.predictor.deps import EngineDep, LogDep, ModelsDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses=READINESS_RESPONSES)
def readyz(engine: EngineDep, models: ModelsDep, log: LogDep) -> JSONResponse:
    """503 until the database answers and every dataset's champion is loaded."""
    checks: dict[str, object] = {"database": database_status(engine)}
    checks["models"] = models.loaded()
    checks["missing_models"] = [d for d in models.datasets if d not in models.loaded()]
    if models.last_error:
        checks["model_error"] = models.last_error
    checks["prediction_log"] = {
        "pending": log.pending,
        "written": log.written,
        "dropped": log.dropped,
        "refused": log.refused,
        "mode": log.mode,
    }
    ready = checks["database"] == "ok" and models.ready
    return JSONResponse(
        status_code=200 if ready else 503, content={"status": "ready" if ready else "not_ready", **checks}
    )
