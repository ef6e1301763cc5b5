"""Scheduler configuration, from the environment (prefix ``DAILYML_SCHEDULER_``).

The URLs of the other services, the admin token and the database come from the shared
``dailyml.settings.Settings``; only what is the scheduler's own lives here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dailyml.datasets import DATASET_NAMES
from dailyml.settings import comma_separated
from dailyml.vocab import JobName, TrainProfile

FAST_DAILY_CRON = "* * * * *"


def parse_cron(expr: str, timezone: str) -> Any:
    """An APScheduler cron trigger for a five-field crontab ``expr`` (ValueError when invalid).

    APScheduler 3 numbers weekdays from Monday = 0, unlike crontab; day names (``mon``) are
    unambiguous, which is why the defaults use them. The trigger is corrected across
    daylight-saving changes (``triggers.py``).
    """
    from services.scheduler.triggers import DstSafeCronTrigger

    return DstSafeCronTrigger.from_crontab(expr, timezone=ZoneInfo(timezone))


class SchedulerSettings(BaseSettings):
    """When the jobs run, how hard they retry and how the retraining gate decides."""

    model_config = SettingsConfigDict(env_prefix="DAILYML_SCHEDULER_", env_file=None, extra="ignore")

    daily_cron: str = Field(default="0 6 * * *", description="Crontab of the daily loop (generate, then predict).")
    retrain_cron: str = Field(default="0 7 * * mon", description="Crontab of retraining with the promotion gate.")
    timezone: str = Field(default="UTC", description="Time zone of the cron expressions and of the run dates.")
    fast: bool = Field(default=False, description="Run the daily loop every minute (demo: watch the dashboard fill).")
    misfire_grace_hours: float = Field(
        # APScheduler takes whole seconds: anything under one second would round to zero and crash it.
        default=12.0,
        ge=1 / 3600,
        description="A run missed while the scheduler was down is caught up if this recent (at least 1 s).",
    )
    run_on_first_start: bool = Field(
        default=True,
        description="Run the daily loop's current period at once for a dataset that never had one, "
        "whatever the misfire grace (a new installation shows data without waiting for the next fire).",
    )
    promotion_margin: float = Field(
        default=0.01,
        description="A challenger is promoted only if it beats the champion's primary metric by more than this.",
    )
    samples_per_day: int = Field(default=1, ge=1, le=10_000, description="Synthetic samples generated per run.")
    datasets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DATASET_NAMES), description="Datasets the jobs run for (comma-separated)."
    )
    retry_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often failed or missed runs of the current period are retried."
    )
    max_attempts: int = Field(default=10, ge=1, description="Automatic attempts per run (manual triggers ignore it).")
    http_attempts: int = Field(default=5, ge=1, description="Tries per HTTP call while a service is down.")
    backoff_seconds: float = Field(default=2.0, gt=0, description="First wait between tries; doubles each time.")
    backoff_max_seconds: float = Field(default=60.0, gt=0)
    http_timeout_seconds: float = Field(default=60.0, gt=0)
    train_profile: TrainProfile | None = Field(
        default=None, description="Training profile asked of the predictor; unset: the predictor's own."
    )
    include_synthetic: bool = Field(default=True, description="Train challengers on labelled synthetic rows too.")
    train_timeout_minutes: float = Field(default=60.0, gt=0, description="Give up on a training job after this.")
    job_poll_seconds: float = Field(default=2.0, gt=0)
    run_timeout_minutes: float = Field(
        default=120.0, gt=0, description="A run still 'running' after this is taken over (its process died)."
    )

    _split_datasets = field_validator("datasets", mode="before")(comma_separated)

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, value: list[str]) -> list[str]:
        unknown = [d for d in value if d not in DATASET_NAMES]
        if unknown:
            raise ValueError(f"unknown dataset(s) {unknown}; known: {list(DATASET_NAMES)}")
        if not value:
            raise ValueError("at least one dataset is required")
        return list(dict.fromkeys(value))

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as 'UTC' or 'Europe/Paris')") from None
        return value

    @model_validator(mode="after")
    def _valid_crons(self) -> SchedulerSettings:
        for name in ("daily_cron", "retrain_cron"):
            try:
                parse_cron(getattr(self, name), self.timezone)
            except ValueError as exc:
                raise ValueError(f"DAILYML_SCHEDULER_{name.upper()} is not a valid crontab: {exc}") from None
        if self.run_timeout_minutes <= self.train_timeout_minutes:
            raise ValueError("DAILYML_SCHEDULER_RUN_TIMEOUT_MINUTES must exceed ..._TRAIN_TIMEOUT_MINUTES")
        return self

    @property
    def effective_daily_cron(self) -> str:
        """The daily loop's crontab: every minute in fast mode."""
        return FAST_DAILY_CRON if self.fast else self.daily_cron

    def cron(self, job: JobName) -> str:
        """The crontab of ``job`` (daily | retrain)."""
        return self.effective_daily_cron if job == "daily" else self.retrain_cron


@lru_cache
def get_scheduler_settings() -> SchedulerSettings:
    """The process-wide scheduler settings, read on first use (never at import)."""
    return SchedulerSettings()
