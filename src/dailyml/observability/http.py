"""Request ids, the access log and HTTP metrics for the FastAPI services, and their ``/metrics``.

``install_observability(app, "predictor")`` is the one line a service's app factory adds. A pure
ASGI middleware (no BaseHTTPMiddleware: it would copy every body): it accepts a valid incoming
``X-Request-ID`` or makes one, runs the request under it, returns it in the response, counts the
request by route template and status, and writes one access log line. Request bodies, query
strings and headers (the admin token) are never logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailyml.datasets import SPECS
from dailyml.observability import metrics
from dailyml.observability.context import HEADER, request_fields, request_scope

access_log = logging.getLogger("dailyml.access")

UNMATCHED = "<unmatched>"  # 404s are counted under one label: raw paths would explode cardinality
# Probes and scrapes come every few seconds: their access lines are DEBUG, not INFO.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_HEADER_BYTES = HEADER.lower().encode()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER_BYTES:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self.in_progress = metrics.HTTP_IN_PROGRESS.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_scope(_incoming_request_id(scope)) as request_id:
            status = 500  # what the server sends if the app raises before answering

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    MutableHeaders(scope=message).append(HEADER, request_id)
                await send(message)

            started = time.perf_counter()
            self.in_progress.inc()
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self.in_progress.dec()
                self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], _route_template(scope)
        metrics.child(metrics.HTTP_REQUESTS, self.service, method, route, str(status)).inc()
        metrics.child(metrics.HTTP_DURATION, self.service, method, route).observe(seconds)
        path = scope.get("path", "")
        level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            **request_fields(),
        }
        if "dataset" not in fields:
            first = route.split("/", 2)[1] if route.startswith("/") else ""
            if first in SPECS:
                fields["dataset"] = first
        access_log.log(level, "%s %s %d", method, path, status, extra=fields)


def install_observability(app: FastAPI, service: str) -> None:
    """Request ids, access log and metrics middleware, and ``GET /metrics`` (Prometheus text)."""
    app.add_middleware(ObservabilityMiddleware, service=service)

    # A plain `def`: rendering costs milliseconds of CPU, so it runs in the threadpool.
    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
