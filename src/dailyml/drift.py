"""Data drift: how far the recent inputs (online requests, synthetic samples) are from the
reference training rows, per feature, computed by the database.

For each numeric feature the reference training rows are cut into up to ``bins`` quantile bins
(``NTILE`` over the reference, a few thousand rows at most, cached per process; each edge halfway
between its tile's top and the next reference value, so values on a measurement grid do not sit
on an edge); categorical features use their categories. The window's rows are then counted per
bin by one aggregate query per dataset (``SUM(CASE WHEN x <= edge ...)`` for every feature and
edge in one pass), so the cost does not depend on how much history the store holds beyond the
window, and no row is loaded.

Per feature:

- **PSI**, the population stability index, ``sum((w - r) * ln(w / r))`` over the bins, with the
  proportions smoothed by half a count so an empty bin does not give infinity. A feature is
  flagged when ``PSI > 0.2`` (the usual reading: < 0.1 stable, 0.1-0.2 moderate, > 0.2 shifted).
- **Chi-square test of homogeneity** on the 2 x k table of bin counts (reference vs window):
  the statistic, its degrees of freedom and p-value are reported, not used for the flag (with
  thousands of rows it finds differences too small to matter).

A window with fewer than ``MIN_SAMPLES`` rows is reported (``enough_data: false``) but flags
nothing: with a few dozen rows PSI is mostly noise.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dailyml.contracts.predictor import MIN_SAMPLES, PSI_THRESHOLD, DriftBin, DriftReport, FeatureDrift
from dailyml.datasets import DatasetSpec, Feature
from dailyml.errors import InvalidInputError
from dailyml.tables import Sample, feature_table, utcnow
from dailyml.vocab import SampleSource

DEFAULT_BINS = 10
MIN_REFERENCE_PER_BIN = 20  # fewer reference rows per bin and the reference itself is noise
SMOOTHING = 0.5

samples_t: sa.Table = Sample.__table__  # type: ignore[attr-defined]
# What the API documents and accepts: a count up to 7 digits, or a duration up to 4 digits (any
# unit: 9999 weeks is 190 years, well inside datetime's range).
WINDOW_PATTERN = r"^(?:[1-9][0-9]{0,6}|[1-9][0-9]{0,3}[mhdw])$"
_WINDOW = re.compile(r"^\s*(\d+)\s*([mhdw]?)\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
WINDOW_HELP = "recent inputs: a duration (30m, 24h, 7d, 2w) or a count of the newest samples (500)"


@dataclass(frozen=True)
class Window:
    text: str
    since: datetime | None = None
    last: int | None = None


def parse_window(text: str, now: datetime | None = None) -> Window:
    """``24h`` -> since now - 24 h; ``500`` -> the newest 500 samples."""
    match = _WINDOW.match(text or "")
    if not match or int(match.group(1)) <= 0:
        raise InvalidInputError(
            f"window: {WINDOW_HELP}",
            [{"field": "window", "loc": ["window"], "rule": "window", "message": WINDOW_HELP}],
        )
    amount, unit = int(match.group(1)), match.group(2)
    if not unit:
        return Window(text.strip(), last=min(amount, 1_000_000))
    try:
        delta = timedelta(**{_UNITS[unit]: amount})
        since = (now or utcnow()) - delta
    except OverflowError:
        raise InvalidInputError(f"window: {text!r} is too long") from None
    return Window(text.strip(), since=since)


@dataclass(frozen=True)
class FeatureBins:
    feature: Feature
    edges: tuple[float, ...] = ()  # numeric: bin i is (edges[i-1], edges[i]]; the last is > edges[-1]
    categories: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.categories) if self.feature.is_categorical else len(self.edges) + 1

    def labels(self) -> list[str]:
        """A readable label per bin: the category, or the interval (``<= a``, ``(a, b]``, ``> b``)."""
        if self.feature.is_categorical:
            return list(self.categories)
        e = [f"{x:.4g}" for x in self.edges]
        if not e:
            return ["all"]
        return [f"<= {e[0]}", *(f"({a}, {b}]" for a, b in zip(e, e[1:], strict=False)), f"> {e[-1]}"]

    def count_columns(self, column: Any, prefix: str) -> list[Any]:
        """``SUM(CASE ...)`` per bin: numeric as cumulative counts (x <= edge), categories direct."""
        if self.feature.is_categorical:
            values = self.categories
            return [
                sa.func.sum(sa.case((column == v, 1), else_=0)).label(f"{prefix}_{i}") for i, v in enumerate(values)
            ]
        return [
            sa.func.sum(sa.case((column <= e, 1), else_=0)).label(f"{prefix}_{i}") for i, e in enumerate(self.edges)
        ]

    def counts(self, row: Any, prefix: str, total: int) -> list[int]:
        """Rows per bin, from a result ``row`` of ``count_columns`` (cumulative counts undone) and the ``total``."""
        raw = [int(row[f"{prefix}_{i}"] or 0) for i in range(len(self.categories or self.edges))]
        if self.feature.is_categorical:
            return raw
        counts, previous = [], 0
        for cumulative in raw:
            counts.append(cumulative - previous)
            previous = cumulative
        counts.append(total - previous)
        return counts


@dataclass(frozen=True)
class Reference:
    n: int
    bins: dict[str, FeatureBins]
    counts: dict[str, list[int]]


_cache: dict[tuple[str, str, int], Reference] = {}
_cache_lock = threading.Lock()


def _reference_where(spec: DatasetSpec) -> list[Any]:
    return [samples_t.c.dataset == spec.name, samples_t.c.source == "reference", samples_t.c.split == "train"]


def _quantile_edges(conn: sa.Connection, spec: DatasetSpec, name: str, bins: int) -> tuple[float, ...]:
    """Edges of ``bins`` quantile bins of the reference values, each placed halfway between the
    top of its tile and the next distinct value above it.

    Measurements are often on a grid (iris petal widths are 0.1, 0.2, ... cm, a third of them
    0.2): an edge *at* 0.2 would send any new 0.2 measured as 0.2001 to the next bin and read
    measurement noise as drift. Halfway to 0.3 it stays in its bin. No reference row lies between
    the two values, so the reference counts are the same either way.
    """
    ft = feature_table(spec.name)
    value = ft.c[name]
    tile = sa.func.ntile(bins).over(order_by=value).label("tile")
    joined = samples_t.join(ft, ft.c.sample_id == samples_t.c.id)
    ranked = sa.select(value.label("x"), tile).select_from(joined).where(*_reference_where(spec)).subquery()
    tops = conn.execute(sa.select(sa.func.max(ranked.c.x)).group_by(ranked.c.tile)).scalars().all()
    edges = sorted({float(t) for t in tops if t is not None})[:-1]  # the top tile's maximum closes nothing
    if not edges:
        return ()
    above = sa.select(sa.func.min(value)).select_from(joined).where(*_reference_where(spec))
    return tuple((e + float(conn.execute(above.where(value > e)).scalar_one())) / 2 for e in edges)


def _count(conn: sa.Connection, spec: DatasetSpec, bins: dict[str, FeatureBins], where: list[Any]) -> tuple[int, Any]:
    ft = feature_table(spec.name)
    columns: list[Any] = [sa.func.count().label("n")]
    for i, (name, fb) in enumerate(bins.items()):
        columns += fb.count_columns(ft.c[name], f"f{i}")
    query = sa.select(*columns).select_from(samples_t.join(ft, ft.c.sample_id == samples_t.c.id)).where(*where)
    row = conn.execute(query).mappings().one()
    return int(row["n"] or 0), row


def reference(engine: Engine, spec: DatasetSpec, bins: int = DEFAULT_BINS) -> Reference:
    """The reference training rows' bins and counts (computed once per process and database)."""
    key = (str(engine.url), spec.name, bins)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    with engine.connect() as conn:
        n = int(
            conn.execute(sa.select(sa.func.count()).select_from(samples_t).where(*_reference_where(spec))).scalar_one()
        )
        k = max(2, min(bins, n // MIN_REFERENCE_PER_BIN))
        feature_bins = {
            f.name: FeatureBins(f, categories=f.categories)
            if f.is_categorical
            else FeatureBins(f, edges=_quantile_edges(conn, spec, f.name, k))
            for f in spec.features
        }
        total, row = _count(conn, spec, feature_bins, _reference_where(spec))
    counts = {name: fb.counts(row, f"f{i}", total) for i, (name, fb) in enumerate(feature_bins.items())}
    ref = Reference(total, feature_bins, counts)
    if total:  # an empty reference (not bootstrapped yet) is not cached
        with _cache_lock:
            _cache[key] = ref
    return ref


def psi(reference_counts: list[int], window_counts: list[int]) -> float:
    """Population stability index of two count vectors over the same bins (half-count smoothing)."""
    k = len(reference_counts)
    n_ref, n_win = sum(reference_counts) + SMOOTHING * k, sum(window_counts) + SMOOTHING * k
    total = 0.0
    for r, w in zip(reference_counts, window_counts, strict=True):
        pr, pw = (r + SMOOTHING) / n_ref, (w + SMOOTHING) / n_win
        total += (pw - pr) * math.log(pw / pr)
    return total


def chi_square(reference_counts: list[int], window_counts: list[int]) -> tuple[float | None, int, float | None]:
    """Chi-square test of homogeneity of two count vectors: (statistic, dof, p-value); bins empty
    in both are left out."""
    pairs = [(r, w) for r, w in zip(reference_counts, window_counts, strict=True) if r + w > 0]
    n_ref, n_win = sum(r for r, _ in pairs), sum(w for _, w in pairs)
    dof = len(pairs) - 1
    if n_ref == 0 or n_win == 0 or dof < 1:
        return None, max(dof, 0), None
    n = n_ref + n_win
    statistic = 0.0
    for r, w in pairs:
        column = r + w
        for observed, row_total in ((r, n_ref), (w, n_win)):
            expected = row_total * column / n
            statistic += (observed - expected) ** 2 / expected
    from scipy.special import chdtrc  # lazily: only the drift route needs it

    return statistic, dof, float(chdtrc(dof, statistic))


def drift_report(
    engine: Engine,
    spec: DatasetSpec,
    window: str,
    *,
    sources: tuple[SampleSource, ...] = ("online", "synthetic"),
    bins: int = DEFAULT_BINS,
    now: datetime | None = None,
) -> DriftReport:
    """Drift of every feature of ``spec`` between the window's inputs and the reference training rows."""
    win = parse_window(window, now)
    ref = reference(engine, spec, bins)
    where: list[Any] = [samples_t.c.dataset == spec.name, samples_t.c.source.in_(list(sources))]
    if win.since is not None:
        where.append(samples_t.c.event_time >= win.since)
    else:
        newest = (
            sa.select(samples_t.c.id)
            .where(*where)
            .order_by(samples_t.c.event_time.desc(), samples_t.c.id.desc())
            .limit(win.last)
        )
        where = [samples_t.c.id.in_(newest.scalar_subquery())]
    with engine.connect() as conn:
        n_window, row = _count(conn, spec, ref.bins, where)
    enough = n_window >= MIN_SAMPLES
    features = []
    for i, (name, fb) in enumerate(ref.bins.items()):
        counts = fb.counts(row, f"f{i}", n_window)
        value = psi(ref.counts[name], counts) if n_window else 0.0
        statistic, dof, p_value = chi_square(ref.counts[name], counts)
        features.append(
            FeatureDrift(
                feature=name,
                kind="categorical" if fb.feature.is_categorical else "numeric",
                psi=round(value, 6),
                drifted=enough and value > PSI_THRESHOLD,
                statistic=statistic,
                dof=dof,
                p_value=p_value,
                bins=[
                    DriftBin(label=label, reference=r, window=w)
                    for label, r, w in zip(fb.labels(), ref.counts[name], counts, strict=True)
                ],
            )
        )
    drifted = [f.feature for f in features if f.drifted]
    return DriftReport(
        dataset=spec.name,
        window=win.text,
        since=win.since,
        sources=list(sources),
        n_reference=ref.n,
        n_window=n_window,
        enough_data=enough,
        drifted=bool(drifted),
        drifted_features=drifted,
        features=features,
    )
