"""The scheduled jobs. Each is a sequence of HTTP calls to the predictor and the generator
(with the admin token); the scheduler itself trains nothing and predicts nothing.

A job gets the run's ``counts`` dict and fills it as it goes, so a run that fails half-way
records how far it got (and a retry can pick up a training job that is already running).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from dailyml.clients.base import ServiceError
from dailyml.clients.predictor import PredictorClient
from dailyml.contracts import TrainingOutcome
from dailyml.contracts.generator import GenerateOut
from dailyml.metric_direction import is_better
from dailyml.vocab import JobName
from services.scheduler.config import SchedulerSettings

log = logging.getLogger("dailyml.scheduler.jobs")

T = TypeVar("T")

# Statuses worth waiting out: the service is starting, overloaded or behind a restarting proxy.
RETRYABLE_STATUSES = {0, 429, 502, 503, 504}


class Generator(Protocol):
    """What the jobs need of ``dailyml.clients.generator.GeneratorClient``."""

    def generate(self, dataset: str, n: int = 1, idempotency_key: str | None = None) -> GenerateOut: ...


class Stopped(Exception):
    """The scheduler is shutting down; the run is abandoned (and retried after the restart)."""


class JobFailed(Exception):
    """A step of a job failed for good; the message says which step and why."""


@dataclass
class JobContext:
    """What a job body may use: the clients, the settings, a way to save progress, the stop flag."""

    predictor: PredictorClient
    generator: Generator
    settings: SchedulerSettings
    stopping: threading.Event
    save: Callable[[dict[str, Any]], None]

    def call(self, step: str, fn: Callable[[], T]) -> T:
        """``fn()``, retried with exponential backoff while the service is unreachable or not ready."""
        cfg = self.settings
        delay = cfg.backoff_seconds
        for attempt in range(1, cfg.http_attempts + 1):
            try:
                return fn()
            except ServiceError as exc:
                if exc.status not in RETRYABLE_STATUSES or attempt == cfg.http_attempts:
                    tries = f" after {attempt} tries" if attempt > 1 else ""
                    raise JobFailed(f"{step}: {exc.message}{tries}") from exc
                log.warning("%s: %s; try %d/%d again in %.1fs", step, exc.message, attempt, cfg.http_attempts, delay)
                if self.stopping.wait(delay):
                    raise Stopped(f"{step}: scheduler stopping") from exc
                delay = min(delay * 2, cfg.backoff_max_seconds)
        raise AssertionError("unreachable")


def daily_loop(ctx: JobContext, dataset: str, run_key: str, counts: dict[str, Any]) -> None:
    """Generate the day's samples, then predict every stored sample that has no prediction yet.

    Strictly in that order, so inference never races generation. The generation's idempotency
    key is derived from the run key: a retried run replays the first answer instead of adding
    samples, so a day gets its samples once however often it is attempted.
    """
    key = f"daily:{dataset}:{run_key}"
    n = ctx.settings.samples_per_day
    generated = ctx.call(f"generate {dataset}", lambda: ctx.generator.generate(dataset, n, key))
    counts.update(
        idempotency_key=key,
        generated=len(generated.samples),
        replayed=generated.replayed,
        synthesizer_version=generated.synthesizer_version,
    )
    ctx.save(counts)
    predicted, model_version, limit = 0, None, 10_000
    for _ in range(100):  # bounded: each call predicts up to `limit` pending samples
        result = ctx.call(f"predict pending {dataset}", lambda: ctx.predictor.predict_pending(dataset, limit=limit))
        predicted += result.predicted
        model_version = result.model_version
        if result.predicted < limit:
            break
    counts.update(predicted=predicted, model_version=model_version)


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    challenger_score: float
    champion_score: float | None


def gate(outcome: TrainingOutcome, margin: float) -> GateDecision:
    """Promote the challenger only if it beats the champion by more than ``margin`` on the primary
    metric, both scored on the same hold-out rows (the predictor's training job result).

    The metric's direction comes with the result; the rule is the core's ML-free ``is_better``.
    """
    metric, greater = outcome.primary_metric, outcome.greater_is_better
    challenger = outcome.score(outcome.challenger)
    champion = outcome.champion
    if champion is None:
        return GateDecision(True, "no champion yet", challenger, None)
    reference = outcome.score(champion.metrics)
    better = is_better(challenger, reference, greater_is_better=greater, margin=margin)
    direction = "higher" if greater else "lower"
    verdict = "beats" if better else "does not beat"
    reason = (
        f"challenger v{outcome.version} {metric}={challenger:.4f} {verdict} champion v{champion.version} "
        f"{metric}={reference:.4f} by the margin {margin:g} ({direction} is better)"
    )
    return GateDecision(better, reason, challenger, reference)


def _training_result(ctx: JobContext, dataset: str, counts: dict[str, Any]) -> TrainingOutcome:
    """Start a training job (or follow the one a previous attempt started) until it finishes."""
    job_id: str | None = counts.get("train_job_id")
    if job_id is not None:
        known: str = job_id
        previous = ctx.call(f"training job {dataset}", lambda: ctx.predictor.job(known))
        if previous.status == "failed":
            job_id = None
    if job_id is None:
        cfg = ctx.settings
        job_id = ctx.call(
            f"train {dataset}",
            lambda: ctx.predictor.train(dataset, include_synthetic=cfg.include_synthetic, profile=cfg.train_profile),
        )
        counts["train_job_id"] = job_id
        ctx.save(counts)
    started: str = job_id
    deadline = time.monotonic() + ctx.settings.train_timeout_minutes * 60
    while True:
        job = ctx.call(f"training job {dataset}", lambda: ctx.predictor.job(started))
        if job.status == "succeeded":
            assert job.result is not None
            return TrainingOutcome.model_validate(job.result)
        if job.status == "failed":
            counts.pop("train_job_id", None)  # a retry starts a fresh job
            raise JobFailed(f"training {dataset} failed: {job.error or job.message}")
        if time.monotonic() > deadline:
            raise JobFailed(f"training {dataset} did not finish in {ctx.settings.train_timeout_minutes:g} min")
        if ctx.stopping.wait(ctx.settings.job_poll_seconds):
            raise Stopped(f"training {dataset}: scheduler stopping")


def retrain(ctx: JobContext, dataset: str, run_key: str, counts: dict[str, Any]) -> None:
    """Train a challenger on the feature store, compare it with the champion on the same hold-out
    rows, and promote it only if it wins by the configured margin. Records both scores."""
    outcome = _training_result(ctx, dataset, counts)
    margin = ctx.settings.promotion_margin
    decision = gate(outcome, margin)
    champion = outcome.champion
    counts.update(
        challenger_version=outcome.version,
        challenger_algorithm=outcome.algorithm,
        champion_version=champion.version if champion else None,
        primary_metric=outcome.primary_metric,
        greater_is_better=outcome.greater_is_better,
        challenger_score=decision.challenger_score,
        champion_score=decision.champion_score,
        margin=margin,
        training_rows=outcome.training_rows,
        reason=decision.reason,
    )
    if decision.promote:
        # The comparison is only valid against the champion it was made with.
        models = ctx.call(f"models {dataset}", lambda: ctx.predictor.models(dataset))
        current = models.champion
        if champion is not None and current != champion.version:
            counts.update(decision="refused", reason=f"champion changed to v{current} during training; not promoting")
            return
        ctx.call(f"promote {dataset} v{outcome.version}", lambda: ctx.predictor.promote(dataset, outcome.version))
        counts["decision"] = "promoted"
    else:
        counts["decision"] = "refused"


JOB_BODIES: dict[JobName, Callable[[JobContext, str, str, dict[str, Any]], None]] = {
    "daily": daily_loop,
    "retrain": retrain,
}
