"""The default synthesizers in memory, kept current by following the registry's ``default``
alias (``dailyml.alias_follower.AliasFollower``): a generation in flight finishes on the synthesizer it
started with. Loading happens in the poller thread, so the service answers /healthz while SDV loads.
"""

from __future__ import annotations

from dailyml.alias_follower import AliasFollower
from dailyml.generation.fitting import DEFAULT, KIND, load
from dailyml.generation.store import LoadedSynthesizer
from dailyml.registry import Registry
from dailyml.tables import ModelVersion


class SynthesizerServer(AliasFollower[LoadedSynthesizer]):
    """Each dataset's default synthesizer."""

    def __init__(self, registry: Registry, datasets: tuple[str, ...], poll_seconds: float) -> None:
        def load_default(mv: ModelVersion) -> LoadedSynthesizer:
            return LoadedSynthesizer(mv.dataset, mv.id or 0, mv.version, mv.algorithm, load(registry, mv))

        super().__init__(
            registry, datasets, poll_seconds, kind=KIND, alias=DEFAULT, what="default synthesizer", load=load_default
        )
