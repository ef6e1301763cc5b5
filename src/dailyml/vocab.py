"""The closed sets of words the services and their clients share, declared once.

Each is a ``Literal`` type (so the APIs document it as an enum and mypy checks every use), with
its values as a tuple where code iterates them. Standard library only: the scheduler, the
clients and the frontends import it without loading anything heavy.
"""

from __future__ import annotations

from typing import Literal, get_args

# The scheduler's jobs (``services/scheduler/scheduled_jobs.py`` has one body per name).
JobName = Literal["daily", "retrain"]
JOB_NAMES: tuple[JobName, ...] = get_args(JobName)

# The state of one scheduled run in the run log.
RunStatus = Literal["running", "succeeded", "failed", "skipped"]

# What started a run: its cron, a person (``POST /runs``, ``dailyml run``), a missed period caught
# up, a retry of a failed run, or a dataset's first start.
RunTrigger = Literal["cron", "manual", "catchup", "retry", "first"]

# What asking for a run did: ran it (``started``, or ``retried`` a failed one) or why it did not.
RunOutcome = Literal["started", "retried", "already_succeeded", "in_progress", "attempts_exhausted"]

# The state of a background job (training a challenger, fitting a synthesizer).
JobStatus = Literal["queued", "running", "succeeded", "failed"]

# Where a stored sample came from: the published data, a synthesizer, or a prediction request.
SampleSource = Literal["reference", "synthetic", "online"]

# The time buckets the monitoring metrics are grouped by.
Bucket = Literal["minute", "hour", "day", "week"]
BUCKETS: tuple[Bucket, ...] = get_args(Bucket)

# How thoroughly training searches: ``fast`` for tests and demos, ``full`` for the real thing.
TrainProfile = Literal["fast", "full"]
