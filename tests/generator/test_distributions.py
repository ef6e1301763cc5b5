"""The distributions histograms: the same bins on SQLite and PostgreSQL.

A value goes in bin ``floor((x - low) / width)``, the maximum in the last bin. The values are
chosen where rounding and flooring disagree (x.6 of a bin) and at the maximum, so a binning
that rounds (PostgreSQL's ``CAST(x AS INTEGER)``) shows up as shifted counts.
"""

from __future__ import annotations

import sqlalchemy as sa

from dailyml.datasets import get_spec
from dailyml.featurestore import NewSample, insert_samples, predictions_t, samples_t
from dailyml.generation.store import distributions
from tests.support.databases import Database

# With low 0.0 and high 10.0, ten bins are [0, 1), [1, 2), ... [9, 10]: (x - low) / width is x.
REFERENCE = [0.0, 0.6, 1.6, 1.4, 3.6, 3.5, 8.6, 9.6, 10.0]
SYNTHETIC = [0.4, 2.6, 2.999, 4.5, 9.0, 9.99]


def _only(db: Database, dataset: str, rows: dict[str, list[float]]) -> None:
    """Replace every stored sample of ``dataset`` by ``rows`` (per source), each value in every
    numeric feature."""
    spec = get_spec(dataset)
    with db.engine.begin() as conn:
        ids = sa.select(samples_t.c.id).where(samples_t.c.dataset == dataset)
        conn.execute(predictions_t.delete().where(predictions_t.c.sample_id.in_(ids)))
        conn.execute(samples_t.delete().where(samples_t.c.dataset == dataset))  # features cascade
        for source, values in rows.items():
            new = [NewSample(features={f: x for f in spec.feature_names}, label=spec.labels[0]) for x in values]
            insert_samples(conn, spec, new, source)


def test_float_bins_floor_on_every_backend_and_the_maximum_goes_in_the_last_bin(db: Database) -> None:
    spec = get_spec("iris")
    _only(db, "iris", {"reference": REFERENCE, "synthetic": SYNTHETIC})

    out = distributions(db.engine, spec, bins=10)

    for name in spec.feature_names:
        histogram = out.features[name]
        assert histogram.kind == "float"
        assert histogram.edges == [float(i) for i in range(11)]
        #                                  0  1  2  3  4  5  6  7  8  9
        assert histogram.reference == [2, 2, 0, 2, 0, 0, 0, 0, 1, 2], name
        assert histogram.synthetic == [1, 0, 2, 0, 1, 0, 0, 0, 0, 2], name
    assert out.label.reference[0] == len(REFERENCE)
    assert out.label.synthetic[0] == len(SYNTHETIC)


def test_one_bin_holds_everything_and_equal_values_make_one_wide_bin(db: Database) -> None:
    spec = get_spec("iris")
    _only(db, "iris", {"reference": [0.0, 4.6, 9.5, 10.0], "synthetic": [5.0, 5.0]})
    whole = distributions(db.engine, spec, bins=1).features["sepal_length"]
    assert whole.edges == [0.0, 10.0]
    assert (whole.reference, whole.synthetic) == ([4], [2])

    _only(db, "iris", {"reference": [2.5, 2.5], "synthetic": [2.5]})
    flat = distributions(db.engine, spec, bins=3).features["petal_width"]
    assert flat.edges == [2.5, 3.5, 4.5, 5.5]
    assert (flat.reference, flat.synthetic) == ([2, 0, 0], [1, 0, 0])
