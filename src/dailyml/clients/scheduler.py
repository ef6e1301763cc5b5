"""Client of the scheduler service, and the shapes its API returns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dailyml.clients.base import ServiceClient
from dailyml.contracts import UTCDateTime
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


class SchedulerClient(ServiceClient):
    def runs(
        self,
        *,
        job: JobName | None = None,
        dataset: str | None = None,
        status: RunStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> RunPage:
        """The run log, newest first, filtered."""
        return RunPage(**self.get("/runs", job=job, dataset=dataset, status=status, limit=limit, offset=offset))

    def trigger(self, job: JobName, dataset: str | None = None, *, timeout: float | None = None) -> RunPage:
        """Run ``job`` now (admin) and wait for it; retraining can take minutes, hence no timeout by default."""
        body = TriggerRequest(job=job, dataset=dataset).model_dump()
        return RunPage(**self.request("POST", "/runs", json=body, timeout=timeout))

    def schedule(self) -> ScheduleOut:
        """The schedule: time zone, settings, and each job's cron and next fire time."""
        return ScheduleOut(**self.get("/schedule"))
