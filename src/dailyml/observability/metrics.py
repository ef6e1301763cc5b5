"""The Prometheus metrics of every dailyml process, and their rendering for ``/metrics``.

One process per container: each service runs a single uvicorn process and scales by replicas,
every pod scraped on its own (the k8s manifests' annotations), so the default per-process
registry is exact. Should a service ever run several worker processes, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder (wiped before start): prometheus-client then keeps
the values in files there and :func:`render` sums the workers (gauges as declared below).
"""

from __future__ import annotations

import os
import time
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from dailyml.observability.context import annotate

__all__ = ["CONTENT_TYPE_LATEST", "render"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

# -- HTTP (every FastAPI service) ------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "dailyml_http_requests",
    "HTTP requests answered, by route template (not the raw path) and status code.",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "dailyml_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template.",
    ["service", "method", "route"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "dailyml_http_requests_in_progress",
    "Requests being handled now.",
    ["service"],
    multiprocess_mode="livesum",
)

# -- predictor ---------------------------------------------------------------------------------
PREDICTIONS = Counter(
    "dailyml_predictions",
    "Predictions made, by dataset, model version, predicted label and where the input came from "
    "(online: /predict and /predict/batch; pending: stored samples predicted by the daily loop).",
    ["dataset", "model_version", "label", "source"],
)
LOG_QUEUE_DEPTH = Gauge(
    "dailyml_prediction_log_queue_depth",
    "Online predictions waiting in memory to be written to the feature store.",
    multiprocess_mode="livesum",
)
LOG_BATCHES = Counter(
    "dailyml_prediction_log_batches",
    "Attempts to write a batch of logged predictions, by outcome (written; failed: kept and retried).",
    ["outcome"],
)
LOG_ENTRIES = Counter(
    "dailyml_prediction_log_entries",
    "Logged predictions, by outcome: written; refused_buffer_full (answered 503, not stored); "
    "dropped_buffer_full (DAILYML_LOG_WHEN_FULL=drop_oldest: answered 200, never stored). A batch the "
    "database refuses is kept and retried, not dropped.",
    ["outcome"],
)

# -- what a service has loaded (predictor champions, generator default synthesizers) ------------
SERVING_VERSION = Gauge(
    "dailyml_serving_version",
    "Version loaded and served per dataset: kind=model alias=champion (predictor), "
    "kind=synthesizer alias=default (generator).",
    ["dataset", "kind", "alias"],
    multiprocess_mode="mostrecent",
)
SERVING_CHANGED = Gauge(
    "dailyml_serving_version_changed_timestamp_seconds",
    "Unix time at which this process loaded the version it serves now.",
    ["dataset", "kind", "alias"],
    multiprocess_mode="max",
)
SERVING_LOADS = Counter(
    "dailyml_serving_loads",
    "Loads of a new target of the alias, by outcome (loaded; refused: signature, checksum or type; failed).",
    ["dataset", "kind", "alias", "outcome"],
)

# -- background jobs (predictor training, generator fits) --------------------------------------
JOBS = Counter(
    "dailyml_jobs",
    "Background jobs finished, by kind (train: predictor training; fit_synthesizer: generator fit), "
    "dataset and status (succeeded, failed).",
    ["kind", "dataset", "status"],
)
JOB_DURATION = Histogram(
    "dailyml_job_duration_seconds",
    "Duration of finished background jobs.",
    ["kind", "dataset"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
SAMPLES_GENERATED = Counter(
    "dailyml_generator_samples_generated",
    "Synthetic samples generated and stored (replayed idempotent answers not counted).",
    ["dataset"],
)

# -- scheduler ---------------------------------------------------------------------------------
SCHEDULER_RUNS = Counter(
    "dailyml_scheduler_runs",
    "Scheduled runs handled by this scheduler, by job, dataset and outcome (succeeded, failed; "
    "already_succeeded, running_elsewhere ...: claimed by no one, nothing done).",
    ["job", "dataset", "outcome"],
)
SCHEDULER_RUN_DURATION = Histogram(
    "dailyml_scheduler_run_duration_seconds",
    "Duration of the runs this scheduler executed.",
    ["job", "dataset"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
SCHEDULER_LAST_SUCCESS = Gauge(
    "dailyml_scheduler_last_success_timestamp_seconds",
    "Unix time at which the last successful run of a job ended, per dataset (read from the run "
    "log at start-up, then updated by each success).",
    ["job", "dataset"],
    multiprocess_mode="max",
)


def record_predictions(dataset: str, model_version: int, labels: Iterable[str], source: str) -> None:
    """Count predictions (grouped first: a batch of 10,000 costs one increment per label) and add
    the dataset and model version to the request's access log line."""
    version = str(model_version)
    for label, n in Tally(labels).items():
        child(PREDICTIONS, dataset, version, label, source).inc(n)
    annotate(dataset=dataset, model_version=model_version)


_CHILDREN: dict[tuple[Any, ...], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: ``labels()`` costs microseconds a call, paid on
    every request otherwise. (Bounded by the label values the metric itself holds.)"""
    key = (id(metric), *labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*labels)
    return found


def record_serving(dataset: str, kind: str, alias: str, version: int, at: float | None = None) -> None:
    """Record that this process now serves ``version`` under ``alias`` (loaded at ``at``, or now)."""
    SERVING_VERSION.labels(dataset, kind, alias).set(version)
    SERVING_CHANGED.labels(dataset, kind, alias).set(at if at is not None else time.time())
    SERVING_LOADS.labels(dataset, kind, alias, "loaded").inc()


def multiprocess_dir() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR``, where worker processes share their metrics; None when unset."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


def render() -> bytes:
    """The metrics in the Prometheus text format: this process's, or every worker's summed when
    ``PROMETHEUS_MULTIPROC_DIR`` is set. Milliseconds of CPU: call it from a threadpool."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
