"""A daily run's request id reaches the generator's and the predictor's logs; the scheduler's run
metrics (by outcome, last success, also after a restart from the run log) and the generator's
(samples generated, default synthesizer) say what happened. Fit jobs: tests/generator/test_service.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from dailyml.observability.context import request_scope
from services.scheduler.telemetry import record_last_successes
from tests.scheduler.conftest import Stack, make_runner
from tests.support.observability import Scrape
from tests.support.processes import ServiceProcess
from tests.support.scheduling import FakeClock
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.processes


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_run_is_followed_by_its_request_id_and_counted(stack: Stack) -> None:
    clock = FakeClock(datetime(2031, 6, 2, 7, 30, tzinfo=UTC))  # a day no other test uses
    runner = make_runner(stack.db, stack.predictor.url, stack.generator.url, clock, samples_per_day=4)
    succeeded = dict(job="daily", dataset="iris", outcome="succeeded")
    done = dict(job="daily", dataset="iris", outcome="already_succeeded")
    before = _value("dailyml_scheduler_runs_total", **succeeded), _value("dailyml_scheduler_runs_total", **done)

    with request_scope("sched-obs-2031-06-02") as request_id:
        (claim,) = runner.trigger("daily", "iris")
    assert claim.run.status == "succeeded", claim.run.error
    (again,) = runner.trigger("daily", "iris")  # a fresh request id of its own; nothing to do
    assert again.outcome == "already_succeeded"

    assert _value("dailyml_scheduler_runs_total", **succeeded) == before[0] + 1
    assert _value("dailyml_scheduler_runs_total", **done) == before[1] + 1
    assert _value("dailyml_scheduler_run_duration_seconds_count", job="daily", dataset="iris") >= 1

    # The services log as text here: the request id stands in brackets on the lines of the run.
    def lines_of(service: ServiceProcess, access: str) -> list[str] | NotYet:
        lines = [ln for ln in service.log().splitlines() if f"[{request_id}]" in ln]
        return lines if any(access in ln for ln in lines) else NotYet(lines)

    wait_until(lambda: lines_of(stack.generator, "POST /iris/generate 200"), 15, "the generator's access line")
    predictor_lines = wait_until(
        lambda: lines_of(stack.predictor, "POST /iris/predict/pending 200"), 15, "the predictor's access line"
    )
    assert any("route=/iris/predict/pending" in ln and "model_version=" in ln for ln in predictor_lines)

    # A restarted scheduler reads the last success of each job from the run log.
    finished = claim.run.finished_at
    assert finished is not None
    gauge = "dailyml_scheduler_last_success_timestamp_seconds"
    assert record_last_successes(stack.db.engine) >= 1
    assert _value(gauge, job="daily", dataset="iris") == pytest.approx(clock.now.timestamp(), abs=1)

    generator = Scrape.of(stack.generator.url)
    assert generator.value("dailyml_generator_samples_generated_total", dataset="iris") >= 4
    assert generator.value("dailyml_serving_version", dataset="iris", kind="synthesizer", alias="default") >= 1
    assert generator.value("dailyml_http_requests_total", route="/iris/generate", status="200") >= 1
