"""The ceilings the predictor is measured against, served by uvicorn exactly as the predictor is.

``fastapi_app``: ``POST /iris/predict`` and ``/wine/predict`` as ``async def`` FastAPI endpoints
taking the predictor's own pydantic body (validated the same way) and returning a constant: the
framework ceiling. ``raw_app``: a bare ASGI callable answering every request with a constant
JSON body without reading it: the HTTP stack's ceiling.

    python -m uvicorn bench.constant_apps:fastapi_app --no-access-log
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from dailyml.contracts import instance_model

fastapi_app = FastAPI()
IrisInstance = instance_model("iris")
WineInstance = instance_model("wine")
CONSTANT = {"quality": 6, "model_version": 1, "prediction_id": "00000000-0000-0000-0000-000000000000", "score": 6.0}


@fastapi_app.post("/iris/predict")
async def iris_constant(body: IrisInstance) -> dict[str, Any]:  # type: ignore[valid-type]
    return CONSTANT


@fastapi_app.post("/wine/predict")
async def wine_constant(body: WineInstance) -> dict[str, Any]:  # type: ignore[valid-type]
    return CONSTANT


RAW_BODY = b'{"quality":6,"model_version":1,"prediction_id":"00000000-0000-0000-0000-000000000000","score":6.0}'
RAW_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(RAW_BODY)).encode())]


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    while True:  # drain the body so the connection stays usable
        message = await receive()
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": RAW_HEADERS})
    await send({"type": "http.response.body", "body": RAW_BODY})
