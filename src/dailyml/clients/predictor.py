"""Client of the predictor service."""

from __future__ import annotations

from typing import Any, cast

from dailyml.clients.base import ServiceClient
from dailyml.contracts import (
    ActualOut,
    ConfusionMatrix,
    DriftReport,
    HistoryPage,
    JobOut,
    MetricsSeries,
    ModelList,
    ModelVersionOut,
    PendingResult,
    SpecOut,
)
from dailyml.vocab import Bucket, SampleSource, TrainProfile


class PredictorClient(ServiceClient):
    # Predictions and samples stay mappings: their label sits under the dataset's target name, and
    # their models (``contracts.prediction_model``) are built per dataset, from specs a client of
    # the HTTP API need not have.
    def predict(self, dataset: str, features: dict[str, Any]) -> dict[str, Any]:
        """One prediction; the response of ``POST /{dataset}/predict``."""
        return cast(dict[str, Any], self.post(f"/{dataset}/predict", json=features))

    def predict_batch(self, dataset: str, instances: list[dict[str, Any]]) -> dict[str, Any]:
        """Predictions for many rows; the response of ``POST /{dataset}/predict/batch``."""
        return cast(dict[str, Any], self.post(f"/{dataset}/predict/batch", json={"instances": instances}))

    def predict_pending(self, dataset: str, limit: int | None = None) -> PendingResult:
        """Predict stored samples that have none yet (admin)."""
        return PendingResult.model_validate(self.post(f"/{dataset}/predict/pending", limit=limit))

    def history(
        self, dataset: str, *, limit: int = 50, offset: int = 0, source: SampleSource | None = None
    ) -> HistoryPage:
        """A page of logged predictions, newest first, optionally of one sample source."""
        return HistoryPage.model_validate(self.get(f"/{dataset}/history", limit=limit, offset=offset, source=source))

    def record_actual(self, dataset: str, prediction_id: str, actual: Any) -> ActualOut:
        """Record the true label of a logged prediction; the prediction's and sample's ids with it."""
        return ActualOut.model_validate(
            self.post(f"/{dataset}/predictions/{prediction_id}/actual", json={"actual": actual})
        )

    def confusion_matrix(
        self, dataset: str, *, model_version: int | None = None, source: SampleSource | None = None
    ) -> ConfusionMatrix:
        """Counts of predicted against true labels, for one model version and source if given."""
        return ConfusionMatrix.model_validate(
            self.get(f"/{dataset}/confusion-matrix", model_version=model_version, source=source)
        )

    def metrics(
        self,
        dataset: str,
        *,
        bucket: Bucket = "day",
        model_version: int | None = None,
        source: SampleSource | None = None,
        limit: int | None = None,
    ) -> MetricsSeries:
        """Per-bucket accuracy (and MAE for regression); the newest ``limit`` buckets, oldest first."""
        return MetricsSeries.model_validate(
            self.get(f"/{dataset}/metrics", bucket=bucket, model_version=model_version, source=source, limit=limit)
        )

    def spec(self, dataset: str) -> SpecOut:
        """The dataset's task, target, labels and features, as the predictor describes them."""
        return SpecOut.model_validate(self.get(f"/{dataset}/spec"))

    def random_sample(self, dataset: str, source: SampleSource = "reference") -> dict[str, Any]:
        """A random stored sample of ``source`` (reference rows by default)."""
        return self.get(f"/{dataset}/samples/random", source=source)  # type: ignore[no-any-return]

    def models(self, dataset: str) -> ModelList:
        """The dataset's registered model versions and which one is champion."""
        return ModelList.model_validate(self.get(f"/{dataset}/models"))

    def promote(self, dataset: str, version: int) -> ModelVersionOut:
        """Make model ``version`` the champion (admin); the promoted version."""
        return ModelVersionOut.model_validate(self.post(f"/{dataset}/models/{version}/promote"))

    def rollback(self, dataset: str) -> ModelVersionOut:
        """Give the champion alias back to the previous champion (admin); that version."""
        return ModelVersionOut.model_validate(self.post(f"/{dataset}/models/rollback"))

    def train(self, dataset: str, *, include_synthetic: bool = True, profile: TrainProfile | None = None) -> str:
        """Start training a challenger (admin); returns the job id."""
        body = {"include_synthetic": include_synthetic, "profile": profile}
        return str(self.post(f"/{dataset}/models/train", json=body)["job_id"])

    def job(self, job_id: str) -> JobOut:
        """The state, progress and result of the background job ``job_id``."""
        return JobOut.model_validate(self.get(f"/jobs/{job_id}"))

    def drift(self, dataset: str, window: str = "24h", source: SampleSource | None = None) -> DriftReport:
        """Per feature, PSI and a chi-square test of the recent inputs against the reference rows."""
        return DriftReport.model_validate(self.get(f"/{dataset}/drift", window=window, source=source))
