"""Each synthesizer: fit on reference rows, save/load, sample rows that pass the spec, no copies."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from dailyml.datasets import get_spec
from dailyml.errors import UntrustedArtifactError
from dailyml.generation.fitting import fit_rows
from dailyml.synthesizers import ALIASES, EPOCH_ALGORITHMS, algorithms_for, base, build, copula
from dailyml.synthesizers.base import MOVED_MODULES, SynthesisError, Synthesizer
from tests.generator.conftest import EPOCHS, assert_no_real_copies, assert_rows_pass_the_api

# The neural synthesizers' fits take seconds even at a few epochs: `make test` runs them, `make test-fast` not.
CASES = [
    pytest.param(d, a, id=f"{d}-{a}", marks=[pytest.mark.slow] if a in EPOCH_ALGORITHMS else [])
    for d in ("iris", "wine")
    for a in algorithms_for(get_spec(d))
]


@pytest.mark.parametrize(("dataset", "algorithm"), CASES)
def test_fit_save_load_sample_every_row_valid_and_no_copies(dataset: str, algorithm: str, reference) -> None:  # type: ignore[no-untyped-def]
    spec = get_spec(dataset)
    ref = reference[dataset]
    seen: list[tuple[float, str]] = []
    rows = fit_rows(spec, ref)
    if algorithm in EPOCH_ALGORITHMS:
        # The neural models fit a mixture per column before any epoch: a stratified subset
        # keeps this test about the machinery (the bench fits them on every row).
        rows = rows.groupby("label", group_keys=False).head(60)
    synth = build(spec, algorithm, seed=7, epochs=EPOCHS)
    synth.fit(rows, forbidden_rows=ref, progress=lambda f, m: seen.append((f, m)))
    assert seen and seen[-1][0] == 1.0
    assert all(0.0 <= f <= 1.0 for f, _ in seen)
    assert synth.describe()["algorithm"] == algorithm
    assert synth.describe()["fitted_rows"] == len(rows)

    loaded = Synthesizer.loads(synth.dumps())
    batch = loaded.sample(300)
    assert len(batch.frame) == 300
    assert batch.drawn >= 300
    assert_rows_pass_the_api(spec, batch.frame)
    assert_no_real_copies(spec, batch.frame, ref)
    # Every label the sample shows is one of the spec's; the common ones all appear.
    assert set(batch.frame["label"]) <= set(spec.labels)
    # Two loaded copies do not replay the same rows (each draw gets a fresh seed).
    again = Synthesizer.loads(synth.dumps()).sample(20).frame
    assert not again.equals(batch.frame.iloc[:20])


def test_a_seeded_sample_is_reproducible(reference) -> None:  # type: ignore[no-untyped-def]
    spec = get_spec("wine")
    synth = build(spec, "empirical_copula").fit(fit_rows(spec, reference["wine"]), forbidden_rows=reference["wine"])
    pd.testing.assert_frame_equal(synth.sample(50, seed=3).frame, synth.sample(50, seed=3).frame)


def test_the_contract_alias_names_the_per_variety_copula() -> None:
    assert build(get_spec("iris"), "per_variety_gaussian_copula").algorithm == ALIASES["per_variety_gaussian_copula"]


def test_unknown_algorithm_and_regression_only_restrictions() -> None:
    with pytest.raises(ValueError, match="unknown algorithm"):
        build(get_spec("wine"), "nope")
    with pytest.raises(ValueError, match="unknown algorithm"):
        build(get_spec("wine"), "multivariate_gaussian")  # per label: needs a classification dataset


class _Scripted(Synthesizer):
    """Draws rows from a script: lets a test see exactly what is rejected."""

    algorithm = "scripted"

    def __init__(self, dataset: str, batches: list[pd.DataFrame]) -> None:
        super().__init__(dataset)
        self.batches = batches

    def _fit(self, data: pd.DataFrame, progress) -> None:  # type: ignore[no-untyped-def]
        return None

    def _draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        return self.batches.pop(0) if self.batches else self.batches_exhausted()

    def batches_exhausted(self) -> pd.DataFrame:
        raise AssertionError("drew more often than scripted")


def _iris(rows: list[tuple[float, float, float, float, str]]) -> pd.DataFrame:
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width", "label"]
    return pd.DataFrame(rows, columns=names)


def test_out_of_range_rows_are_redrawn_never_clipped(reference) -> None:  # type: ignore[no-untyped-def]
    first = _iris([(5.0, 3.0, -0.2, 0.2, "setosa"), (31.0, 3.0, 1.5, 0.2, "setosa"), (5.03, 3.0, 1.5, 0.2, "setosa")])
    second = _iris([(5.1, 3.3, 1.4, 0.2, "setosa"), (6.0, 2.9, 4.5, 1.5, "tulip")])
    synth = _Scripted("iris", [first, second])
    synth.fit(reference["iris"], forbidden_rows=reference["iris"])
    batch = synth.sample(2)
    # The two impossible rows and the unknown label are dropped, not moved to the limits.
    assert batch.frame["petal_length"].tolist() == [1.5, 1.4]
    assert batch.drawn == 5 and batch.invalid == 3
    assert batch.invalid_by_field == {"sepal_length": 1, "petal_length": 1, "variety": 1}
    assert batch.invalid_share == pytest.approx(3 / 5)


def test_copies_of_real_rows_are_redrawn(reference) -> None:  # type: ignore[no-untyped-def]
    real = reference["iris"].iloc[:3][["sepal_length", "sepal_width", "petal_length", "petal_width", "label"]]
    novel = _iris([(5.17, 3.41, 1.47, 0.23, "setosa")])  # rounded to the data's 1 decimal
    synth = _Scripted("iris", [real.copy(), novel])
    synth.fit(reference["iris"], forbidden_rows=reference["iris"])
    batch = synth.sample(1)
    assert batch.copies == 3 and batch.frame.iloc[0, :4].tolist() == [5.2, 3.4, 1.5, 0.2]


def test_a_synthesizer_that_never_passes_gives_up_with_a_clear_error(reference, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("dailyml.synthesizers.base.MAX_ROUNDS", 3)
    bad = [_iris([(50.0, 3.0, 1.0, 0.2, "setosa")]) for _ in range(3)]
    synth = _Scripted("iris", bad)
    synth.fit(reference["iris"], forbidden_rows=reference["iris"])
    with pytest.raises(SynthesisError, match="none passed the spec"):
        synth.sample(1)


def test_sampling_before_fitting_is_refused() -> None:
    with pytest.raises(SynthesisError, match="not fitted"):
        build(get_spec("iris"), "empirical_copula").sample(1)


def test_loads_refuses_bytes_that_are_not_a_synthesizer() -> None:
    import cloudpickle

    with pytest.raises(UntrustedArtifactError, match="not a synthesizer"):
        Synthesizer.loads(cloudpickle.dumps({"not": "a synthesizer"}))


def test_artifacts_pickled_under_the_former_dailyml_synth_modules_still_load(reference, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Registries hold synthesizers pickled before the split, their classes named dailyml.synth.*.
    spec = get_spec("iris")
    synth = build(spec, "empirical_copula", seed=7).fit(
        fit_rows(spec, reference["iris"]), forbidden_rows=reference["iris"]
    )
    with monkeypatch.context() as m:  # pickle it as the code before the split did
        for module in (base, copula):
            old_name = module.__name__.replace("dailyml.synthesizers", "dailyml.synth")
            m.setitem(sys.modules, old_name, module)
            for value in vars(module).values():
                if isinstance(value, type) and value.__module__ == module.__name__:
                    m.setattr(value, "__module__", old_name)
        old = synth.dumps()
    assert b"dailyml.synth.copula" in old
    assert b"dailyml.synthesizers" not in old

    for name in MOVED_MODULES:  # the former modules are gone: importing one fails
        monkeypatch.setitem(sys.modules, name, None)

    loaded = Synthesizer.loads(old)
    assert type(loaded) is copula.EmpiricalCopula
    assert_rows_pass_the_api(spec, loaded.sample(20).frame)


def test_every_former_module_maps_to_an_existing_one() -> None:
    import importlib

    for old, new in MOVED_MODULES.items():
        assert old.startswith("dailyml.synth") and not old.startswith("dailyml.synthesizers")
        assert importlib.import_module(new).__name__ == new
