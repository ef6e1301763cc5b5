"""``dailyml generate iris|wine [-n N]``: labelled synthetic rows into the feature store.

Runs in-process on the configured database (no generator service needed): the default
synthesizer is loaded from the registry (sha256-verified); when a dataset has none yet, the
fast candidates are fitted first, with a progress bar, and the best measured becomes default.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any


def cmd_generate(args: argparse.Namespace) -> int:
    """``dailyml generate``: store ``-n`` rows from the default synthesizer (fitted first if none), print them."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from dailyml.bootstrap import ensure_reference
    from dailyml.contracts.generator import MAX_GENERATE
    from dailyml.datasets import get_spec
    from dailyml.db import create_db_engine, migrate
    from dailyml.generation.fitting import (
        DEFAULT,
        KIND,
        SCORING,
        FitOutcome,
        fast_candidates,
        fit_and_register,
        fit_candidates,
        load,
    )
    from dailyml.generation.store import LoadedSynthesizer, generate
    from dailyml.registry import Registry
    from dailyml.settings import get_settings
    from dailyml.synthesizers.base import FitProgress

    console, out = Console(stderr=True), Console()
    if not 1 <= args.n <= MAX_GENERATE:
        console.print(f"[red]error:[/red] -n must be between 1 and {MAX_GENERATE}")
        return 2
    settings = get_settings()
    migrate(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    registry = Registry.from_settings(engine, settings)
    spec = get_spec(args.dataset)
    ensure_reference(engine, spec, settings)
    mv = registry.aliased(spec.name, KIND, DEFAULT)
    if mv is None:
        algorithms = fast_candidates(spec)
        console.print(f"{spec.name} has no default synthesizer yet: fitting {', '.join(algorithms)}")
        with Progress(
            TextColumn("[bold]fit"), BarColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("starting", total=1.0)

            def fit_one(algorithm: str, progress: FitProgress) -> FitOutcome:
                return fit_and_register(
                    engine, registry, spec, algorithm, seed=settings.seed, settings=SCORING, progress=progress
                )

            result = fit_candidates(
                registry, spec, algorithms, fit_one, progress=lambda f, m: bar.update(task, completed=f, description=m)
            )
        for r in result.fitted:
            console.print(f"  v{r.version} {r.algorithm}: quality {r.quality:.3f} ({r.reason})")
        mv = registry.aliased(spec.name, KIND, DEFAULT)
        assert mv is not None
    loaded = LoadedSynthesizer(spec.name, mv.id or 0, mv.version, mv.algorithm, load(registry, mv))
    response = generate(engine, spec, loaded, args.n, args.idempotency_key)
    engine.dispose()
    if args.json:
        print(json.dumps(response.model_dump(mode="json"), indent=2))
        return 0
    table = Table(
        title=f"{spec.name}: {response.n} synthetic rows from synthesizer v{mv.version} ({mv.algorithm})"
        + (" [replayed]" if response.replayed else ", stored")
    )
    for f in spec.features:
        table.add_column(f.name + (f" ({f.unit})" if f.unit else ""), justify="left" if f.is_categorical else "right")
    table.add_column(spec.target, style="bold")
    for sample in response.samples[:50]:
        table.add_row(*[_cell(sample["features"][f.name]) for f in spec.features], str(sample[spec.target]))
    out.print(table)
    if len(response.samples) > 50:
        out.print(f"... and {len(response.samples) - 50} more (use --json for all)")
    return 0


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def add_generate_command(sub: Any) -> None:
    """Register ``dailyml generate`` (only where the generator extra, with sdv, is installed)."""
    if importlib.util.find_spec("sdv") is None:
        return
    from dailyml.datasets import DATASET_NAMES

    p = sub.add_parser("generate", help="generate labelled synthetic rows into the feature store")
    p.add_argument("dataset", choices=DATASET_NAMES)
    p.add_argument("-n", type=int, default=5, help="how many rows (1 to 10,000; default 5)")
    p.add_argument("--idempotency-key", default=None, help="repeat it to get the first answer back, nothing stored")
    p.add_argument("--json", action="store_true", help="print the response as JSON")
    p.set_defaults(func=cmd_generate)
