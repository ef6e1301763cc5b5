"""Operability: request ids, structured logs and Prometheus metrics.

- ``context``: the request id of the work in progress (a contextvar), set by the HTTP middleware
  and by the scheduler for each run, sent on by ``dailyml.clients`` as ``X-Request-ID``.
- ``logs``: JSON lines (``DAILYML_LOG_FORMAT=json``) or readable text, every line with its request id.
- ``metrics``: the Prometheus metrics every process updates (needs ``prometheus-client``).
- ``http``: the ASGI middleware and the ``/metrics`` route of the FastAPI services.

Nothing here does work at import time beyond declaring metric objects.
"""
