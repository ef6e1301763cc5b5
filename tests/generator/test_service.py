"""The generator as a real process over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx
import pytest

from dailyml.clients.base import ServiceError
from dailyml.clients.generator import GeneratorClient
from dailyml.db import transaction
from dailyml.generation.fitting import FIT_JOB
from dailyml.tables import Job
from tests.generator.conftest import assert_rows_pass_the_api
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database
from tests.support.generator import quick_generator_env
from tests.support.net import wait_http
from tests.support.observability import Scrape
from tests.support.processes import start_service
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.processes


def _wait_job(client: GeneratorClient, job_id: str, timeout: float = 240) -> list[tuple[str, float]]:
    """Poll a job until it ends; returns the (status, progress) pairs seen."""
    seen: list[tuple[str, float]] = []

    def ended() -> bool:
        job = client.job(job_id)
        seen.append((job.status, job.progress))
        return job.status in ("succeeded", "failed")

    wait_until(lambda: ended() or NotYet(seen[-3:]), timeout, f"job {job_id} to end", interval=0.3)
    return seen


def test_generator_service_end_to_end(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A fit job left running by a generator that died is failed at the next start.
    with transaction(db.engine) as session:
        orphan = Job(kind=FIT_JOB, dataset="iris", status="running", message="epoch 3/300")
        session.add(orphan)
    service = start_service(
        "generator",
        quick_generator_env(db, algorithm="empirical_copula", report_rows=400),
        tmp_path / "logs",
        ready_path="/healthz",
    )
    try:
        # Not ready until the first start has fitted a default synthesizer for every dataset.
        first = httpx.get(service.url + "/readyz")
        assert first.status_code == 503, first.text
        assert set(first.json()["missing_synthesizers"]) <= {"iris", "wine"}
        ready = wait_http(service.url + "/readyz", timeout=180).json()
        assert set(ready["synthesizers"]) == {"iris", "wine"}

        admin = GeneratorClient(service.url, admin_token=ADMIN_TOKEN)
        anonymous = GeneratorClient(service.url)
        assert admin.job(str(orphan.id)).status == "failed"

        # Default synthesizer and its fidelity report.
        listing = admin.synthesizers("wine")
        assert listing.default == 1
        default = listing.versions[0]
        assert default.aliases == ["default"] and default.algorithm == "empirical_copula"
        for key in ("quality", "column_shapes", "column_pair_trends", "diagnostic", "tstr", "label_distribution"):
            assert key in default.metrics
        assert "no default yet" in default.metrics["selection"]["reason"]

        # Generation: admin only, validated, idempotent.
        with pytest.raises(ServiceError) as denied:
            anonymous.generate("wine", 2)
        assert denied.value.status == 401
        for body, field in (
            ({"n": 0}, "n"),
            ({"n": 10_001}, "n"),
            ({"n": 1, "extra": 1}, "extra"),
            ({"n": 1, "idempotency_key": "k" * 129}, "idempotency_key"),
        ):
            response = httpx.post(
                f"{service.url}/wine/generate", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["field"] == field
        made = admin.generate("wine", 12, idempotency_key="e2e-1")
        assert made.n == 12 and made.replayed is False and made.synthesizer_version == 1
        import pandas as pd

        from dailyml.datasets import get_spec

        rows = pd.DataFrame([{**s["features"], "label": str(s["quality"])} for s in made.samples])
        assert_rows_pass_the_api(get_spec("wine"), rows)
        replay = admin.generate("wine", 12, idempotency_key="e2e-1")
        assert replay.replayed is True and replay.samples == made.samples
        iris = admin.generate("iris", 3)
        assert {s["variety"] for s in iris.samples} <= {"setosa", "versicolor", "virginica"}

        # Samples, newest first, filtered by source; nothing new stored by the replay.
        page = admin.samples("wine", source="synthetic", limit=5)
        assert page.total == 12 and len(page.items) == 5
        assert all(i["source"] == "synthetic" and i["synthesizer_version"] == 1 for i in page.items)
        assert {i["sample_id"] for i in page.items} <= {s["sample_id"] for s in made.samples}
        reference = admin.samples("wine", source="reference", limit=2, offset=10)
        assert reference.total == 6497 and reference.items[0]["synthesizer_version"] is None
        bad = httpx.get(f"{service.url}/wine/samples", params={"source": "made-up"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "source"
        assert httpx.get(f"{service.url}/wine/samples", params={"limit": 1001}).status_code == 422

        # Distributions: reference against synthetic, every row counted once.
        dist = admin.distributions("wine", bins=10)
        alcohol = dist.features["alcohol"]
        assert alcohol.kind == "float" and len(alcohol.edges or []) == 11
        assert sum(alcohol.reference) == 6497 and sum(alcohol.synthetic) == 12
        assert dist.features["wine_type"].categories == ["red", "white"]
        assert dist.label.labels == [3, 4, 5, 6, 7, 8, 9] and sum(dist.label.synthetic) == 12

        # A background fit with progress; the default follows the measurement.
        with pytest.raises(ServiceError) as unknown:
            admin.fit("wine", "magic")
        assert unknown.value.status == 422 and unknown.value.detail[0]["field"] == "algorithm"
        with pytest.raises(ServiceError) as denied:
            anonymous.fit("wine", "gaussian_copula")
        assert denied.value.status == 401
        accepted = admin.fit("iris", "tvae", epochs=2, promote="never")
        seen = _wait_job(admin, str(accepted.job_id))
        job = admin.job(str(accepted.job_id))
        assert job.status == "succeeded", job.error
        assert job.kind == FIT_JOB and job.progress == 1.0 and job.finished_at is not None
        assert [p for _, p in seen] == sorted(p for _, p in seen)
        assert job.result and job.result["algorithm"] == "tvae" and job.result["became_default"] is False
        iris_list = admin.synthesizers("iris")
        assert iris_list.default == 1 and iris_list.versions[0].algorithm == "tvae"
        assert iris_list.versions[0].params["epochs"] == 2
        with pytest.raises(ServiceError) as missing:
            admin.job(str(uuid.uuid4()))
        assert missing.value.status == 404

        # What /metrics says of all this (a fresh process: exact counts).
        scrape = Scrape.of(service.url)
        assert scrape.value("dailyml_generator_samples_generated_total", dataset="wine") == 12  # replay not counted
        assert scrape.value("dailyml_generator_samples_generated_total", dataset="iris") == 3
        # The first start's fit per dataset, then the TVAE fit; the orphan was failed, not run.
        assert scrape.value("dailyml_jobs_total", kind=FIT_JOB, dataset="iris", status="succeeded") == 2
        assert scrape.value("dailyml_jobs_total", kind=FIT_JOB, dataset="wine", status="succeeded") == 1
        assert scrape.value("dailyml_jobs_total", kind=FIT_JOB, status="failed") == 0
        assert scrape.value("dailyml_serving_version", dataset="wine", kind="synthesizer", alias="default") == 1
        assert scrape.value("dailyml_http_requests_total", route="/wine/generate", status="422") == 4
        assert scrape.value("dailyml_http_requests_total", route="/wine/generate", status="200") == 2
    finally:
        service.stop()


def test_the_predictor_never_imports_sdv() -> None:
    code = (
        "import sys, services.predictor.app, dailyml.clients, dailyml.synthesizers, dailyml.contracts.generator; "
        "bad = [m for m in ('sdv', 'ctgan', 'sdmetrics', 'rdt', 'copulas') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
