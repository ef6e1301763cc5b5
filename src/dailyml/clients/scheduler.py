"""Client of the scheduler service."""

from __future__ import annotations

from dailyml.clients.base import ServiceClient
from dailyml.contracts.scheduler import RunPage, ScheduleOut, TriggerRequest
from dailyml.vocab import JobName, RunStatus


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
