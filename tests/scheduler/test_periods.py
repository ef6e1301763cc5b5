"""Run keys, cron periods, configuration and the promotion rule: no services needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from dailyml.contracts import TrainingOutcome
from dailyml.scores import ClassificationMetrics, LabelCounts, RegressionMetrics
from dailyml.vocab import JOB_NAMES
from services.scheduler.config import FAST_DAILY_CRON, SchedulerSettings, parse_cron
from services.scheduler.periods import Cron
from services.scheduler.scheduled_jobs import JOB_BODIES, gate


def test_daily_cron_keys_runs_by_the_date_of_the_latest_fire() -> None:
    cron = Cron("0 6 * * *", "UTC")
    before = datetime(2026, 3, 2, 5, 59, tzinfo=UTC)
    after = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    assert cron.run_key(cron.latest_fire(before)) == "2026-03-01"  # type: ignore[arg-type]
    assert cron.run_key(cron.latest_fire(after)) == "2026-03-02"  # type: ignore[arg-type]
    assert cron.latest_fire(after) == after


def test_fast_cron_keys_runs_by_minute() -> None:
    cron = Cron(FAST_DAILY_CRON, "UTC")
    now = datetime(2026, 3, 2, 10, 17, 42, tzinfo=UTC)
    assert not cron.daily_or_slower
    assert cron.run_key(cron.latest_fire(now)) == "2026-03-02T10:17"  # type: ignore[arg-type]


def test_weekly_cron_uses_day_names_and_keys_by_the_week_s_fire_date() -> None:
    cron = Cron("0 7 * * mon", "UTC")
    wednesday = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert cron.latest_fire(wednesday) == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert cron.run_key(cron.latest_fire(wednesday)) == "2026-03-02"  # type: ignore[arg-type]


def test_run_date_is_in_the_configured_time_zone() -> None:
    cron = Cron("30 0 * * *", "Asia/Tokyo")  # 00:30 in Tokyo is 15:30 UTC the day before
    now = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert cron.run_key(cron.latest_fire(now)) == "2026-03-02"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("daily_cron", "0 25 * * *", "DAILYML_SCHEDULER_DAILY_CRON"),
        ("retrain_cron", "every monday", "DAILYML_SCHEDULER_RETRAIN_CRON"),
        ("timezone", "Mars/Olympus", "unknown time zone"),
        ("datasets", "iris,titanic", "unknown dataset"),
    ],
)
def test_invalid_configuration_is_refused_naming_the_setting(field: str, value: str, needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        SchedulerSettings(**{field: value})  # type: ignore[arg-type]


def test_datasets_are_read_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYML_SCHEDULER_DATASETS", "wine, iris")
    monkeypatch.setenv("DAILYML_SCHEDULER_FAST", "true")
    cfg = SchedulerSettings()
    assert cfg.datasets == ["wine", "iris"]
    assert cfg.effective_daily_cron == FAST_DAILY_CRON


def _metrics(metric: str, value: float) -> dict[str, Any]:
    """The JSON of an evaluation whose ``metric`` (accuracy or mse) is ``value``."""
    if metric == "accuracy":
        counts = LabelCounts(labels=["a", "b"], matrix=[[50, 0], [0, 50]])
        return ClassificationMetrics(n=100, accuracy=value, macro_f1=value, confusion_matrix=counts).model_dump()
    return RegressionMetrics(n=100, mse=value, mae=value, exact_accuracy=0.5, within_one_accuracy=0.9).model_dump()


def _result(metric: str, greater: bool, challenger: float, champion: float | None) -> TrainingOutcome:
    """A training job's result as the scheduler reads it from the predictor's JSON."""
    return TrainingOutcome.model_validate(
        {
            "version": 2,
            "algorithm": "knn_k5",
            "primary_metric": metric,
            "greater_is_better": greater,
            "challenger": _metrics(metric, challenger),
            "training_rows": 100,
            "champion": None if champion is None else {"version": 1, "metrics": _metrics(metric, champion)},
        }
    )


@pytest.mark.parametrize(
    ("metric", "greater", "challenger", "champion", "margin", "promote"),
    [
        ("accuracy", True, 0.9, 0.8, 0.05, True),
        ("accuracy", True, 0.9, 0.8, 0.2, False),
        ("accuracy", True, 0.5, 0.5, 0.0, False),
        ("mse", False, 0.4, 0.5, 0.05, True),
        ("mse", False, 0.5, 0.4, 0.0, False),
        ("mse", False, 0.45, 0.5, 0.1, False),
    ],
)
def test_gate_promotes_a_challenger_that_beats_the_champion_by_the_margin_in_the_metric_s_direction(
    metric: str, greater: bool, challenger: float, champion: float, margin: float, promote: bool
) -> None:
    decision = gate(_result(metric, greater, challenger, champion), margin)
    assert decision.promote is promote
    assert (decision.challenger_score, decision.champion_score) == (challenger, champion)
    assert ("higher is better" if greater else "lower is better") in decision.reason


def test_every_job_name_has_a_body_and_a_cron() -> None:
    assert tuple(JOB_BODIES) == JOB_NAMES
    settings = SchedulerSettings()
    assert [settings.cron(job) for job in JOB_NAMES] == [settings.daily_cron, settings.retrain_cron]


def test_gate_promotes_when_there_is_no_champion() -> None:
    assert gate(_result("accuracy", True, 0.1, None), 0.5).promote


def test_misfire_grace_under_one_second_is_refused() -> None:
    # APScheduler takes whole seconds; a smaller grace would round to 0 and crash it at start.
    with pytest.raises(ValidationError, match="misfire_grace_hours"):
        SchedulerSettings(misfire_grace_hours=0.0001)  # type: ignore[arg-type]
    assert SchedulerSettings(misfire_grace_hours=1 / 3600).misfire_grace_hours > 0  # type: ignore[arg-type]


def _wall_clock_fires(expr: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in [start, end) whose local wall-clock time matches a daily ``M H * * *``."""
    minute, hour = (int(v) for v in expr.split()[:2])
    tz, fires, moment = ZoneInfo(zone), [], start
    while moment < end:
        local = moment.astimezone(tz)
        if (local.hour, local.minute) == (hour, minute):
            fires.append(moment)
        moment += timedelta(minutes=1)
    return fires


DST_CHANGES = [
    ("Europe/Paris", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ("Europe/Paris", datetime(2026, 10, 25, 1, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, 0, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2026, 4, 4, 16, 0, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2026, 10, 3, 16, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "change"), DST_CHANGES, ids=[f"{z}-{c:%m-%d}" for z, c in DST_CHANGES])
def test_daily_fire_times_match_the_wall_clock_across_dst_changes(zone: str, change: datetime) -> None:
    """APScheduler 3 alone skips the day after a spring-forward for a cron at 00:xx (e.g. Paris
    2026-03-29 00:30 -> 03-31); our trigger must give every fire a wall clock shows, in order."""
    start, end = change - timedelta(days=2), change + timedelta(days=2)
    for hour in (0, 1, 3, 6, 12, 23):  # 02:xx does not exist on spring-forward days: APScheduler's own rule
        expr = f"30 {hour} * * *"
        trigger = parse_cron(expr, zone)
        expected = _wall_clock_fires(expr, zone, start, end)
        fire, seen = trigger.get_next_fire_time(None, start.astimezone(ZoneInfo(zone))), []
        while fire is not None and fire < end:
            seen.append(fire.astimezone(UTC))
            fire = trigger.get_next_fire_time(
                fire, (fire.astimezone(UTC) + timedelta(seconds=1)).astimezone(ZoneInfo(zone))
            )
        assert seen == expected, f"{expr} in {zone}"


def test_an_hour_repeated_when_clocks_go_back_fires_twice_then_moves_on() -> None:
    tz = ZoneInfo("Europe/Paris")
    trigger = parse_cron("30 2 * * *", "Europe/Paris")
    fire, seen = datetime(2026, 10, 24, 2, 30, tzinfo=tz), []
    for _ in range(3):
        fire = trigger.get_next_fire_time(fire, (fire.astimezone(UTC) + timedelta(seconds=1)).astimezone(tz))
        seen.append(fire.astimezone(UTC))
    # 02:30 CEST, 02:30 CET (the same date: its run key makes the second one a no-op), the next day.
    assert seen == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    assert Cron("30 2 * * *", "Europe/Paris").run_key(seen[0]) == Cron("30 2 * * *", "Europe/Paris").run_key(seen[1])
