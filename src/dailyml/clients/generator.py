"""Client of the generator service."""

from __future__ import annotations

from dailyml.clients.base import ServiceClient
from dailyml.contracts.common import JobAccepted, JobOut
from dailyml.contracts.generator import Distributions, GenerateOut, SamplesPage, SynthesizerList
from dailyml.vocab import SampleSource


class GeneratorClient(ServiceClient):
    def generate(self, dataset: str, n: int = 1, idempotency_key: str | None = None) -> GenerateOut:
        """Generate and store ``n`` labelled rows (admin). A repeated key replays the first answer."""
        body = {"n": n, "idempotency_key": idempotency_key}
        return GenerateOut.model_validate(self.post(f"/{dataset}/generate", json=body))

    def samples(
        self, dataset: str, source: SampleSource | None = None, limit: int = 50, offset: int = 0
    ) -> SamplesPage:
        """A page of stored samples, newest first."""
        return SamplesPage.model_validate(self.get(f"/{dataset}/samples", source=source, limit=limit, offset=offset))

    def synthesizers(self, dataset: str) -> SynthesizerList:
        """Fitted versions with their fidelity reports, and which one is default."""
        return SynthesizerList.model_validate(self.get(f"/{dataset}/synthesizers"))

    def fit(self, dataset: str, algorithm: str, epochs: int | None = None, promote: str = "auto") -> JobAccepted:
        """Start a background fit (admin); poll ``job`` with the returned id."""
        body = {"algorithm": algorithm, "epochs": epochs, "promote": promote}
        return JobAccepted.model_validate(self.post(f"/{dataset}/synthesizers/fit", json=body))

    def job(self, job_id: str) -> JobOut:
        """The state, progress and result of the background job ``job_id``."""
        return JobOut.model_validate(self.get(f"/jobs/{job_id}"))

    def distributions(self, dataset: str, bins: int = 20) -> Distributions:
        """Histograms of each feature and the label, reference against synthetic."""
        return Distributions.model_validate(self.get(f"/{dataset}/distributions", bins=bins))
