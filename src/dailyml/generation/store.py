"""Generated rows into the feature store, idempotently; and the views over stored samples.

A generation writes its samples, their typed features and (with a key) its response in ONE
transaction: either all of it is stored or none. A repeated idempotency key returns the stored
response and writes nothing; two requests racing with the same key meet the unique constraint
on ``generation_requests``, and the loser rolls back and returns the winner's response.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from dailyml.contracts.generator import Distributions, GenerateOut, Histogram, LabelCounts
from dailyml.datasets import DatasetSpec
from dailyml.db import as_utc, transaction
from dailyml.errors import ConflictError
from dailyml.featurestore import NewSample, insert_samples, of_dataset, samples_t, select_with_features, versions_t
from dailyml.synthesizers.base import Synthesizer
from dailyml.tables import GenerationRequest, feature_table, utcnow
from dailyml.vocab import SampleSource

requests_t: sa.Table = GenerationRequest.__table__  # type: ignore[attr-defined]


@dataclass
class LoadedSynthesizer:
    """A default synthesizer in memory, with the registry ids its rows are stamped with."""

    dataset: str
    version_id: int
    version: int
    algorithm: str
    synthesizer: Synthesizer
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sample(self, n: int) -> Any:
        """``n`` rows drawn from the synthesizer, one draw at a time."""
        # SDV models keep sampling state on the instance: one draw at a time per synthesizer.
        with self.lock:
            return self.synthesizer.sample(n)


def stored_response(engine: Engine, dataset: str, key: str) -> GenerateOut | None:
    """The response stored under ``key``, marked as a replay, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(requests_t.c.response).where(requests_t.c.dataset == dataset, requests_t.c.idempotency_key == key)
        ).first()
    if row is None:
        return None
    return GenerateOut.model_validate({**row.response, "replayed": True})


def _sample_json(
    spec: DatasetSpec, sample_id: uuid.UUID, features: dict[str, Any], label: str, when: Any
) -> dict[str, Any]:
    # A sample as the API answers it: its label sits under the dataset's target name.
    return {
        "sample_id": str(sample_id),
        "features": features,
        spec.target: spec.label_to_api(label),
        "event_time": when.isoformat().replace("+00:00", "Z"),
    }


def generate(
    engine: Engine, spec: DatasetSpec, loaded: LoadedSynthesizer, n: int, idempotency_key: str | None = None
) -> GenerateOut:
    """Sample ``n`` rows, store them as ``synthetic`` with their label and producer, and answer.

    With an ``idempotency_key`` already used, the first answer comes back (``replayed``) and
    nothing is sampled or stored.
    """
    if idempotency_key is not None:
        previous = stored_response(engine, spec.name, idempotency_key)
        if previous is not None:
            return previous
    batch = loaded.sample(n)
    now = utcnow()
    rows, samples = [], []
    for record in batch.frame.to_dict("records"):
        features = {f.name: (str(record[f.name]) if f.is_categorical else float(record[f.name])) for f in spec.features}
        sample_id = uuid.uuid4()
        rows.append(
            NewSample(
                features=features,
                label=str(record["label"]),
                producer_version_id=loaded.version_id,
                event_time=now,
                id=sample_id,
            )
        )
        samples.append(_sample_json(spec, sample_id, features, str(record["label"]), now))
    response = GenerateOut(
        dataset=spec.name, n=len(samples), synthesizer_version=loaded.version, replayed=False, samples=samples
    )
    try:
        with transaction(engine) as session:
            conn = session.connection()
            if idempotency_key is not None:
                # First: a concurrent twin fails here, before writing any sample.
                conn.execute(
                    requests_t.insert().values(
                        dataset=spec.name,
                        idempotency_key=idempotency_key,
                        response=response.model_dump(mode="json"),
                        created_at=now,
                    )
                )
            insert_samples(conn, spec, rows, "synthetic")
    except IntegrityError:
        if idempotency_key is None:
            raise
        previous = stored_response(engine, spec.name, idempotency_key)
        if previous is None:  # the constraint fired but the winner's row is not visible: say so
            raise ConflictError(f"idempotency key {idempotency_key!r} is being used by a concurrent request") from None
        return previous
    return response


def list_samples(
    engine: Engine, spec: DatasetSpec, *, source: SampleSource | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """A page of stored samples, newest first, with features, label and producing synthesizer."""
    where = of_dataset(samples_t, spec, source)
    query = (
        select_with_features(
            spec,
            samples_t.outerjoin(versions_t, versions_t.c.id == samples_t.c.producer_version_id),
            samples_t.c.id,
            samples_t.c.label,
            samples_t.c.source,
            samples_t.c.event_time,
            versions_t.c.version,
        )
        .where(*where)
        .order_by(samples_t.c.created_at.desc(), samples_t.c.event_time.desc(), samples_t.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    count = sa.select(sa.func.count()).select_from(samples_t).where(*where)
    with engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        items = [
            {
                "sample_id": r["id"],
                "features": {f: r[f] for f in spec.feature_names},
                spec.target: spec.label_to_api(r["label"]),
                "source": r["source"],
                "event_time": as_utc(r["event_time"]),
                "synthesizer_version": r["version"],
            }
            for r in conn.execute(query).mappings()
        ]
    return total, items


def distributions(engine: Engine, spec: DatasetSpec, bins: int) -> Distributions:
    """Histograms of every feature and the label, reference against synthetic, computed by the
    database (a handful of aggregate queries, whatever the number of stored rows)."""
    ft = feature_table(spec.name)
    joined = samples_t.join(ft, ft.c.sample_id == samples_t.c.id)
    sources = ("reference", "synthetic")
    base = [samples_t.c.dataset == spec.name, samples_t.c.source.in_(sources)]
    features: dict[str, Histogram] = {}
    with engine.connect() as conn:
        for f in spec.features:
            column = ft.c[f.name]
            if f.is_categorical:
                counts = _grouped(
                    conn, sa.select(samples_t.c.source, column, sa.func.count()).select_from(joined), base, column
                )
                categories = list(f.categories)
                features[f.name] = Histogram(
                    kind="category",
                    categories=categories,
                    reference=[counts.get(("reference", c), 0) for c in categories],
                    synthetic=[counts.get(("synthetic", c), 0) for c in categories],
                )
                continue
            low, high = conn.execute(
                sa.select(sa.func.min(column), sa.func.max(column)).select_from(joined).where(*base)
            ).one()
            if low is None:
                low, high = 0.0, 1.0
            low, high = float(low), float(high)
            width = (high - low) / bins if high > low else 1.0
            bucket = bin_index(column, low, width, bins).label("bucket")
            counts = _grouped(
                conn, sa.select(samples_t.c.source, bucket, sa.func.count()).select_from(joined), base, bucket
            )
            features[f.name] = Histogram(
                kind="float",
                edges=[low + i * width for i in range(bins + 1)],
                reference=[counts.get(("reference", i), 0) for i in range(bins)],
                synthetic=[counts.get(("synthetic", i), 0) for i in range(bins)],
            )
        label_counts = _grouped(
            conn,
            sa.select(samples_t.c.source, samples_t.c.label, sa.func.count()).select_from(samples_t),
            [*base, samples_t.c.label.is_not(None)],
            samples_t.c.label,
        )
    labels = list(spec.labels)
    return Distributions(
        dataset=spec.name,
        features=features,
        label=LabelCounts(
            labels=[spec.label_to_api(x) for x in labels],
            reference=[label_counts.get(("reference", x), 0) for x in labels],
            synthetic=[label_counts.get(("synthetic", x), 0) for x in labels],
        ),
    )


def bin_index(value: Any, low: float, width: float, bins: int) -> Any:
    """The histogram bin of ``value`` as one SQL expression, the same on SQLite and PostgreSQL:
    ``floor((value - low) / width)``, clamped into ``[0, bins - 1]`` (the maximum belongs to the
    last bin).

    ``CAST(x AS INTEGER)`` truncates on SQLite but rounds on PostgreSQL, and ``floor()`` is not
    in every SQLite build; so the cast is taken, then lowered by one where it landed above ``x``:
    a floor on both, whichever way the cast went.
    """
    scaled = (value - low) / width
    cast = sa.cast(scaled, sa.Integer)
    floor = cast - sa.case((cast > scaled, 1), else_=0)
    return sa.case((floor >= bins, bins - 1), (floor < 0, 0), else_=floor)


def _grouped(conn: Any, query: Any, where: list[Any], key: Any) -> dict[tuple[str, Any], int]:
    rows = conn.execute(query.where(*where).group_by(samples_t.c.source, key))
    return {(str(source), value): int(n) for source, value, n in rows}
