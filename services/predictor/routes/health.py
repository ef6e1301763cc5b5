"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dailyml.web import READINESS_RESPONSES, database_status, readiness
from services.predictor.deps import EngineDep, LogDep, ModelsDep, RegistryDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses=READINESS_RESPONSES)
def readyz(engine: EngineDep, models: ModelsDep, log: LogDep, registry: RegistryDep) -> JSONResponse:
    """503 until the database answers and every dataset's champion is loaded; 503 ``degraded``
    while a champion the registry names could not be loaded (``degraded_models`` says which
    version and why) and the previous one is served."""
    checks: dict[str, object] = {"database": database_status(engine)}
    checks["models"] = models.loaded()
    checks["missing_models"] = [d for d in models.datasets if d not in models.loaded()]
    degraded = models.degraded()
    checks["degraded_models"] = degraded
    if models.last_error:
        checks["model_error"] = models.last_error
    checks["artifact_signing"] = "on" if registry.signs else "off"
    checks["prediction_log"] = {
        "pending": log.pending,
        "written": log.written,
        "dropped": log.dropped,
        "refused": log.refused,
        "mode": log.mode,
    }
    return readiness(checks, database_ok=checks["database"] == "ok", loaded_all=models.ready, degraded=bool(degraded))
