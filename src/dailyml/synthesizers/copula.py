"""Our own synthesizers (numpy and scipy only, no SDV): Gaussian copulas per group.

Rows are split into groups by the spec's categorical features (wine: colour) and, for a
classification dataset, by the label (iris: variety). Each group gets its own model, so a
virginica is drawn from what virginicas look like, never from a blend of varieties.

``empirical_copula``: within a group every numeric column keeps its own measured distribution
(a piecewise-linear quantile function through the sorted training values: skew, long tails and
the limits of the data kept as they are), and a Gaussian copula carries the dependence between
columns (rank correlations). A regression grade (wine quality) is one more ordinal column of
the copula: each grade owns the slice of the latent normal axis that its share of the rows
covers, so the grade is drawn jointly with the chemistry that goes with it.

``multivariate_gaussian``: one multivariate normal per group fitted to the raw values
(classification specs only, where the label is a group).

Sampling allocates the rows of a batch to (group, label) cells in proportion to the training
rows (the integer parts exactly, the remainder at random), then draws each cell's rows from
its model, conditionally on the label's slice for a regression grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.covariance import LedoitWolf

from dailyml.synthesizers.base import FitProgress, SynthesisError, Synthesizer, group_keys

_EPS = 1e-9


def allocate(counts: dict[str, float], n: int, rng: np.random.Generator) -> dict[str, int]:
    """Split ``n`` rows among cells in proportion to ``counts``: the integer parts exactly, the
    remaining rows at random with probability proportional to the fractional parts (so the
    expected share of every cell is its training share, and a batch cannot wander far from it)."""
    keys = list(counts)
    weights = np.array([counts[k] for k in keys], dtype=float)
    share = weights / weights.sum() * n
    base = np.floor(share).astype(int)
    remainder = n - int(base.sum())
    if remainder:
        fractions = share - base
        chosen = rng.choice(len(keys), size=remainder, replace=False, p=fractions / fractions.sum())
        base[chosen] += 1
    return {k: int(c) for k, c in zip(keys, base, strict=True) if c}


def _spd(matrix: np.ndarray) -> np.ndarray:
    """The nearest symmetric positive-definite matrix (eigenvalues floored), for Cholesky."""
    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    return (vectors * np.maximum(values, 1e-6)) @ vectors.T  # type: ignore[no-any-return]


def _correlation(z: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrunk correlation of the latent normals (stable for a 40-row group)."""
    if z.shape[0] < 3:
        return np.eye(z.shape[1])
    cov = LedoitWolf().fit(z).covariance_
    scale = np.sqrt(np.clip(np.diag(cov), _EPS, None))
    return _spd(cov / np.outer(scale, scale))


@dataclass
class _Ordinal:
    """A grade inside the copula: each value owns the latent slice ``[lo, hi]`` of its share."""

    values: list[str]
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def fit(cls, labels: pd.Series) -> _Ordinal:
        order = sorted(labels.unique(), key=float)
        shares = labels.value_counts(normalize=True).reindex(order).to_numpy()
        edges = np.concatenate([[0.0], np.cumsum(shares)])
        edges[-1] = 1.0
        return cls(order, norm.ppf(np.clip(edges[:-1], 0, 1)), norm.ppf(np.clip(edges[1:], 0, 1)))

    def latent(self, labels: pd.Series) -> np.ndarray:
        """Each row's latent value: the normal quantile of the middle of its value's slice."""
        index = {v: i for i, v in enumerate(self.values)}
        i = labels.map(index).to_numpy()
        mid = (norm.cdf(self.lo[i]) + norm.cdf(self.hi[i])) / 2
        return norm.ppf(mid)  # type: ignore[no-any-return]

    def draw(self, value: str, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` latent values inside the slice of ``value`` (a truncated standard normal)."""
        i = self.values.index(value)
        u = rng.uniform(norm.cdf(self.lo[i]), norm.cdf(self.hi[i]), size=k)
        return norm.ppf(np.clip(u, _EPS, 1 - _EPS))  # type: ignore[no-any-return]


@dataclass
class _GroupModel:
    columns: list[str]  # numeric features, in spec order
    quantiles: list[np.ndarray] | None  # sorted training values per column (empirical marginals)
    mean: np.ndarray | None  # raw-scale mean (multivariate_gaussian)
    chol: np.ndarray  # Cholesky factor of the latent correlation (or raw covariance)
    ordinal: _Ordinal | None = None
    cond_weights: np.ndarray | None = None  # regression of the columns on the grade's latent value
    cond_chol: np.ndarray | None = None  # Cholesky factor of the columns' covariance given the grade


class _GroupedCopula(Synthesizer):
    """Shared machinery of the per-group copula synthesizers."""

    marginals: ClassVar[str] = "empirical"

    def __init__(self, dataset: str, *, seed: int = 42, **params: Any) -> None:
        super().__init__(dataset, seed=seed, **params)
        self.group_columns: list[str] = []
        self.cells: dict[str, float] = {}  # "group key\x1flabel" -> training rows
        self.groups: dict[str, _GroupModel] = {}
        self.group_values: dict[str, dict[str, str]] = {}

    def _grouping(self) -> list[str]:
        spec = self.spec
        columns = [f.name for f in spec.categorical_features]
        if spec.task == "classification":
            columns.append("label")
        return columns

    def _fit(self, data: pd.DataFrame, progress: FitProgress) -> None:
        spec = self.spec
        self.group_columns = self._grouping()
        numeric = [f.name for f in spec.numeric_features]
        keys = group_keys(data, self.group_columns)
        cells = keys + "\x1f" + data["label"]
        self.cells = {k: float(v) for k, v in cells.value_counts().sort_index().items()}
        names = sorted(keys.unique())
        for i, key in enumerate(names):
            rows = data[keys == key]
            self.group_values[key] = {c: str(rows[c].iloc[0]) for c in self.group_columns}
            self.groups[key] = self._fit_group(rows, numeric)
            progress((i + 1) / len(names) * 0.95, f"fitted group {i + 1}/{len(names)} ({len(rows)} rows)")

    def _fit_group(self, rows: pd.DataFrame, numeric: list[str]) -> _GroupModel:
        values = rows[numeric].to_numpy(dtype=float)
        if self.marginals == "normal":
            cov = LedoitWolf().fit(values).covariance_ if len(rows) >= 3 else np.diag(np.var(values, axis=0) + _EPS)
            return _GroupModel(numeric, None, values.mean(axis=0), np.linalg.cholesky(_spd(cov)))
        n = len(rows)
        ranks = pd.DataFrame(values).rank(method="average").to_numpy()
        latent = norm.ppf(ranks / (n + 1))
        quantiles = [np.sort(values[:, j]) for j in range(len(numeric))]
        if "label" in self.group_columns:
            corr = _correlation(latent)
            return _GroupModel(numeric, quantiles, None, np.linalg.cholesky(corr))
        # The grade is the copula's last column; sampling conditions on it.
        ordinal = _Ordinal.fit(rows["label"])
        full = _correlation(np.column_stack([latent, ordinal.latent(rows["label"])]))
        s_xx, s_xq, s_qq = full[:-1, :-1], full[:-1, -1], full[-1, -1]
        weights = s_xq / s_qq
        cond = _spd(s_xx - np.outer(s_xq, s_xq) / s_qq)
        return _GroupModel(
            numeric, quantiles, None, np.linalg.cholesky(full), ordinal, weights, np.linalg.cholesky(cond)
        )

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        if not self.groups:
            raise SynthesisError(f"{self.algorithm} for {self.dataset} is not fitted")
        frames = []
        for cell, k in allocate(self.cells, n, rng).items():
            key, label = cell.split("\x1f")
            model = self.groups[key]
            values = self._draw_group(model, label, k, rng)
            frame = pd.DataFrame(values, columns=model.columns)
            for column, value in self.group_values[key].items():
                frame[column] = value
            frame["label"] = label
            frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        return out.iloc[rng.permutation(len(out))].reset_index(drop=True)

    def _draw_group(self, model: _GroupModel, label: str, k: int, rng: np.random.Generator) -> np.ndarray:
        d = len(model.columns)
        if model.mean is not None:
            return model.mean + rng.standard_normal((k, d)) @ model.chol.T  # type: ignore[no-any-return]
        if model.ordinal is not None:
            assert model.cond_weights is not None and model.cond_chol is not None
            zq = model.ordinal.draw(label, k, rng)
            latent = np.outer(zq, model.cond_weights) + rng.standard_normal((k, d)) @ model.cond_chol.T
        else:
            latent = rng.standard_normal((k, d)) @ model.chol.T
        u = norm.cdf(latent)
        assert model.quantiles is not None
        out = np.empty((k, d))
        for j, sorted_values in enumerate(model.quantiles):
            knots = np.linspace(0.0, 1.0, len(sorted_values))
            out[:, j] = np.interp(u[:, j], knots, sorted_values)
        return out


class EmpiricalCopula(_GroupedCopula):
    algorithm = "empirical_copula"
    description = (
        "Gaussian copula per group (colour / variety) with each column's measured distribution as its "
        "marginal; a regression grade is an ordinal column of the copula (ours, numpy/scipy)"
    )
    marginals = "empirical"


class GradeCopula(_GroupedCopula):
    """The empirical copula with one model per (colour, grade) cell instead of one per colour.

    Each grade keeps its own measured marginals and its own rank correlations, so what tells a
    7 from a 5 (alcohol, volatile acidity, ...) is carried by the marginals themselves rather than
    by one Gaussian dependence on a latent grade. Train-on-synthetic MSE on the hold-out rows
    improves from 0.578 (``empirical_copula``) to about 0.51 (docs/generator.md). Regression
    (graded) datasets only: for a classification dataset ``empirical_copula`` already groups by
    label.
    """

    algorithm = "grade_copula"
    description = (
        "Gaussian copula per colour and grade, each column's measured distribution within the cell as "
        "its marginal (ours, numpy/scipy)"
    )
    marginals = "empirical"

    def _grouping(self) -> list[str]:
        return [*(f.name for f in self.spec.categorical_features), "label"]

    def _fit(self, data: pd.DataFrame, progress: FitProgress) -> None:
        if self.spec.task != "regression":
            raise SynthesisError("grade_copula needs a graded (regression) dataset; use empirical_copula")
        super()._fit(data, progress)


class MultivariateGaussian(_GroupedCopula):
    algorithm = "multivariate_gaussian"
    description = "One multivariate normal per label (and categorical feature) fitted to the raw values (ours)"
    marginals = "normal"

    def _fit(self, data: pd.DataFrame, progress: FitProgress) -> None:
        if self.spec.task != "classification":
            raise SynthesisError("multivariate_gaussian needs a classification dataset (one model per label)")
        super()._fit(data, progress)
