"""The scheduler API's request and response models: the run log, manual triggers, the schedule."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
import sqlmodel
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import SQLModel

from dailyml import clock
from dailyml.contracts.common import UTCDateTime, answer_config, json_column, timestamp_column
from dailyml.datasets import DATASET_NAMES
from dailyml.vocab import JobName, RunOutcome, RunStatus, RunTrigger

DatasetName = Literal[DATASET_NAMES]  # type: ignore[valid-type]


class RunBase(SQLModel):
    """A scheduled run of a job for one dataset and scheduled date: the ``runs`` table's fields
    and what the scheduler API reports."""

    id: int | None = sqlmodel.Field(default=None, primary_key=True)
    job: JobName = sqlmodel.Field(sa_type=sa.String(32))
    dataset: str = sqlmodel.Field(sa_type=sa.String(32))
    scheduled_for: str = sqlmodel.Field(sa_type=sa.String(32))  # the scheduled date (or minute, in fast mode), ISO
    status: RunStatus = sqlmodel.Field(default="running", sa_type=sa.String(16))
    attempts: int = 1
    trigger: RunTrigger = sqlmodel.Field(default="cron", sa_type=sa.String(16))
    counts: dict[str, Any] = json_column(default_factory=dict)
    error: str | None = sqlmodel.Field(default=None, sa_type=sa.Text)
    started_at: UTCDateTime = timestamp_column(default_factory=clock.now)
    finished_at: UTCDateTime | None = timestamp_column(default=None)


class RunOut(RunBase):
    """One run of a scheduled job for one dataset and scheduled date (or minute, in fast mode)."""

    model_config = answer_config(RunBase)
    id: int
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
