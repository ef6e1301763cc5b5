"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dailyml.web import READINESS_RESPONSES, database_status, readiness
from services.generator.deps import EngineDep, RegistryDep, SynthesizersDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses=READINESS_RESPONSES)
def readyz(engine: EngineDep, synthesizers: SynthesizersDep, registry: RegistryDep) -> JSONResponse:
    """503 until the database answers and every dataset's default synthesizer is loaded; 503
    ``degraded`` while a default the registry names could not be loaded (``degraded_synthesizers``
    says which version and why) and the previous one is used."""
    checks: dict[str, object] = {"database": database_status(engine)}
    loaded = synthesizers.loaded()
    checks["synthesizers"] = loaded
    checks["missing_synthesizers"] = [d for d in synthesizers.datasets if d not in loaded]
    degraded = synthesizers.degraded()
    checks["degraded_synthesizers"] = degraded
    if synthesizers.last_error:
        checks["synthesizer_error"] = synthesizers.last_error
    checks["artifact_signing"] = "on" if registry.signs else "off"
    return readiness(
        checks, database_ok=checks["database"] == "ok", loaded_all=synthesizers.ready, degraded=bool(degraded)
    )
