"""What guards the service APIs besides the admin token, as ASGI middleware every service installs
with one call (``install_protection(app)``), configured from ``app.state.settings`` at request time.

- Read token (``DAILYML_READ_TOKEN``): when set, every GET that exposes stored data (history,
  samples, runs, models, jobs...) needs ``Authorization: Bearer <read or admin token>``. Deny by
  default: only health, readiness, the API description and ``/{dataset}/spec`` stay open, so a
  read endpoint added later is guarded without anyone remembering to. ``/predict`` needs it only
  with ``DAILYML_PREDICT_REQUIRES_TOKEN=true``.

- Body size (``DAILYML_MAX_BODY_BYTES``): 413, whether the body announces its length or not.
- Rate (``DAILYML_RATE_LIMIT_PER_SECOND``, ``_BURST``): a token bucket per client IP for
  ``/predict`` and ``/predict/batch``; 429 with ``Retry-After``. The client is the connecting
  address: behind a proxy, the proxy (``X-Forwarded-For`` is not trusted).
- CORS (``DAILYML_CORS_ORIGINS``): only the listed origins, never a wildcard; none by default.

Every refusal is the services' error body ``{"error", "message", "detail"}``; no token is echoed.
"""

from __future__ import annotations

import hmac
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dailyml.contracts import ErrorOut

# Probes, the API's description and Prometheus scrapes (counts, no stored inputs) stay open.
OPEN_PATHS = re.compile(
    r"^/(healthz|readyz|metrics|openapi\.json|docs|docs/oauth2-redirect|redoc|[A-Za-z0-9_-]+/spec)$"
)
PREDICT_PATHS = re.compile(r"^/[A-Za-z0-9_-]+/predict(/batch)?$")


def _settings(scope: Scope) -> Any:
    app = scope.get("app")
    return getattr(getattr(app, "state", None), "settings", None)


def error_response(status: int, error: str, message: str, *, detail: Any = None, headers: Any = None) -> JSONResponse:
    """The one error body every service sends (``ErrorOut``), from a route or a middleware."""
    body = ErrorOut(error=error, message=message, detail=detail)
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"), headers=headers)


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def token_matches(given: str, *secrets: Any) -> bool:
    """Whether ``given`` equals one of the ``SecretStr`` tokens (None skipped), in constant time."""
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
            if token is None or not token_matches(token, settings.read_token, settings.admin_token):
                response = error_response(
                    401,
                    "unauthorized",
                    "a valid 'Authorization: Bearer <DAILYML_READ_TOKEN or DAILYML_ADMIN_TOKEN>' header is required",
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """413 for a request body over ``DAILYML_MAX_BODY_BYTES``, announced or streamed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = _settings(scope) if scope["type"] == "http" else None
        if settings is None:
            await self.app(scope, receive, send)
            return
        limit = int(settings.max_body_bytes)

        async def too_large(scope: Scope, receive: Receive, send: Send) -> None:
            # Built only when needed: a response object per request costs every prediction.
            response = error_response(
                413, "payload_too_large", f"the request body exceeds {limit} bytes (DAILYML_MAX_BODY_BYTES)"
            )
            await response(scope, receive, send)

        announced, chunked = None, False
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                announced = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        if announced is not None and announced > limit:
            await too_large(scope, receive, send)
            return
        if announced is not None and not chunked:
            # The HTTP parser delivers exactly the announced length: nothing more to count.
            await self.app(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Any:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if exceeded:  # whatever the app made of the interrupted body, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await too_large(scope, receive, send)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not started:
                await too_large(scope, receive, send)
        except Exception:
            if not exceeded:
                raise
            if not started:
                await too_large(scope, receive, send)


class TokenBuckets:
    """One token bucket per client key; bounded (the least recently seen client is forgotten)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, stamp)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, rate: float, burst: int) -> float:
        """Take one token for ``key``: 0.0 when granted, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, stamp = self._buckets.pop(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - stamp) * rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


class PredictRateLimit:
    """429 with ``Retry-After`` for a client over its rate of predictions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.buckets = TokenBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = _settings(scope) if scope["type"] == "http" else None
        if (
            settings is not None
            and settings.rate_limit_per_second > 0
            and scope["method"] == "POST"
            and PREDICT_PATHS.match(scope["path"])
        ):
            client = scope.get("client")
            key = client[0] if client else "unknown"
            wait = self.buckets.take(key, settings.rate_limit_per_second, settings.rate_limit_burst)
            if wait > 0:
                response = error_response(
                    429,
                    "rate_limited",
                    f"too many predictions from this client (DAILYML_RATE_LIMIT_PER_SECOND="
                    f"{settings.rate_limit_per_second:g}, burst {settings.rate_limit_burst}); retry later",
                    headers={"Retry-After": str(max(1, math.ceil(wait)))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ConfiguredCORS:
    """Starlette's CORS middleware for exactly ``DAILYML_CORS_ORIGINS``, built on first use (the
    settings are the app's, known once its lifespan ran); no CORS at all when the list is empty."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._built: tuple[tuple[str, ...], ASGIApp] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settings = _settings(scope) if scope["type"] == "http" else None
        origins = tuple(settings.cors_origins) if settings is not None else ()
        if not origins:
            await self.app(scope, receive, send)
            return
        if self._built is None or self._built[0] != origins:
            cors = CORSMiddleware(
                self.app,
                allow_origins=list(origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                allow_credentials=False,
            )
            self._built = (origins, cors)
        await self._built[1](scope, receive, send)


def install_protection(app: Any) -> None:
    """Add the guards to a service app. The last added runs first: CORS, body size, rate, read token."""
    app.add_middleware(ReadTokenGuard)
    app.add_middleware(PredictRateLimit)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(ConfiguredCORS)
