"""Synthesizers: fit time, sampling time from a loaded artifact, and fidelity, in one run.

For each dataset and synthesizer: fit on the reference training rows (as the generator does),
save and load the artifact, then measure on the loaded copy the time to sample 1 row (median of
20) and 1,000 rows, and score a 6,000-row sample against the de-duplicated hold-out rows the synthesizer never saw
(``dailyml.synthesizers.fidelity.fidelity_report``: SDMetrics quality against the ceiling of real
training rows vs the same hold-out rows, novelty, copies, rows outside the ranges, label
distribution, train-on-synthetic/test-on-real), and the default the rule would choose.

    .venv/bin/python bench/synthesizers.py [--datasets iris wine] [--epochs 300] [--rows 6000]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dailyml.datasets import get_spec  # noqa: E402
from dailyml.generation.fitting import SCORING, fit  # noqa: E402
from dailyml.settings import Settings  # noqa: E402
from dailyml.synthesizers import DEFAULT_EPOCHS, algorithms_for  # noqa: E402
from dailyml.synthesizers.base import Synthesizer  # noqa: E402
from dailyml.synthesizers.fidelity import (  # noqa: E402
    LABEL_RATIO_LIMIT,
    LABEL_RATIO_TARGET,
    fidelity_report,
    rank_key,
    resampling_reference,
    sampling_times,
    selection_score,
)
from dailyml.training import assign_split  # noqa: E402


def bench_dataset(name: str, algorithms: list[str], epochs: int, rows: int, seed: int) -> list[dict[str, Any]]:
    spec = get_spec(name)
    reference = spec.load_reference(Settings().data_dir)
    reference["split"] = assign_split(spec, reference, seed)
    print(f"\n== {name}: {len(reference)} reference rows (fit on the training split, scored on hold-out)", flush=True)
    results = []
    for algorithm in algorithms:
        print(f"  fitting {algorithm} ...", flush=True)
        synthesizer, fit_seconds = fit(spec, algorithm, reference, seed=seed, epochs=epochs, progress=lambda f, m: None)
        payload = synthesizer.dumps()
        loaded = Synthesizer.loads(payload)
        times = sampling_times(loaded, seed, repeats=20)
        report = fidelity_report(
            spec, loaded, reference, rows=rows, seed=seed, trees=SCORING.trees, fit_seconds=fit_seconds
        ).model_dump()  # the stored JSON shape, which the selection rule reads
        results.append(
            {
                "dataset": name,
                "algorithm": algorithm,
                "params": synthesizer.describe(),
                "artifact_bytes": len(payload),
                "fit_s": fit_seconds,
                **times,
                "report": report,
            }
        )
        print(
            f"  {algorithm}: fit {fit_seconds:.1f}s, quality {report['quality']:.3f}, "
            f"1 row {times['sample_1_ms']:.1f} ms, 1,000 rows {times['sample_1000_ms']:.0f} ms",
            flush=True,
        )
    real = spec.distinct_rows(reference).reset_index(drop=True)
    resampled = resampling_reference(
        spec,
        real[real["split"] == "train"].reset_index(drop=True),
        real[real["split"] == "test"].reset_index(drop=True),
        seed=seed,
        trees=SCORING.trees,
    )
    for r in results:
        r["resampling_reference"] = resampled.model_dump()
    return results


def print_table(name: str, results: list[dict[str, Any]]) -> None:
    spec = get_spec(name)
    first = results[0]["report"]
    print(
        f"\n{name}: {first['rows_scored']} synthetic rows (of {first['rows_sampled']} sampled) vs "
        f"{first['holdout_rows']} de-duplicated hold-out rows; ceiling = {first['rows_scored']} real training rows "
        f"vs the same hold-out rows: quality {first['ceiling']['quality']:.3f}"
    )
    metric = "MSE" if spec.task == "regression" else "accuracy"
    header = (
        f"{'synthesizer':24s} {'fit s':>6s} {'1 row ms':>8s} {'quality':>7s} {'/ceil':>6s} {'shapes':>6s} "
        f"{'pairs':>6s} {'novelty':>7s} {'copies%':>7s} {'invalid%':>8s} {'outside%':>8s} {'TSTR ' + metric:>13s} "
        f"{'TRTR':>6s} {'worst label':>11s} {'score':>6s} {'MB':>5s}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        rep = r["report"]
        print(
            f"{r['algorithm']:24s} {r['fit_s']:6.1f} {r['sample_1_ms']:8.1f} {rep['quality']:7.3f} "
            f"{rep['quality_vs_ceiling']:6.3f} {rep['column_shapes']:6.3f} {rep['column_pair_trends']:6.3f} "
            f"{rep['novelty']['ratio']:7.2f} {100 * rep['copy_share_before_resampling']:7.2f} "
            f"{100 * rep['invalid_share_before_resampling']:8.2f} {100 * rep['outside_real_range_share']:8.2f} "
            f"{rep['tstr']['train_on_synthetic']:13.3f} {rep['tstr']['train_on_real']:6.3f} "
            f"{rep['label_distribution']['worst_ratio']:11.2f} {selection_score(rep):6.3f} "
            f"{r['artifact_bytes'] / 1e6:5.2f}"
        )
    labels = first["label_distribution"]["labels"]
    print(f"{name}: synthetic/real share per {spec.target} (limit x{LABEL_RATIO_LIMIT}, target x{LABEL_RATIO_TARGET}):")
    print(f"{'synthesizer':24s} " + " ".join(f"{x:>10s}" for x in labels))
    print(f"{'real share':24s} " + " ".join(f"{first['label_distribution']['real'][x]:10.4f}" for x in labels))
    for r in results:
        ratio = r["report"]["label_distribution"]["ratio"]
        print(f"{r['algorithm']:24s} " + " ".join(f"{ratio.get(x, 0.0):10.2f}" for x in labels))
    best = max(results, key=lambda r: rank_key(r["report"]))
    rep = best["report"]
    print(f"\n{name} default under the rule: {best['algorithm']} (score {selection_score(rep):.3f})")
    tstr = rep["tstr"]
    floor = 0.90 if name == "wine" else 0.91
    checks = {
        f"quality >= {floor}": rep["quality"] >= floor,
        "novelty: no closer than hold-out rows": rep["novelty"]["ratio"] >= 1.0,
        "no copy of a real row kept": rep["copies_kept"] == 0,
        "no row outside the valid ranges": rep["invalid_rows_kept"] == 0,
        f"every label within x{LABEL_RATIO_TARGET}": rep["label_distribution"]["within_target"],
        "TSTR MSE <= 0.49" if name == "wine" else "TSTR accuracy within 0.02 of TRTR": (
            tstr["train_on_synthetic"] <= 0.49
            if name == "wine"
            else tstr["train_on_synthetic"] >= tstr["train_on_real"] - 0.02
        ),
    }
    for what, ok in checks.items():
        print(f"  [{'met' if ok else 'MISSED'}] {what}")
    ref = results[0]["resampling_reference"]
    print(
        f"reference: the real training rows resampled with replacement ({ref['train_rows']} rows, "
        f"{ref['repeats']} seeds; copies by construction, not a candidate): TSTR {metric} "
        + " / ".join(f"{v:.3f}" for v in ref["train_on_resampled"])
        + f" (mean {ref['mean']:.3f}), against {ref['train_on_real']:.3f} on the real training rows"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=["iris", "wine"])
    parser.add_argument("--algorithms", nargs="*", default=None, help="default: every algorithm of the dataset")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="CTGAN/TVAE epochs")
    parser.add_argument(
        "--rows", type=int, default=SCORING.report_rows, help="sampled rows scored against the real ones"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    everything = []
    for name in args.datasets:
        known = algorithms_for(get_spec(name))
        algorithms = [a for a in args.algorithms if a in known] if args.algorithms else known
        results = bench_dataset(name, algorithms, args.epochs, args.rows, args.seed)
        print_table(name, results)
        everything.extend(results)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
