"""A stand-in predictor for datasets that only the frontend tests register (``extra_datasets.py``).

The real predictor needs a bootstrapped store and a trained model per dataset; the end-to-end
third-dataset test runs it. The frontends only need the predictor's HTTP API, so this answers the
part of it they call, in the shapes of the contracts (``SpecOut``, ``HistoryPage``, ...), from the
specs alone: reference statistics and random samples from the spec's loader, predictions by the
five nearest reference rows, a log of past predictions seeded from those, and 404 for the rest (as
for a dataset the predictor does not know).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
from pydantic import BaseModel

from dailyml import clock
from dailyml.contracts import (
    ConfusionMatrix,
    ErrorDetail,
    ErrorOut,
    HistoryItem,
    HistoryPage,
    MetricsPoint,
    MetricsSeries,
    ModelList,
    ModelVersionOut,
    spec_out,
)
from dailyml.datasets import DatasetSpec

NEIGHBOURS = 5
LOGGED = 12  # past predictions per dataset: one a day, every other one synthetic


class SpecModel:
    """What the stand-in knows of one dataset: its reference rows and a nearest-neighbour model."""

    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.reference = spec.load_reference(Path("."))
        numbers = self.reference[[f.name for f in spec.numeric_features]].astype(float)
        self._scale = numbers.std().replace(0.0, 1.0)
        self.log = self._seed_log()

    def stats(self) -> dict[str, dict[str, Any]]:
        stats: dict[str, dict[str, Any]] = {}
        for f in self.spec.features:
            column = self.reference[f.name]
            if f.is_categorical:
                stats[f.name] = {"mode": str(column.mode().iloc[0])}
            else:
                stats[f.name] = {
                    "median": float(column.median()),
                    "min": float(column.min()),
                    "max": float(column.max()),
                }
        return stats

    def _nearest(self, row: Mapping[str, Any]) -> pd.Series:
        distance = pd.Series(0.0, index=self.reference.index)
        for f in self.spec.features:
            if f.is_categorical:
                distance += (self.reference[f.name] != row[f.name]).astype(float)
            else:
                distance += ((self.reference[f.name].astype(float) - float(row[f.name])) / self._scale[f.name]) ** 2
        return self.reference.loc[distance.nsmallest(NEIGHBOURS).index, "label"]

    def predict(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The answer of ``POST /{dataset}/predict`` (without the id and version)."""
        labels = self._nearest(row)
        spec = self.spec
        if spec.task == "classification":
            shares = {label: float((labels == label).mean()) for label in spec.labels}
            best = max(spec.labels, key=lambda label: shares[label])  # ties: the spec's order
            return {spec.target: spec.label_to_api(best), "probabilities": shares}
        score = float(np.mean([int(x) for x in labels]))
        return {spec.target: spec.label_to_api(spec.grade(score)), "score": score}

    def _seed_log(self) -> list[HistoryItem]:
        now, spec, items = clock.now(), self.spec, []
        for i in range(LOGGED):
            reference = self.reference.iloc[(i * 7) % len(self.reference)]
            features = {
                f: reference[f] if self.spec.feature(f).is_categorical else float(reference[f])
                for f in spec.feature_names
            }
            answer = self.predict(features)
            predicted = answer[spec.target]
            actual = spec.label_to_api(str(reference["label"])) if i % 4 != 3 else None
            when = now - timedelta(days=i, minutes=5)
            items.append(
                HistoryItem(
                    id=uuid.uuid4(),
                    sample_id=uuid.uuid4(),
                    created_at=when,
                    event_time=when,
                    source="synthetic" if i % 2 == 0 else "online",
                    model_version=1,
                    features=features,
                    predicted=predicted,
                    actual=actual,
                    correct=None if actual is None else str(actual) == str(predicted),
                    score=answer.get("score"),
                    probabilities=answer.get("probabilities"),
                )
            )
        return items

    def history(self, limit: int, offset: int, source: str | None) -> HistoryPage:
        items = [item for item in self.log if source is None or item.source == source]
        return HistoryPage(total=len(items), limit=limit, offset=offset, items=items[offset : offset + limit])

    def confusion_matrix(self) -> ConfusionMatrix:
        labels = list(self.spec.labels)
        matrix = [[0] * len(labels) for _ in labels]
        for item in self.log:
            if item.actual is not None:
                matrix[labels.index(str(item.actual))][labels.index(str(item.predicted))] += 1
        api_labels = [self.spec.label_to_api(label) for label in labels]
        return ConfusionMatrix(labels=api_labels, matrix=matrix, total=sum(map(sum, matrix)))

    def metrics(self, bucket: str) -> MetricsSeries:
        """One point per labelled prediction's day (the stand-in ignores the bucket size)."""
        points = []
        for item in sorted(self.log, key=lambda item: item.created_at):
            if item.actual is None:
                continue
            right = float(item.correct or False)
            error = abs(int(item.actual) - int(item.predicted)) if self.spec.task == "regression" else None
            points.append(
                MetricsPoint(
                    bucket=item.created_at.replace(hour=0, minute=0, second=0, microsecond=0).isoformat(),
                    n=1,
                    accuracy=right,
                    mae=None if error is None else float(error),
                    within_one_accuracy=None if error is None else float(error <= 1),
                )
            )
        return MetricsSeries(dataset=self.spec.name, bucket=bucket, points=points)

    def models(self) -> ModelList:
        version = ModelVersionOut(
            version=1,
            kind="model",
            algorithm="nearest neighbours (stand-in)",
            params={"k": NEIGHBOURS},
            metrics={},
            data_hash="0" * 64,
            artifact_sha256="0" * 64,
            artifact_size=0,
            feature_schema={},
            created_at=clock.now(),
            aliases=["champion"],
        )
        return ModelList(dataset=self.spec.name, champion=1, versions=[version])


def _features(spec: DatasetSpec, row: pd.Series) -> dict[str, Any]:
    """A reference row's features as JSON has them."""
    return {f.name: str(row[f.name]) if f.is_categorical else float(row[f.name]) for f in spec.features}


def _refusal(spec: DatasetSpec, body: Any) -> ErrorOut | None:
    """The predictor's 422 for a body that breaks the spec's rules, or None for a valid one."""
    if not isinstance(body, dict):
        return ErrorOut(error="validation_error", message="the body must be an object")
    problems = spec.validate_row(body)
    problems.update({name: "is not a feature" for name in set(body) - set(spec.feature_names)})
    if not problems:
        return None
    details = [ErrorDetail(field=name, loc=[name], rule="invalid", message=text) for name, text in problems.items()]
    return ErrorOut(error="validation_error", message="the input breaks the spec", detail=details)


class _Handler(BaseHTTPRequestHandler):
    models: dict[str, SpecModel] = {}

    def _send(self, status: int, answer: BaseModel | dict[str, Any]) -> None:
        text = answer.model_dump_json() if isinstance(answer, BaseModel) else json.dumps(answer, default=str)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(text.encode())

    def _route(self) -> tuple[SpecModel | None, str, dict[str, str]]:
        url = urlsplit(self.path)
        dataset, _, rest = url.path.strip("/").partition("/")
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        return self.models.get(dataset), rest, query

    def _not_found(self) -> None:
        self._send(404, ErrorOut(error="not_found", message=f"no route {self.path}"))

    def do_GET(self) -> None:
        model, rest, query = self._route()
        if model is None:
            return self._not_found()
        if rest == "spec":
            return self._send(200, spec_out(model.spec, model.stats()))
        if rest == "samples/random":
            row = model.reference.sample(1).iloc[0]
            target = model.spec.label_to_api(str(row["label"]))
            answer = {"sample_id": str(uuid.uuid4()), "features": _features(model.spec, row), model.spec.target: target}
            return self._send(200, answer)
        if rest == "models":
            return self._send(200, model.models())
        if rest == "history":
            limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
            return self._send(200, model.history(limit, offset, query.get("source")))
        if rest == "confusion-matrix":
            return self._send(200, model.confusion_matrix())
        if rest == "metrics":
            return self._send(200, model.metrics(query.get("bucket", "day")))
        return self._not_found()

    def do_POST(self) -> None:
        model, rest, _ = self._route()
        if model is None or rest != "predict":
            return self._not_found()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
        refusal = _refusal(model.spec, body)
        if refusal is not None:
            return self._send(422, refusal)
        answer = {**model.predict(body), "model_version": 1, "prediction_id": str(uuid.uuid4())}
        return self._send(200, answer)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def spec_predictor(specs: Mapping[str, DatasetSpec]) -> Iterator[str]:
    """Serve the stand-in predictor for ``specs`` on a free loopback port; its URL."""
    handler = type("Handler", (_Handler,), {"models": {name: SpecModel(spec) for name, spec in specs.items()}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
