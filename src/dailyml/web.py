"""What every FastAPI service shares: error rendering, the admin guard, health endpoints.

Needs the ``fastapi`` extra; imported only by services.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from dailyml.errors import DailyMLError
from dailyml.settings import Settings

log = logging.getLogger("dailyml.web")

_RULES = {"missing": "required", "extra_forbidden": "not allowed (unknown field)"}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def validation_items(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{field, loc, rule, message}``: which field, which rule it broke."""
    items = []
    for err in errors:
        loc = [p for p in err.get("loc", ()) if p != "body"]
        # create_model Literal/constraint errors carry the function name as a loc part; drop it.
        loc = [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "value_error":
            message = message.removeprefix("Value error, ")
        items.append(
            {
                "field": _field_name(tuple(loc)),
                "loc": loc,
                "rule": err.get("type", "invalid"),
                "message": _RULES.get(str(err.get("type")), message) if err.get("type") in _RULES else message,
            }
        )
    return items


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as ``{"error", "message", "detail"}``; never leak a traceback."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = validation_items(list(exc.errors()))
        summary = "; ".join(f"{i['field']}: {i['message']}" for i in items[:5])
        return JSONResponse(
            status_code=422,
            content={"error": "validation_error", "message": summary or "invalid request", "detail": items},
        )

    @app.exception_handler(DailyMLError)
    async def _ours(_: Request, exc: DailyMLError) -> JSONResponse:
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return JSONResponse(
            status_code=exc.status, content={"error": exc.code, "message": exc.message, "detail": exc.detail}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": code.get(exc.status_code, "http_error"), "message": str(exc.detail), "detail": None},
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(
            status_code=500, content={"error": "internal_error", "message": "internal error", "detail": None}
        )


_bearer = HTTPBearer(auto_error=False)


class AdminRequired(DailyMLError):
    status, code = 401, "unauthorized"


class AdminDisabled(DailyMLError):
    status, code = 403, "forbidden"


def admin_guard(get_settings: Callable[[Request], Settings]) -> Any:
    """A dependency that admits only ``Authorization: Bearer $DAILYML_ADMIN_TOKEN``."""

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        token = get_settings(request).admin_token
        if token is None:
            raise AdminDisabled("admin endpoints are disabled: DAILYML_ADMIN_TOKEN is not set")
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), token.get_secret_value().encode()
        ):
            raise AdminRequired("a valid 'Authorization: Bearer <DAILYML_ADMIN_TOKEN>' header is required")

    return Depends(check)


def from_state(name: str) -> Callable[[Request], Any]:
    """A dependency returning ``app.state.<name>``: what a service built in its lifespan."""

    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return get


def database_status(engine: Any, probe: str = "SELECT 1") -> str:
    """``"ok"`` when the database answers ``probe``, else why not (for /readyz)."""
    import sqlalchemy as sa

    try:
        with engine.connect() as conn:
            conn.execute(sa.text(probe))
        return "ok"
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
