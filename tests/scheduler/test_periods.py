"""Run keys, cron periods, configuration and the promotion rule: no services needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from dailyml.evaluation import GREATER_IS_BETTER, is_better
from services.scheduler.config import FAST_DAILY_CRON, SchedulerSettings
from services.scheduler.jobs import gate
from services.scheduler.periods import Cron


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


def _result(metric: str, challenger: float, champion: float | None) -> dict[str, object]:
    return {
        "version": 2,
        "primary_metric": metric,
        "greater_is_better": GREATER_IS_BETTER[metric],
        "challenger": {metric: challenger},
        "champion": None if champion is None else {"version": 1, "metrics": {metric: champion}},
    }


@pytest.mark.parametrize("metric", sorted(GREATER_IS_BETTER))
@pytest.mark.parametrize(
    ("challenger", "champion", "margin"),
    [(0.9, 0.8, 0.05), (0.9, 0.8, 0.2), (0.8, 0.9, 0.0), (0.5, 0.5, 0.0), (0.5, 0.5, -0.01), (0.4, 0.6, -1.0)],
)
def test_gate_agrees_with_the_core_promotion_rule(
    metric: str, challenger: float, champion: float, margin: float
) -> None:
    decision = gate(_result(metric, challenger, champion), margin)
    assert decision.promote == is_better(metric, challenger, champion, margin)
    assert (decision.challenger_score, decision.champion_score) == (challenger, champion)


def test_gate_promotes_when_there_is_no_champion() -> None:
    assert gate(_result("accuracy", 0.1, None), 0.5).promote


def test_misfire_grace_under_one_second_is_refused() -> None:
    # APScheduler takes whole seconds; a smaller grace would round to 0 and crash it at start.
    with pytest.raises(ValidationError, match="misfire_grace_hours"):
        SchedulerSettings(misfire_grace_hours=0.0001)  # type: ignore[arg-type]
    assert SchedulerSettings(misfire_grace_hours=1 / 3600).misfire_grace_hours > 0  # type: ignore[arg-type]
