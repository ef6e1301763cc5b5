"""What guards the service APIs besides the admin token, as ASGI middleware every service installs
with one call (``install_protection(app)``), configured from ``app.state.settings`` at request time.

- Read token (``DAILYML_READ_TOKEN``): when set, every GET that exposes stored data (history,
  samples, runs, models, jobs...) needs ``Authorization: Bearer <read or admin token>``. Deny by
  default: only health, readiness, the API description and ``/{dataset}/spec`` stay open, so a
  read endpoint added later is guarded without anyone remembering to. ``/predict`` needs it only
  with ``DAILYML_PREDICT_REQUIRES_TOKEN=true``.

Every refusal is the services' error body ``{"error", "message", "detail"}``; no token is echoed.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = re.compile(r"^/(healthz|readyz|openapi\.json|docs|docs/oauth2-redirect|redoc|[A-Za-z0-9_-]+/spec)$")
PREDICT_PATHS = re.compile(r"^/[A-Za-z0-9_-]+/predict(/batch)?$")


def _settings(scope: Scope) -> Any:
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "settings", None)


def error_response(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": error, "message": message, "detail": None}, headers=headers
    )


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def _matches(given: str, *secrets: Any) -> bool:
    found = False
    for secret in secrets:
        if secret is not None:
            found |= hmac.compare_digest(given.encode(), secret.get_secret_value().encode())
    return found


def needs_read_token(method: str, path: str, settings: Any) -> bool:
    """Whether ``method path`` needs the read (or admin) token under ``settings``."""
    if method in ("GET", "HEAD"):
        return settings.read_token is not None and not OPEN_PATHS.match(path)
    if method == "POST" and PREDICT_PATHS.match(path):
        return bool(settings.predict_requires_token)
    return False


class ReadTokenGuard:
    """401 for a guarded request without the read or admin token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = _settings(scope) if scope["type"] == "http" else None
        if settings is not None and needs_read_token(scope["method"], scope["path"], settings):
            token = bearer_token(scope)
            if token is None or not _matches(token, settings.read_token, settings.admin_token):
                response = error_response(
                    401,
                    "unauthorized",
                    "a valid 'Authorization: Bearer <DAILYML_READ_TOKEN or DAILYML_ADMIN_TOKEN>' header is required",
                    {"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_protection(app: Any) -> None:
    """Add the guards to a service app (the last added runs first)."""
    app.add_middleware(ReadTokenGuard)
