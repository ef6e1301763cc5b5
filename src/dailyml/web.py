"""What every FastAPI service shares: error rendering and its documentation, the admin guard,
health endpoints.

Every error answer is an ``ErrorOut`` (``{"error", "message", "detail"}``), and the OpenAPI
document says so for each status a route can answer: 422 wherever FastAPI validates
something, the statuses of the dependencies a route uses (the admin guard's 401/403, a
database's or a model's 503: see ``answers``), and what the route declares itself with
``responses=error_responses(404, 409)``.

Needs the ``fastapi`` extra; imported only by services.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from dailyml.contracts import ErrorOut, Readiness
from dailyml.errors import DailyMLError
from dailyml.protection import OPEN_PATHS, PREDICT_PATHS, error_response, token_matches
from dailyml.settings import Settings

log = logging.getLogger("dailyml.web")

F = TypeVar("F", bound=Callable[..., Any])

# What each error status means, as the OpenAPI documents say it.
ERROR_STATUSES: dict[int, str] = {
    400: "The body could not be read: it is not UTF-8 encoded JSON",
    401: "No valid token: 'Authorization: Bearer <DAILYML_ADMIN_TOKEN>' for admin routes; "
    "reads of stored data need DAILYML_READ_TOKEN (or the admin token) when it is set",
    403: "Admin endpoints are disabled (DAILYML_ADMIN_TOKEN is not set)",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body is larger than DAILYML_MAX_BODY_BYTES",
    422: "Invalid request: one detail item per broken rule",
    429: "Too many predictions from this client (DAILYML_RATE_LIMIT_PER_SECOND); see Retry-After",
    503: "Unavailable for now (see Retry-After): the database is unavailable, no model is loaded yet, "
    "or the predictions waiting to be stored fill the prediction log",
}
_ANSWERS = "__dailyml_error_statuses__"
_DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError)
RETRY_AFTER_SECONDS = 5
_RETRY_AFTER_HEADER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
RETRY_LATER = {"Retry-After": str(RETRY_AFTER_SECONDS)}  # every 503: the database or a model will be back


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can answer ``statuses``: each an ``ErrorOut``."""
    return {status: {"model": ErrorOut, "description": ERROR_STATUSES[status]} for status in statuses}


READINESS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "Ready: the database answers and everything is loaded"},
    503: {
        "model": Readiness,
        "description": "Not ready yet (the checks say what is missing), or degraded: a version the registry "
        "names could not be loaded (refused signature, checksum or type) and an older one is served",
    },
}


def readiness(checks: dict[str, Any], *, database_ok: bool, loaded_all: bool, degraded: bool) -> JSONResponse:
    """``/readyz``'s answer: 200 ``ready``, or 503 ``not_ready`` / ``degraded`` with the checks."""
    if not (database_ok and loaded_all):
        status = "not_ready"
    elif degraded:
        status = "degraded"
    else:
        status = "ready"
    return JSONResponse(status_code=200 if status == "ready" else 503, content={"status": status, **checks})


def answers(*statuses: int) -> Callable[[F], F]:
    """Mark a dependency with the error statuses it can make a route answer; every route that
    uses it (directly or through another dependency) documents them."""

    def mark(dependency: F) -> F:
        setattr(dependency, _ANSWERS, (*getattr(dependency, _ANSWERS, ()), *statuses))
        return dependency

    return mark


def _dependency_statuses(dependant: Any) -> Iterator[int]:
    for sub in dependant.dependencies:
        yield from getattr(sub.call, _ANSWERS, ())
        yield from _dependency_statuses(sub)


def _api_routes(app: FastAPI) -> Iterator[tuple[str, str, set[str], APIRoute]]:
    """Each API route of ``app``: its path as routed (``/models/{version:int}``) and as the
    OpenAPI document has it (``/models/{version}``), its methods, the route."""
    try:  # FastAPI >= 0.16x keeps included routers as branches instead of copying their routes
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: the app holds every route itself
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, route.path_format, set(route.methods or ()), route
        return
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            methods = set(getattr(context, "methods", None) or route.methods or ())
            yield context.path or route.path, context.path_format or route.path_format, methods, route


def api_route_at(app: FastAPI, method: str, path: str) -> APIRoute | None:
    """The API route of ``app`` that answers ``method path`` (a literal path), or None."""
    for routed, _, methods, route in _api_routes(app):
        if method in methods and compile_path(routed)[0].match(path):
            return route
    return None


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``app`` answers at ``path`` (a 405's ``Allow``)."""
    methods: set[str] = set()
    for routed, _, route_methods, _ in _api_routes(app):
        if compile_path(routed)[0].match(path):
            methods |= route_methods
    return sorted(methods)


def _error_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put ``ErrorOut`` (and what it refers to) in the components; its reference."""
    # OpenAPI fragments stay mappings: FastAPI builds and serves the document as plain JSON.
    schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components.update(schema.pop("$defs", {}))
    components["ErrorOut"] = schema
    return {"$ref": "#/components/schemas/ErrorOut"}


def document_errors(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document the error answers it really sends (see the module doc)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:  # the document as FastAPI builds and caches it: plain JSON
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        ref = _error_schema(document)
        for _, path, methods, route in _api_routes(app):
            if not route.include_in_schema:
                continue
            for method in methods:
                operation = document["paths"].get(path, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                declared = {int(status) for status in route.responses}
                statuses = set(_dependency_statuses(route.dependant))
                if "422" in responses:  # FastAPI's: the route validates something
                    statuses.add(422)
                if route.body_field is not None:  # a body that cannot even be decoded, or too large
                    statuses |= {400, 413}
                # What the protection middleware (dailyml.protection) answers before the route.
                if method == "POST" and PREDICT_PATHS.match(path):
                    statuses |= {429, 401}  # 401: with DAILYML_PREDICT_REQUIRES_TOKEN=true
                if method == "GET" and not OPEN_PATHS.match(path):
                    statuses.add(401)
                for status in sorted(statuses - declared):
                    responses[str(status)] = {
                        "description": ERROR_STATUSES[status],
                        "content": {"application/json": {"schema": ref}},
                    }
                unavailable = responses.get("503", {})
                if unavailable.get("content", {}).get("application/json", {}).get("schema") == ref:
                    unavailable["headers"] = {"Retry-After": _RETRY_AFTER_HEADER}
        schemas = document["components"]["schemas"]
        for fastapi_default in ("HTTPValidationError", "ValidationError"):
            schemas.pop(fastapi_default, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


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


def service_app(service: str, description: str, lifespan: Any, *, innermost: Any = None) -> FastAPI:
    """A dailyml service's FastAPI app: the one error model, the protection layer (limits,
    tokens) and, outermost so that its refusals are logged and counted too, observability.
    ``innermost``: an ASGI middleware class run after all of them, just before the router."""
    from dailyml.observability.http import install_observability
    from dailyml.protection import install_protection

    app = FastAPI(title=f"dailyml {service}", version="0.1.0", description=description, lifespan=lifespan)
    install_error_handlers(app)
    if innermost is not None:
        app.add_middleware(innermost)
    install_protection(app)
    install_observability(app, service)
    return app


def render_error(exc: DailyMLError) -> JSONResponse:
    """The answer to one of our errors (logged when it is a 5xx), wherever it is raised."""
    if exc.status >= 500:
        log.error("%s: %s", exc.code, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return error_response(exc.status, exc.code, exc.message, detail=exc.detail, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error as an ``ErrorOut``, never leak a traceback; and document them."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = validation_items(list(exc.errors()))
        summary = "; ".join(f"{i['field']}: {i['message']}" for i in items[:5])
        return error_response(422, "validation_error", summary or "invalid request", detail=items)

    @app.exception_handler(DailyMLError)
    async def _ours(_: Request, exc: DailyMLError) -> JSONResponse:
        return render_error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        headers = exc.headers
        if exc.status_code == 405:
            # The route that answered lists only its own methods; the path may have others.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request.app, request.url.path))}
        return error_response(
            exc.status_code, code.get(exc.status_code, "http_error"), str(exc.detail), headers=headers
        )

    @app.exception_handler(sa_exc.DBAPIError)
    async def _database(request: Request, exc: sa_exc.DBAPIError) -> JSONResponse:
        if isinstance(exc, _DATABASE_DOWN):
            log.warning("database unavailable: %s", exc.orig)
            return error_response(
                503, "database_unavailable", "the database is unavailable; try again shortly", headers=RETRY_LATER
            )
        return await _unexpected(request, exc)

    @app.exception_handler(sa_exc.TimeoutError)
    async def _pool_timeout(_: Request, exc: sa_exc.TimeoutError) -> JSONResponse:
        log.warning("no database connection free: %s", exc)
        return error_response(
            503, "database_unavailable", "the database is busy; try again shortly", headers=RETRY_LATER
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")

    document_errors(app)


_bearer = HTTPBearer(auto_error=False)


class AdminRequired(DailyMLError):
    status, code = 401, "unauthorized"


class AdminDisabled(DailyMLError):
    status, code = 403, "forbidden"


def admin_guard(get_settings: Callable[[Request], Awaitable[Settings]]) -> Any:
    """A dependency that admits only ``Authorization: Bearer $DAILYML_ADMIN_TOKEN``."""

    settings_dep = Depends(get_settings)  # a default, not Annotated: the annotation is a string here

    @answers(401, 403)
    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        settings: Settings = settings_dep,
    ) -> None:
        token = settings.admin_token
        if token is None:
            raise AdminDisabled("admin endpoints are disabled: DAILYML_ADMIN_TOKEN is not set")
        if credentials is None or not token_matches(credentials.credentials, token):
            raise AdminRequired("a valid 'Authorization: Bearer <DAILYML_ADMIN_TOKEN>' header is required")

    return Depends(check)


def from_state(name: str, *errors: int) -> Callable[[Request], Awaitable[Any]]:
    """A dependency returning ``app.state.<name>``: what a service built in its lifespan.

    ``errors``: the statuses using it can answer (503 for a database or what needs loading).
    """

    # async: a plain function would be run in the threadpool on every request that uses it.
    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return answers(*errors)(get)


def database_status(engine: Any, probe: str = "SELECT 1") -> str:
    """``"ok"`` when the database answers ``probe``, else why not (for /readyz)."""
    import sqlalchemy as sa

    try:
        with engine.connect() as conn:
            conn.execute(sa.text(probe))
        return "ok"
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
