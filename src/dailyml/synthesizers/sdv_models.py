"""SDV 2.0 synthesizers behind our interface: GaussianCopula, CTGAN, TVAE, and a GaussianCopula
per group (per iris variety / per wine colour).

SDV (and through CTGAN/TVAE, torch) is imported inside the methods that need it, so importing
this module costs nothing and nothing outside the generator ever loads them.

SDV's own guards are turned off on purpose: ``enforce_min_max_values`` would clip every value
into the training range (a silent spike at the limits), so rows are drawn raw and the base
class rejects and redraws the ones that break the spec, counting them for the fidelity report.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dailyml.datasets import DatasetSpec
from dailyml.synthesizers import DEFAULT_EPOCHS
from dailyml.synthesizers.base import FitProgress, SynthesisError, Synthesizer, group_keys
from dailyml.synthesizers.copula import allocate

TABLE = "samples"


def sdv_metadata(spec: DatasetSpec, *, label_column: str = "label") -> Any:
    """SDV metadata built from the spec (never guessed from the data): categorical features and
    the label are categorical, every other feature numerical."""
    from sdv.metadata import Metadata

    columns: dict[str, dict[str, Any]] = {}
    for f in spec.features:
        columns[f.name] = {"sdtype": "categorical"} if f.is_categorical else {"sdtype": "numerical"}
    columns[label_column] = {"sdtype": "categorical"}
    return Metadata.load_from_dict({"tables": {TABLE: {"columns": columns}}, "METADATA_SPEC_VERSION": "V2"})


def _sampled_frame(result: Any) -> pd.DataFrame:
    return result[TABLE] if isinstance(result, dict) else result


class _EpochWatcher:
    """Reports CTGAN/TVAE progress by watching the epochs their loss log has reached."""

    def __init__(self, synthesizer: Any, epochs: int, progress: FitProgress, name: str) -> None:
        self.synthesizer, self.epochs, self.progress, self.name = synthesizer, epochs, progress, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="epoch-watcher", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            model = getattr(self.synthesizer, "_model", None)
            losses = getattr(model, "loss_values", None)
            if losses is None or len(losses) == 0:
                continue
            done = int(losses["Epoch"].max()) + 1
            self.progress(0.05 + 0.9 * done / self.epochs, f"{self.name} epoch {done}/{self.epochs}")

    def __enter__(self) -> _EpochWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class SDVSynthesizer(Synthesizer):
    """One SDV single-table synthesizer over every feature and the label."""

    sdv_class: ClassVar[str] = "GaussianCopulaSynthesizer"
    has_epochs: ClassVar[bool] = False

    def __init__(self, dataset: str, *, seed: int = 42, epochs: int | None = None, **params: Any) -> None:
        if self.has_epochs:
            params["epochs"] = int(epochs or DEFAULT_EPOCHS)
        super().__init__(dataset, seed=seed, **params)
        self.model: Any = None

    def _build(self) -> Any:
        import sdv.single_table as st

        cls = getattr(st, self.sdv_class)
        kwargs: dict[str, Any] = {"enforce_min_max_values": False, "enforce_rounding": False}
        if self.has_epochs:
            kwargs["epochs"] = self.params["epochs"]
        kwargs.update({k: v for k, v in self.params.items() if k not in ("epochs",)})
        return cls(sdv_metadata(self.spec), **kwargs)

    def _fit(self, data: pd.DataFrame, progress: FitProgress) -> None:
        import torch

        torch.manual_seed(self.seed)
        np.random.seed(self.seed)  # noqa: NPY002 - SDV/RDT draw from the global state while fitting
        self.model = self._build()
        progress(0.05, f"fitting {self.sdv_class}")
        if self.has_epochs:
            with _EpochWatcher(self.model, self.params["epochs"], progress, self.algorithm):
                self.model.fit({TABLE: data})
        else:
            self.model.fit({TABLE: data})

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        if self.model is None:
            raise SynthesisError(f"{self.algorithm} for {self.dataset} is not fitted")
        # A fresh seed per draw: SDV otherwise restarts every loaded copy at the same fixed seed,
        # and two processes (or one restarted) would emit the same rows.
        self.model._set_random_state(int(rng.integers(2**31 - 1)))
        return _sampled_frame(self.model.sample(n))


class GaussianCopulaSDV(SDVSynthesizer):
    algorithm = "gaussian_copula"
    description = "SDV GaussianCopula over every feature and the label (SDV's default marginals)"
    sdv_class = "GaussianCopulaSynthesizer"


class CTGANSDV(SDVSynthesizer):
    algorithm = "ctgan"
    description = "SDV CTGAN (conditional GAN, torch) over every feature and the label"
    sdv_class = "CTGANSynthesizer"
    has_epochs = True


class TVAESDV(SDVSynthesizer):
    algorithm = "tvae"
    description = "SDV TVAE (variational autoencoder, torch) over every feature and the label"
    sdv_class = "TVAESynthesizer"
    has_epochs = True


class GroupedGaussianCopulaSDV(Synthesizer):
    """One SDV GaussianCopula per group: per variety (iris), per colour (wine)."""

    algorithm = "grouped_gaussian_copula"
    description = "One SDV GaussianCopula per group (iris: per variety; wine: per colour, grade inside)"

    def __init__(self, dataset: str, *, seed: int = 42, **params: Any) -> None:
        super().__init__(dataset, seed=seed, **params)
        self.group_columns: list[str] = []
        self.counts: dict[str, float] = {}
        self.models: dict[str, Any] = {}
        self.group_values: dict[str, dict[str, str]] = {}

    def _fit(self, data: pd.DataFrame, progress: FitProgress) -> None:
        from sdv.single_table import GaussianCopulaSynthesizer

        np.random.seed(self.seed)  # noqa: NPY002 - see SDVSynthesizer._fit
        spec = self.spec
        self.group_columns = [f.name for f in spec.categorical_features]
        if spec.task == "classification":
            self.group_columns.append("label")
        keys = group_keys(data, self.group_columns)
        self.counts = {k: float(v) for k, v in keys.value_counts().sort_index().items()}
        metadata = sdv_metadata(spec)
        for i, key in enumerate(self.counts):
            rows = data[keys == key].reset_index(drop=True)
            self.group_values[key] = {c: str(rows[c].iloc[0]) for c in self.group_columns}
            model = GaussianCopulaSynthesizer(metadata, enforce_min_max_values=False, enforce_rounding=False)
            model.fit({TABLE: rows})
            self.models[key] = model
            progress((i + 1) / len(self.counts) * 0.95, f"fitted group {i + 1}/{len(self.counts)} ({len(rows)} rows)")

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        frames = []
        for key, k in allocate(self.counts, n, rng).items():
            model = self.models[key]
            model._set_random_state(int(rng.integers(2**31 - 1)))
            frame = _sampled_frame(model.sample(k))
            for column, value in self.group_values[key].items():
                frame[column] = value  # a one-value column: SDV returns it, we make it exact
            frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        return out.iloc[rng.permutation(len(out))].reset_index(drop=True)
