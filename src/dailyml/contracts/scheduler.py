"""The scheduler API's request and response models: the run log, manual triggers, the schedule."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dailyml.contracts.common import UTCDateTime
from dailyml.datasets import DATASET_NAMES
from dailyml.vocab import JobName, RunOutcome, RunStatus, RunTrigger

DatasetName = Literal[DATASET_NAMES]  # type: ignore[valid-type]


class RunOut(BaseModel):
    """One run of a scheduled job for one dataset and scheduled date (or minute, in fast mode)."""

    id: int
    job: JobName
    dataset: str
    scheduled_for: str
    status: RunStatus
    attempts: int
    trigger: RunTrigger
    counts: dict[str, Any]
    error: str | None
    started_at: UTCDateTime
    finished_at: UTCDateTime | None
    outcome: RunOutcome | None = Field(
        default=None, description="Only in POST /runs answers: what the trigger did with this run."
    )


class RunPage(BaseModel):
    total: int
    items: list[RunOut]


class TriggerRequest(BaseModel):
    """Body of ``POST /runs``: run a job now, through the same path as its cron."""

    model_config = ConfigDict(extra="forbid", strict=True)

    job: JobName
    dataset: DatasetName | None = Field(default=None, description="One dataset, or null for every configured one.")


class ScheduledJobOut(BaseModel):
    job: JobName
    cron: str
    timezone: str
    next_run_time: UTCDateTime | None
    current_period: str | None = Field(description="scheduled_for of the latest fire time: the run key of now.")
    datasets: list[str]


class ScheduleOut(BaseModel):
    timezone: str
    fast: bool
    misfire_grace_hours: float
    promotion_margin: float
    retry_interval_seconds: float
    jobs: list[ScheduledJobOut]
