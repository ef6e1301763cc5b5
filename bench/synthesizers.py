"""Synthesizers: fit time, sampling time from a loaded artifact, and fidelity, in one run.

For each dataset and synthesizer: fit on the reference training rows (as the generator does),
save and load the artifact, then measure on the loaded copy the time to sample 1 row (median of
20) and 1,000 rows, and score 6,000 sampled rows against the de-duplicated real rows (SDMetrics
quality and diagnostic, rows outside the valid ranges before resampling, grade distribution,
train-on-synthetic/test-on-real). Baselines in the same run: SDV's plain GaussianCopula (the
ratio column) and real rows scored against real rows (half against the other half), the
ceiling a synthesizer can be expected to reach.

    .venv/bin/python bench/synthesizers.py [--datasets iris wine] [--epochs 300] [--rows 6000]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dailyml.datasets import get_spec  # noqa: E402
from dailyml.settings import Settings  # noqa: E402
from dailyml.synth import algorithms_for  # noqa: E402
from dailyml.synth.base import Synthesizer  # noqa: E402
from dailyml.synth.fidelity import LABEL_RATIO_LIMIT, fidelity_report, rank_key, sdmetrics_scores  # noqa: E402
from dailyml.synth.fitting import fit  # noqa: E402
from dailyml.training import assign_split  # noqa: E402

TARGETS = {"wine": 0.85, "iris": 0.90}


def real_vs_real(spec: Any, reference: Any, seed: int) -> float:
    """SDMetrics quality of one half of the de-duplicated real rows against the other half."""
    real = reference.drop_duplicates(subset=[*spec.feature_names, "label"]).reset_index(drop=True)
    order = np.random.default_rng(seed).permutation(len(real))
    half = len(real) // 2
    a, b = real.iloc[order[:half]], real.iloc[order[half:]]
    return float(sdmetrics_scores(spec, a, b)["quality"])


def sample_times(synthesizer: Synthesizer, seed: int) -> tuple[float, float]:
    ones = []
    for i in range(20):
        started = time.perf_counter()
        synthesizer.sample(1, seed=seed + i)
        ones.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    synthesizer.sample(1000, seed=seed)
    return float(np.median(ones)), (time.perf_counter() - started) * 1000


def bench_dataset(name: str, algorithms: list[str], epochs: int, rows: int, seed: int) -> list[dict[str, Any]]:
    spec = get_spec(name)
    reference = spec.load_reference(Settings().data_dir)
    reference["split"] = assign_split(spec, reference, seed)
    ceiling = real_vs_real(spec, reference, seed)
    print(f"\n== {name}: {len(reference)} reference rows; real half vs real half quality {ceiling:.3f}", flush=True)
    results = []
    for algorithm in algorithms:
        print(f"  fitting {algorithm} ...", flush=True)
        synthesizer, fit_seconds = fit(spec, algorithm, reference, seed=seed, epochs=epochs, progress=lambda f, m: None)
        payload = synthesizer.dumps()
        loaded = Synthesizer.loads(payload)
        one_ms, thousand_ms = sample_times(loaded, seed)
        report = fidelity_report(spec, loaded, reference, rows=rows, seed=seed, trees=100, fit_seconds=fit_seconds)
        results.append(
            {
                "dataset": name,
                "algorithm": algorithm,
                "params": synthesizer.describe(),
                "artifact_bytes": len(payload),
                "fit_s": fit_seconds,
                "sample_1_ms": one_ms,
                "sample_1000_ms": thousand_ms,
                "real_vs_real_quality": ceiling,
                "report": report,
            }
        )
        print(
            f"  {algorithm}: fit {fit_seconds:.1f}s, quality {report['quality']:.3f}, "
            f"1 row {one_ms:.1f} ms, 1,000 rows {thousand_ms:.0f} ms",
            flush=True,
        )
    return results


def print_table(name: str, results: list[dict[str, Any]]) -> None:
    spec = get_spec(name)
    base = next((r for r in results if r["algorithm"] == "gaussian_copula"), None)
    base_q = base["report"]["quality"] if base else None
    metric = "MSE" if spec.task == "regression" else "accuracy"
    print(
        f"\n{name}: {results[0]['report']['rows_scored']} sampled rows vs {results[0]['report']['real_rows']} "
        f"de-duplicated real rows (real vs real: {results[0]['real_vs_real_quality']:.3f})"
    )
    header = (
        f"{'synthesizer':26s} {'fit s':>7s} {'1 row ms':>9s} {'1k rows ms':>10s} {'quality':>8s} {'/GC':>5s} "
        f"{'shapes':>7s} {'pairs':>7s} {'diag':>5s} {'invalid%':>9s} {'copies%':>8s} {'outside%':>9s} "
        f"{'TSTR ' + metric:>14s} {'TRTR':>7s} {'worst label ratio':>18s} {'MB':>5s}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        rep = r["report"]
        ratio = f"{rep['quality'] / base_q:.2f}" if base_q else "-"
        print(
            f"{r['algorithm']:26s} {r['fit_s']:7.1f} {r['sample_1_ms']:9.1f} {r['sample_1000_ms']:10.0f} "
            f"{rep['quality']:8.3f} {ratio:>5s} {rep['column_shapes']:7.3f} {rep['column_pair_trends']:7.3f} "
            f"{rep['diagnostic']:5.2f} {100 * rep['invalid_share_before_resampling']:9.2f} "
            f"{100 * rep['copy_share_before_resampling']:8.2f} {100 * rep['outside_real_range_share']:9.2f} "
            f"{rep['tstr']['train_on_synthetic']:14.3f} {rep['tstr']['train_on_real']:7.3f} "
            f"{rep['label_distribution']['worst_ratio']:18.2f} {r['artifact_bytes'] / 1e6:5.2f}"
        )
    print(f"\n{name}: synthetic/real share per {spec.target} (limit x{LABEL_RATIO_LIMIT}):")
    labels = results[0]["report"]["label_distribution"]["labels"]
    print(f"{'synthesizer':26s} " + " ".join(f"{label:>10s}" for label in labels))
    real = results[0]["report"]["label_distribution"]["real"]
    print(f"{'real share':26s} " + " ".join(f"{real[label]:10.4f}" for label in labels))
    for r in results:
        ratio = r["report"]["label_distribution"]["ratio"]
        print(f"{r['algorithm']:26s} " + " ".join(f"{ratio.get(label, 0):10.2f}" for label in labels))

    best = max(results, key=lambda r: rank_key(r["report"]))
    rep = best["report"]
    target = TARGETS.get(name)
    checks = {
        f"quality >= {target}": target is None or rep["quality"] >= target,
        f"every {spec.target} within x{LABEL_RATIO_LIMIT}": rep["label_distribution"]["within_limit"],
        "no row outside the valid ranges": rep["invalid_rows_kept"] == 0,
        "no exact copy of a real row": rep["copies_kept"] == 0,
        "1 row < 100 ms": best["sample_1_ms"] < 100,
    }
    print(
        f"\n{name} default by measured fidelity: {best['algorithm']} (quality {rep['quality']:.3f}; rule: faithful "
        f"label distribution first, then the highest quality)"
    )
    for check, ok in checks.items():
        print(f"  [{'met' if ok else 'MISSED'}] {check}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="*", default=["iris", "wine"])
    parser.add_argument("--algorithms", nargs="*", default=None, help="default: every algorithm of the dataset")
    parser.add_argument("--epochs", type=int, default=300, help="CTGAN/TVAE epochs")
    parser.add_argument("--rows", type=int, default=6000, help="sampled rows scored against the real ones")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", type=Path, default=None, help="also write every figure to this file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    everything = []
    for name in args.datasets:
        algorithms = args.algorithms or algorithms_for(get_spec(name))
        results = bench_dataset(name, algorithms, args.epochs, args.rows, args.seed)
        print_table(name, results)
        everything.extend(results)
    if args.json:
        args.json.write_text(json.dumps(everything, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
