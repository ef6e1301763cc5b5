"""The one-row prediction path as plain ASGI: valid requests skip FastAPI's routing and dependency
solving, which cost several times the prediction itself.

``POST /{dataset}/predict`` is the hot path. Through FastAPI, a request walks the router's
included routers, builds a ``Request``, solves three dependencies and runs two more middlewares
before the endpoint: about 0.4 ms of CPU here against tens of microseconds for a compiled
prediction (profiled in docs/performance.md). This middleware, the innermost one (so the access
log, metrics, CORS, body size, rate limit and token guard all apply as before), answers the
requests it can answer exactly as the route would, with the same code:

- the same validation: ``json.loads`` of the body, then the route's own pydantic body model, as
  FastAPI does for a JSON content type;
- the same answer: :func:`dailyml.inference.predict_and_record` and the route's serialiser;
- the route's template on the scope, so metrics and the access log count it under its route.

Everything else goes on to the FastAPI route, with the body it read handed back: an invalid body
(the route renders the 422 naming the field and the rule), another content type, no model loaded
(503), the synchronous log mode, and models that run in the threadpool. Errors are rendered by
the route, except the one this path can meet itself: a full prediction log, answered with the
app's own rendering of that error (``dailyml.web.render_error``). ``DAILYML_PREDICT_FAST_PATH=
false`` sends every request to the route.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailyml import inference
from dailyml.contracts import instance_model
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.errors import DailyMLError
from dailyml.prediction_log import LogFullError
from dailyml.web import api_route_at, render_error
from services.predictor.routes.predict import json_bytes


def _json_content_type(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return False


class PredictFastPath:
    """Answers valid one-row predictions before FastAPI's router (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.targets: dict[str, tuple[DatasetSpec, Any]] = {
            f"/{spec.name}/predict": (spec, instance_model(spec.name)) for spec in SPECS.values()
        }
        self._routes: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = None
        if scope["type"] == "http" and scope["method"] == "POST":
            target = self.targets.get(scope["path"])
        state = getattr(scope.get("app"), "state", None)
        if target is None or not getattr(state, "predict_fast_path", False) or not _json_content_type(scope):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            answer = self._answer(state, target, body)
        except LogFullError as exc:  # nothing of it was stored; answered as the route would
            scope["route"] = self._route(scope, scope["path"])
            await render_error(exc)(scope, receive, send)
            return
        if answer is None:
            await self.app(scope, _replay(body, receive), send)
            return
        scope["route"] = self._route(scope, scope["path"])  # metrics and the access log name the route
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(answer)).encode()), (b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    def _answer(self, state: Any, target: tuple[DatasetSpec, Any], body: bytes) -> bytes | None:
        """The answer's bytes, or None: the route answers (see the module's docstring)."""
        spec, instance = target
        try:
            row = instance.model_validate(json.loads(body)).model_dump()
            model = state.models.get(spec.name)
            log = state.prediction_log
        except (ValueError, ValidationError, DailyMLError, AttributeError):  # JSONDecodeError is a ValueError
            return None
        if model.compiled is None or not model.compiled.inline or log.synchronous:
            return None
        return json_bytes(inference.predict_and_record(spec, model, [row], log)[0])

    def _route(self, scope: Scope, path: str) -> Any:
        route = self._routes.get(path)
        if route is None:
            route = self._routes[path] = api_route_at(scope["app"], "POST", path)
        return route


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` with the body already read given back first."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
