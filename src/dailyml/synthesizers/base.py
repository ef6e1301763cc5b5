"""The one synthesizer interface: fit on reference rows, save/load as bytes, sample labelled rows.

Every implementation draws raw rows (``_fit``/``_draw``); this base class owns everything
the spec decides: rounding to the precision the data is recorded in, rejecting rows that
break the spec (valid ranges, known colour, known grade) or copy a real row, and resampling
until ``n`` rows pass. Nothing is clipped: a value outside its range means the row is drawn
again, and how often that happened is counted (it is part of the fidelity report).

Artifacts are cloudpickle bytes (SDV's own format). Unpickling runs code, so the generator
only ever loads bytes this system wrote, fetched through ``Registry.artifact``, which refuses
any artifact whose HMAC signature (``DAILYML_ARTIFACT_KEY``) is missing or wrong, or whose sha256
differs from the one recorded (and signed) when it was registered.
"""

from __future__ import annotations

import io
import math
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from dailyml.datasets import DatasetSpec, get_spec
from dailyml.errors import DailyMLError

# progress(fraction 0..1, message): how fitting reports where it is.
FitProgress = Callable[[float, str], None]

MAX_DECIMALS = 6
# Give up when this many draws in a row produced no acceptable row at all.
MAX_ROUNDS = 200


class SynthesisError(DailyMLError):
    """A synthesizer cannot produce rows that pass the spec (or is used before fitting)."""

    status, code = 500, "synthesis_failed"


def _no_progress(fraction: float, message: str) -> None:
    return None


def decimals_of(values: pd.Series) -> int:
    """The fewest decimals (0..6) that represent every value of a numeric column exactly."""
    array = values.to_numpy(dtype=float)
    for d in range(MAX_DECIMALS + 1):
        if np.allclose(np.round(array, d), array, rtol=0, atol=1e-9):
            return d
    return MAX_DECIMALS


def round_to(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round to ``decimals`` and return the floats a CSV reader would parse for those digits.

    ``np.round`` can leave 7.3999999999999995 where the data says 7.4; going through the
    decimal text gives the same float as the reference rows, so equal values hash equally.
    """
    rounded = np.round(values.astype(float), decimals)
    return np.array([float(f"{v:.{decimals}f}") if math.isfinite(v) else v for v in rounded])


def frame_keys(spec: DatasetSpec, frame: pd.DataFrame) -> pd.Series:
    """A canonical text key of each row's features (10 significant digits): equal rows, equal keys."""
    columns = []
    for f in spec.features:
        col = frame[f.name]
        columns.append(col.astype(str) if f.is_categorical else col.map(lambda v: f"{float(v):.10g}"))
    keys = columns[0]
    for col in columns[1:]:
        keys = keys + "|" + col
    return keys


@dataclass
class SampleBatch:
    """Rows that passed, with how many raw draws it took and why the others were rejected."""

    frame: pd.DataFrame  # spec features + ``label`` (str), exactly ``n`` rows
    drawn: int
    invalid: int  # broke the spec (range, category, constraint, unknown label)
    copies: int  # exact copy of a reference row
    invalid_by_field: dict[str, int] = field(default_factory=dict)

    @property
    def invalid_share(self) -> float:
        return self.invalid / self.drawn if self.drawn else 0.0

    @property
    def copy_share(self) -> float:
        return self.copies / self.drawn if self.drawn else 0.0


class Synthesizer(ABC):
    """Fit on reference rows (features + ``label``), then sample rows that pass the spec."""

    algorithm: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, dataset: str, *, seed: int = 42, **params: Any) -> None:
        self.dataset = dataset  # the name, not the spec: the artifact must not pickle loaders
        self.seed = seed
        self.params: dict[str, Any] = dict(params)
        self.decimals: dict[str, int] = {}
        self.forbidden: frozenset[str] = frozenset()
        self.fitted_rows = 0
        self.fitted = False

    @property
    def spec(self) -> DatasetSpec:
        return get_spec(self.dataset)

    def describe(self) -> dict[str, Any]:
        """The fit parameters stored with the registered version."""
        # A mapping, not a model: ``params`` holds whatever the algorithm takes.
        return {"algorithm": self.algorithm, "seed": self.seed, "fitted_rows": self.fitted_rows, **self.params}

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        frame: pd.DataFrame,
        *,
        forbidden_rows: pd.DataFrame | None = None,
        progress: FitProgress = _no_progress,
    ) -> Synthesizer:
        """Fit on ``frame`` (spec features + ``label``). Rows of ``forbidden_rows`` (default: the
        fitted rows) are never emitted: pass every reference row, fitted or held out."""
        spec = self.spec
        data = frame[[*spec.feature_names, "label"]].reset_index(drop=True).copy()
        data["label"] = data["label"].astype(str)
        if data.empty:
            raise SynthesisError(f"{self.dataset}: no reference rows to fit on")
        self.decimals = {f.name: decimals_of(data[f.name]) for f in spec.numeric_features}
        forbidden = data if forbidden_rows is None else forbidden_rows
        self.forbidden = frozenset(frame_keys(spec, forbidden))
        self._fit(data, progress)
        self.fitted_rows = len(data)
        self.fitted = True
        progress(1.0, f"{self.algorithm} fitted on {len(data)} rows")
        return self

    @abstractmethod
    def _fit(self, data: pd.DataFrame, progress: FitProgress) -> None:
        """Fit the model on spec features + ``label`` (str)."""

    @abstractmethod
    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """About ``n`` raw rows (spec features + ``label``), not yet checked against the spec."""

    # -- sampling ------------------------------------------------------------------------------
    def _clean(self, raw: pd.DataFrame) -> pd.DataFrame:
        spec = self.spec
        out = pd.DataFrame(index=range(len(raw)))
        for f in spec.features:
            col = raw[f.name].reset_index(drop=True)
            if f.is_categorical:
                out[f.name] = col.astype(str)
            else:
                values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
                out[f.name] = round_to(values, self.decimals.get(f.name, MAX_DECIMALS))
        out["label"] = raw["label"].reset_index(drop=True).map(_label_text)
        return out

    def sample(self, n: int, *, seed: int | None = None) -> SampleBatch:
        """Exactly ``n`` rows that pass the spec and copy no reference row (resampling the rest)."""
        if not self.fitted:
            raise SynthesisError(f"{self.algorithm} for {self.dataset} is not fitted")
        if n < 1:
            raise ValueError("n must be at least 1")
        spec = self.spec
        rng = np.random.default_rng(seed)
        accepted: list[pd.DataFrame] = []
        have = drawn = invalid = copies = 0
        by_field: dict[str, int] = {}
        empty_rounds = 0
        while have < n:
            # Ask for a little more than is missing: rejected rows are usually a few percent.
            want = n - have
            raw = self._clean(self._draw(max(want + want // 10 + 2, 1), rng))
            drawn += len(raw)
            valid = spec.valid_mask(raw) & raw["label"].isin(spec.labels)
            for name, count in _invalid_fields(spec, raw[~valid]).items():
                by_field[name] = by_field.get(name, 0) + count
            invalid += int((~valid).sum())
            is_copy = frame_keys(spec, raw).isin(self.forbidden) & valid
            copies += int(is_copy.sum())
            good = raw[valid & ~is_copy]
            if good.empty:
                empty_rounds += 1
                if empty_rounds >= MAX_ROUNDS:
                    raise SynthesisError(
                        f"{self.algorithm} drew {drawn} {self.dataset} rows and none passed the spec",
                        {"invalid_by_field": by_field},
                    )
                continue
            empty_rounds = 0
            accepted.append(good.iloc[: n - have])
            have += min(len(good), n - have)
        frame = pd.concat(accepted, ignore_index=True)
        return SampleBatch(frame, drawn=drawn, invalid=invalid, copies=copies, invalid_by_field=by_field)

    # -- persistence ---------------------------------------------------------------------------
    def dumps(self) -> bytes:
        """The fitted synthesizer as cloudpickle bytes (register them; never load foreign bytes)."""
        import cloudpickle

        return cloudpickle.dumps(self)  # type: ignore[no-any-return]

    @staticmethod
    def loads(data: bytes) -> Synthesizer:
        """Bytes from ``dumps`` back into a synthesizer. Only for checksum-verified own artifacts."""
        from dailyml.errors import UntrustedArtifactError

        # Own artifacts only, signed and sha256-verified by the registry.
        obj = _MovedModulesUnpickler(io.BytesIO(data)).load()
        if not isinstance(obj, Synthesizer):
            raise UntrustedArtifactError(f"the artifact holds a {type(obj).__name__}, not a synthesizer")
        return obj


# A pickle names each class by its module. Synthesizers registered before the algorithms left
# ``dailyml.synth`` for ``dailyml.synthesizers`` name the old modules: registries hold them, so
# loading reads those names as the modules' current ones.
MOVED_MODULES = {
    "dailyml.synth": "dailyml.synthesizers",
    "dailyml.synth.base": "dailyml.synthesizers.base",
    "dailyml.synth.copula": "dailyml.synthesizers.copula",
    "dailyml.synth.sdv_models": "dailyml.synthesizers.sdv_models",
    "dailyml.synth.fidelity": "dailyml.synthesizers.fidelity",
}


class _MovedModulesUnpickler(pickle.Unpickler):
    """Unpickles as ``pickle.loads`` does, finding classes of moved modules where they are now."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)


def _label_text(value: Any) -> str:
    """A drawn label as the spec stores it: ``6.0`` and ``6`` become ``'6'``; other text as is."""
    if isinstance(value, float | np.floating):
        return str(int(value)) if math.isfinite(value) and float(value).is_integer() else str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


def _invalid_fields(spec: DatasetSpec, rows: pd.DataFrame) -> dict[str, int]:
    """How many rejected rows broke each rule, by field (a row can count under several).

    Only rejected rows are looked at, so checking value by value with ``Feature.check`` (the
    same rule an API request meets) costs little.
    """
    counts: dict[str, int] = {}
    if rows.empty:
        return counts
    for f in spec.features:
        values = rows[f.name] if f.is_categorical else pd.to_numeric(rows[f.name], errors="coerce")
        bad = int(values.map(lambda v, f=f: f.check(v if f.is_categorical else float(v)) is not None).sum())
        if bad:
            counts[f.name] = bad
    for c in spec.constraints:
        bad = int((pd.to_numeric(rows[c.lower], errors="coerce") > pd.to_numeric(rows[c.upper], errors="coerce")).sum())
        if bad:
            counts[f"{c.lower}<={c.upper}"] = bad
    bad_label = int((~rows["label"].isin(spec.labels)).sum())
    if bad_label:
        counts[spec.target] = bad_label
    return counts


def group_keys(frame: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """One text key per row for the combination of ``columns`` (empty key when there are none)."""
    cols = list(columns)
    if not cols:
        return pd.Series("", index=frame.index)
    keys = frame[cols[0]].astype(str)
    for c in cols[1:]:
        keys = keys + "|" + frame[c].astype(str)
    return keys
