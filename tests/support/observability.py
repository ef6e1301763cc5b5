"""Reading what a service reports: its /metrics as Prometheus does (prometheus-client's own parser),
and its JSON log lines."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.waiting import NotYet, wait_until


class Scrape:
    """One scrape of ``/metrics``, parsed. ``value(name, **labels)`` sums matching samples."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [s for family in text_string_to_metric_families(text) for s in family.samples]

    @classmethod
    def of(cls, base_url: str, client: httpx.Client | None = None) -> Scrape:
        response = (client or httpx).get(base_url.rstrip("/") + "/metrics", timeout=10)  # type: ignore[attr-defined]
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        return cls(response.text)

    def matching(self, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
        return [
            (s.labels, s.value)
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        return sum(v for _, v in self.matching(name, **labels))


def wait_for_scrape(base_url: str, condition: Callable[[Scrape], bool], what: str, timeout: float = 15.0) -> Scrape:
    """Scrape until ``condition`` holds (e.g. the prediction log has written its batch)."""

    def scrape() -> Scrape | NotYet:
        got = Scrape.of(base_url)
        return got if condition(got) else NotYet(what)

    return wait_until(scrape, timeout, what)


def wait_for_log_lines(
    read: Callable[[], str], request_ids: set[str], timeout: float = 15.0
) -> dict[str, list[dict[str, object]]]:
    """The JSON lines of each of ``request_ids`` once every one has its access line.

    An access line is written when the response has been sent: a client may read the log a
    moment before it lands.
    """

    def lines() -> dict[str, list[dict[str, object]]] | NotYet:
        found: dict[str, list[dict[str, object]]] = {rid: [] for rid in request_ids}
        for line in json_lines(read()):
            if line.get("request_id") in found:
                found[str(line["request_id"])].append(line)
        missing = [rid for rid, ls in found.items() if not any(x.get("logger") == "dailyml.access" for x in ls)]
        return NotYet(f"no access line yet for {missing}") if missing else found

    return wait_until(lines, timeout, f"access log lines of {sorted(request_ids)}")


def json_lines(log_text: str) -> list[dict[str, object]]:
    """The JSON log lines of a service's output (other lines, if any, skipped)."""
    out = []
    for line in log_text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out
