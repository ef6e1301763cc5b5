"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dailyml.web import READINESS_RESPONSES, database_status
from services.generator.deps import EngineDep, SynthesizersDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses=READINESS_RESPONSES)
def readyz(engine: EngineDep, synthesizers: SynthesizersDep) -> JSONResponse:
    """503 until the database answers and every dataset's default synthesizer is loaded."""
    checks: dict[str, object] = {"database": database_status(engine)}
    loaded = synthesizers.loaded()
    checks["synthesizers"] = loaded
    checks["missing_synthesizers"] = [d for d in synthesizers.datasets if d not in loaded]
    if synthesizers.last_error:
        checks["synthesizer_error"] = synthesizers.last_error
    ready = checks["database"] == "ok" and synthesizers.ready
    return JSONResponse(
        status_code=200 if ready else 503, content={"status": "ready" if ready else "not_ready", **checks}
    )
