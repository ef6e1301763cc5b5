"""Liveness and readiness."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.generator.deps import EngineDep, SynthesizersDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: EngineDep, synthesizers: SynthesizersDep) -> JSONResponse:
    """503 until the database answers and every dataset's default synthesizer is loaded."""
    checks: dict[str, object] = {}
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    loaded = synthesizers.loaded()
    checks["synthesizers"] = loaded
    checks["missing_synthesizers"] = [d for d in synthesizers.datasets if d not in loaded]
    if synthesizers.last_error:
        checks["synthesizer_error"] = synthesizers.last_error
    ready = checks["database"] == "ok" and synthesizers.ready
    return JSONResponse(
        status_code=200 if ready else 503, content={"status": "ready" if ready else "not_ready", **checks}
    )
