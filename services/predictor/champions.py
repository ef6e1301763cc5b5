"""The champions in memory, kept current by following the registry's ``champion`` alias
(``dailyml.alias_follower.AliasFollower``): requests in flight finish on the model they started with."""

from __future__ import annotations

from typing import Any

from dailyml.alias_follower import AliasFollower
from dailyml.inference import LoadedModel
from dailyml.registry import CHAMPION, Registry
from dailyml.tables import ModelVersion


def single_threaded(estimator: Any) -> Any:
    """The estimator with every ``n_jobs`` set to 1 for serving.

    Requests already run in parallel in the threadpool; a forest that also fans each one-row
    predict out to joblib workers pays tens of milliseconds of pool overhead per request.
    """
    params = {name: 1 for name in estimator.get_params() if name.endswith("n_jobs")}
    if params:
        estimator.set_params(**params)
    return estimator


class ModelServer(AliasFollower[LoadedModel]):
    """Each dataset's champion model, compiled where possible, served single-threaded."""

    def __init__(self, registry: Registry, datasets: tuple[str, ...], poll_seconds: float) -> None:
        def load(mv: ModelVersion) -> LoadedModel:
            estimator = single_threaded(registry.load(mv))
            return LoadedModel.load(mv.dataset, mv.id or 0, mv.version, mv.algorithm, estimator)

        super().__init__(
            registry, datasets, poll_seconds, kind="model", alias=CHAMPION, what="champion model", load=load
        )
