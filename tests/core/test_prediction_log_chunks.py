"""The prediction log writes a batch in chunks (to hand the event loop the GIL between them),
still as one transaction: all of a batch is stored, or none of it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from dailyml import prediction_log
from dailyml.datasets import get_spec
from dailyml.featurestore import NewPrediction, NewSample, PredictionRecord, predictions_t
from dailyml.ids import uuid7
from dailyml.prediction_log import PredictionLog
from tests.support.databases import Database


def _records(db: Database, dataset: str, n: int) -> list[PredictionRecord]:
    with db.engine.connect() as conn:
        version_id = conn.execute(
            sa.text("SELECT id FROM model_versions WHERE dataset = :d AND kind = 'model' ORDER BY id LIMIT 1"),
            {"d": dataset},
        ).scalar_one()
    spec = get_spec(dataset)
    row, label = spec.example_row, spec.labels[0]
    out = []
    for _ in range(n):
        sample_id = uuid7()
        out.append(
            PredictionRecord(
                dataset,
                NewSample(features=row, id=sample_id),
                NewPrediction(sample_id=sample_id, model_version_id=version_id, predicted_label=label, id=uuid7()),
            )
        )
    return out


def _stored(db: Database, records: list[PredictionRecord]) -> int:
    ids = [r.prediction.id for r in records]
    with db.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(predictions_t).where(predictions_t.c.id.in_(ids))
        return int(conn.execute(query).scalar_one())


def test_a_batch_of_many_chunks_is_stored_whole(sqlite_db: Database) -> None:
    chunk = prediction_log.WRITE_CHUNK
    wine, iris = _records(sqlite_db, "wine", 3 * chunk + 5), _records(sqlite_db, "iris", chunk + 1)
    log = PredictionLog(sqlite_db.engine, 60.0, 10_000, 10_000)
    log.submit(wine + iris)
    assert log.flush() == len(wine) + len(iris)
    assert _stored(sqlite_db, wine) == len(wine) and _stored(sqlite_db, iris) == len(iris)


def test_a_chunk_that_fails_leaves_none_of_its_batch_stored(sqlite_db: Database) -> None:
    chunk = prediction_log.WRITE_CHUNK
    records = _records(sqlite_db, "wine", 2 * chunk + 3)
    # The last chunk's last prediction names a sample that exists nowhere: a foreign-key failure
    # after two chunks were inserted in the same transaction.
    records[-1].prediction.sample_id = uuid.uuid4()
    log = PredictionLog(sqlite_db.engine, 60.0, 10_000, 10_000)
    log.submit(records)
    assert log.flush() == 0
    assert _stored(sqlite_db, records) == 0
