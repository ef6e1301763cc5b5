"""The ``dailyml`` command: bootstrap, train, manage models, serve, and start everything (``up``)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dailyml.supervisor import SERVICES, ensure_admin_token, ensure_artifact_key, run_services

if TYPE_CHECKING:
    from dailyml.assessment import Assessment

console = Console(stderr=True)
out = Console()


@contextmanager
def _progress(verb: str = "train") -> Iterator[Callable[[str], Callable[[int, int, str], None]]]:
    with Progress(
        TextColumn("[bold]{task.fields[dataset]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:

        def factory(dataset: str) -> Callable[[int, int, str], None]:
            task = bar.add_task("starting", total=None, dataset=f"{verb} {dataset}")

            def update(done: int, total: int, message: str) -> None:
                bar.update(task, completed=done, total=total, description=message)

            return update

        yield factory


def _engine() -> Any:
    from dailyml.db import create_db_engine
    from dailyml.settings import get_settings

    return create_db_engine(get_settings().resolved_database_url)


def _apply_fast(args: argparse.Namespace) -> None:
    if getattr(args, "fast", False):
        os.environ["DAILYML_TRAIN_PROFILE"] = "fast"
        from dailyml.settings import get_settings

        get_settings.cache_clear()


# -- commands ---------------------------------------------------------------------------------
def cmd_migrate(args: argparse.Namespace) -> int:
    """``dailyml migrate``: upgrade the configured database to the newest schema."""
    from dailyml.db import migrate
    from dailyml.settings import get_settings

    migrate(get_settings().resolved_database_url)
    console.print("database migrated to head")
    return 0


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """``dailyml bootstrap``: migrate, load the reference rows, train first champions; prints a line per dataset."""
    from dailyml.bootstrap import bootstrap
    from dailyml.settings import get_settings

    _apply_fast(args)
    settings = get_settings()
    console.print(f"database: {settings.resolved_database_url.split('@')[-1]}")
    with _progress() as factory:
        reports = bootstrap(settings, _engine(), progress_factory=factory)
    for r in reports:
        state = "trained" if r.trained else "kept"
        champion = r.champion.version if r.champion else None
        console.print(f"{r.dataset}: {r.reference_rows_added} reference rows added, champion v{champion} ({state})")
    return 0


def _report_table(dataset: str, metrics: dict[str, Any]) -> Table:
    from dailyml.datasets import get_spec

    spec = get_spec(dataset)
    keys = (
        ["accuracy", "macro_f1"]
        if spec.task == "classification"
        else ["mse", "mae", "exact_accuracy", "within_one_accuracy"]
    )
    table = Table(
        title=f"{dataset}: cross-validation ({next(iter(metrics['candidates'].values()))['cv']['scheme']}) "
        f"and hold-out ({metrics['data']['test_rows']} rows)"
    )
    table.add_column("model")
    for k in keys:
        table.add_column(f"CV {k}", justify="right")
    for k in keys:
        table.add_column(f"hold-out {k}", justify="right")
    for name, c in metrics["candidates"].items():
        role = (
            " (chosen)"
            if name == metrics["chosen"]
            else " (baseline)"
            if c["baseline"]
            else " (lab)"
            if c["lab"]
            else ""
        )
        table.add_row(
            name + role,
            *[f"{c['cv'][k]:.3f}±{c['cv'][k + '_std']:.3f}" for k in keys],
            *[f"{c['holdout'][k]:.3f}" for k in keys],
        )
    return table


def cmd_train(args: argparse.Namespace) -> int:
    """``dailyml train``: train, evaluate and register a model version; promoted with ``--promote`` or if first."""
    from dailyml.bootstrap import ensure_reference, train_and_register
    from dailyml.datasets import get_spec
    from dailyml.db import migrate
    from dailyml.registry import Registry
    from dailyml.settings import get_settings
    from dailyml.vocab import SampleSource

    _apply_fast(args)
    settings = get_settings()
    migrate(settings.resolved_database_url)
    engine = _engine()
    registry = Registry.from_settings(engine, settings)
    spec = get_spec(args.dataset)
    ensure_reference(engine, spec, settings)
    sources: tuple[SampleSource, ...] = ("reference", "synthetic") if args.include_synthetic else ("reference",)
    with _progress() as factory:
        mv = train_and_register(engine, registry, spec, settings, progress=factory(spec.name), sources=sources)
    out.print(_report_table(spec.name, mv.metrics))
    d = mv.metrics["data"]
    out.print(
        f"rows {d['rows']}, exact duplicates dropped {d['duplicates_dropped']}, train {d['train_rows']}, "
        f"test {d['test_rows']}; chosen by CV {mv.metrics['primary_metric']}: {mv.algorithm}"
    )
    out.print(f"registered {spec.name} model version {mv.version} (sha256 {mv.artifact_sha256[:12]})")
    if args.promote or registry.alias_id(spec.name) is None:
        registry.promote(spec.name, mv.version, reason="dailyml train --promote")
        out.print(f"version {mv.version} is now champion")
    if args.json:
        print(json.dumps(mv.metrics, indent=2, default=str))
    return 0


def _evaluate_table(report: Assessment) -> Table:
    from dailyml.assessment import headline_keys
    from dailyml.datasets import get_spec

    spec = get_spec(report.dataset)
    keys = headline_keys(spec)
    table = Table(title=f"{spec.name}: {report.protocol.scheme} on {report.protocol.rows} de-duplicated rows")
    table.add_column("model")
    for k in keys:
        table.add_column(k, justify="right")
    groups = list(spec.feature(spec.group_feature).categories) if spec.group_feature else []
    for g in groups:
        table.add_column(f"{g} mse / exact", justify="right")
    for k in ("µs/row", "MB", "fit s"):
        table.add_column(k, justify="right")
    rows = [*report.references.items(), *report.candidates.items()]
    for name, r in rows:
        role = (
            " (champion)"
            if name == report.champion
            else " (baseline)"
            if r.baseline
            else " (lab)"
            if r.lab
            else " (reference)"
            if r.role == "reference"
            else ""
        )
        cells = [f"{r.means[k]:.3f}±{r.stds[k]:.3f}" if k == spec.primary_metric else f"{r.means[k]:.3f}" for k in keys]
        for g in groups:
            m = (r.by_group or {}).get(g)
            cells.append(f"{m['mse']:.3f} / {m['exact_accuracy']:.3f}" if m else "–")
        cost = r.cost
        compiled = "" if cost.compiled else "*"
        table.add_row(
            name + role,
            *cells,
            f"{cost.us_per_row:.0f}{compiled}",
            f"{cost.mb:.2f}",
            f"{cost.fit_seconds or 0.0:.2f}",
        )
    return table


def _evaluate_search(spec: Any, frame: Any, args: argparse.Namespace) -> int:
    from dailyml.assessment import explore

    if spec.name != "wine" or args.record or args.quick:
        console.print("--search is for wine only, without --record or --quick")
        return 2
    with _progress("search") as factory:
        report = explore(spec, frame, outer_repeats=args.outer_repeats, progress=factory(spec.name))
    if args.json:
        print(json.dumps(report.model_dump(), indent=2, default=str))
        return 0
    assert report.families is not None and report.families_protocol is not None
    assert report.search is not None and report.search_protocol is not None
    table = Table(title=f"wine families: {report.families_protocol.scheme}")
    for col in ("model", "mse", "exact", "median-grade exact", "red mse / exact", "white mse / exact", "µs/row", "MB"):
        table.add_column(col)
    for name, r in report.families.items():
        median = r.means.get("median_grade_exact_accuracy")
        by_group = r.by_group or {}
        table.add_row(
            name,
            f"{r.means['mse']:.3f}±{r.stds['mse']:.3f}",
            f"{r.means['exact_accuracy']:.3f}",
            "–" if median is None else f"{median:.3f}",
            *(f"{by_group[g]['mse']:.3f} / {by_group[g]['exact_accuracy']:.3f}" for g in ("red", "white")),
            f"{r.cost.us_per_row:.0f}",
            f"{r.cost.mb:.2f}",
        )
    out.print(table)
    search = report.search
    out.print(
        f"nested search ({report.search_protocol.scheme} outer; {search.inner}): "
        f"MSE {search.means['mse']:.3f}±{search.stds['mse']:.3f}, exact {search.means['exact_accuracy']:.3f}, "
        + ", ".join(f"{g} {m['mse']:.3f} / {m['exact_accuracy']:.3f}" for g, m in (search.by_group or {}).items())
    )
    for w in search.winners:
        figures = f"inner MSE {w.inner_mse:.3f}, outer {w.outer_mse:.3f}"
        out.print(f"  outer fold {w.fold + 1}: {w.name} ({figures})")
    chosen = search.chosen
    assert chosen is not None
    served = f"{chosen.cost.us_per_row:.0f} µs/row, {chosen.cost.mb:.1f} MB"
    out.print(f"chosen most often: {chosen.name}, served: {served}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``dailyml evaluate``: our candidates and the references under one protocol, printed or recorded."""
    from dailyml.assessment import assess, recordable
    from dailyml.datasets import get_spec
    from dailyml.settings import get_settings

    settings = get_settings()
    spec = get_spec(args.dataset)
    frame = spec.load_reference(settings.data_dir)
    if args.search:
        return _evaluate_search(spec, frame, args)
    with _progress("evaluate") as factory:
        report = assess(spec, frame, quick=args.quick, progress=factory(spec.name))
    if args.json:
        print(json.dumps(report.model_dump(), indent=2, default=str))
    else:
        out.print(_evaluate_table(report))
        out.print("* not compiled: served by scikit-learn behind the compiled preprocessing")
        for metric, t in report.targets.items():
            state = "met" if t.met else "MISSED"
            scope = "" if report.targets_apply else " (quick protocol: the targets apply to the full one)"
            out.print(f"target {metric} {t.target}: {t.value:.4f} {state}{scope}")
    if args.record:
        from dailyml.db import migrate
        from dailyml.registry import Registry

        migrate(settings.resolved_database_url)
        registry = Registry.from_settings(_engine(), settings)
        mv = registry.aliased(spec.name)
        if mv is None or mv.algorithm != report.champion:
            what = "no champion" if mv is None else f"the champion is {mv.algorithm}"
            console.print(f"[yellow]not recorded: {what}, the evaluated champion is {report.champion}")
            return 1
        registry.record_evaluation(mv, recordable(report).model_dump())
        console.print(f"recorded on {spec.name} model version {mv.version}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """``dailyml models list|promote|rollback``: show a dataset's versions or move its champion."""
    from dailyml.registry import Registry
    from dailyml.settings import get_settings

    registry = Registry.from_settings(_engine(), get_settings())
    if args.action == "list":
        champion = registry.alias_id(args.dataset)
        table = Table(title=f"{args.dataset} models")
        for col in ("version", "algorithm", "created", "hold-out", "sha256", "champion"):
            table.add_column(col)
        for mv in registry.versions(args.dataset):
            hold = {k: round(v, 3) for k, v in mv.metrics.get("holdout", {}).items() if isinstance(v, float)}
            table.add_row(
                str(mv.version),
                mv.algorithm,
                f"{mv.created_at:%Y-%m-%d %H:%M}",
                json.dumps(hold),
                mv.artifact_sha256[:12],
                "★" if mv.id == champion else "",
            )
        out.print(table)
        return 0
    if args.action == "promote":
        if args.version is None:
            console.print("promote needs a VERSION")
            return 2
        registry.load(registry.get(args.dataset, args.version))  # refuses what the predictor would refuse
        mv = registry.promote(args.dataset, args.version, reason="dailyml models promote")
    else:
        mv = registry.rollback(args.dataset, reason="dailyml models rollback")
    out.print(f"{args.dataset} champion is now version {mv.version} ({mv.algorithm})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``dailyml serve``: run one service in this process until it stops."""
    entry = SERVICES[args.service]
    module = importlib.import_module(entry.module)
    module.main(host=args.host, port=args.port or entry.port)
    return 0


def sign_existing_artifacts(*, resign: bool = False, dry_run: bool = False) -> int:
    """Sign the registered versions that have no signature (every one with ``resign``)."""
    from dailyml.registry import Registry
    from dailyml.settings import get_settings

    registry = Registry.from_settings(_engine(), get_settings())
    signed = registry.sign_unsigned(resign=resign, dry_run=dry_run)
    verb = "would sign" if dry_run else "signed"
    for mv in signed:
        out.print(f"{verb} {mv.dataset} {mv.kind} version {mv.version} (sha256 {mv.artifact_sha256[:12]})")
    out.print(f"{verb} {len(signed)} artifact(s)")
    return len(signed)


def cmd_sign_artifacts(args: argparse.Namespace) -> int:
    """Sign existing artifacts with DAILYML_ARTIFACT_KEY (once, when turning signing on or changing the key)."""
    sign_existing_artifacts(resign=args.all, dry_run=args.dry_run)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """Bootstrap, then run every available service as a child process until Ctrl-C."""
    from dailyml.settings import get_settings

    _apply_fast(args)
    home = get_settings().home
    given = bool(os.environ.get("DAILYML_ADMIN_TOKEN", "").strip())
    _token, created = ensure_admin_token(os.environ, home)
    _key, new_key = ensure_artifact_key(os.environ, home)
    get_settings.cache_clear()
    if new_key:
        console.print(f"artifacts are signed with the key in {home / 'artifact-key'} (DAILYML_ARTIFACT_KEY not set)")
    if created:
        console.print(
            f"[bold yellow]DAILYML_ADMIN_TOKEN is not set: generated one in {home / 'admin-token'} "
            '(the scheduler\'s jobs need it). Admin calls: -H "Authorization: Bearer $(cat that file)"'
        )
    elif not given:
        console.print(f"admin token (DAILYML_ADMIN_TOKEN not set): {home / 'admin-token'}")
    if args.fast:
        os.environ.setdefault("DAILYML_SCHEDULER_FAST", "true")
    if cmd_bootstrap(args) != 0:
        return 1
    if new_key:
        # The first start with a key: this home's artifacts were written by this installation (or
        # just now by bootstrap), so they are signed once; from now on only signed ones load.
        sign_existing_artifacts()
    return run_services(host=args.host, port_offset=args.port_offset, skip=args.skip, wait=args.wait)


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The ``dailyml`` argument parser: one sub-command per ``cmd_*`` function."""
    from dailyml.datasets import DATASET_NAMES

    parser = argparse.ArgumentParser(prog="dailyml", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)

    p = sub.add_parser("bootstrap", help="migrate, load reference data, train first models (idempotent)")
    p.add_argument("--fast", action="store_true", help="train with the fast profile")
    p.set_defaults(func=cmd_bootstrap)

    p = sub.add_parser("train", help="train, evaluate and register a model")
    p.add_argument("dataset", choices=DATASET_NAMES)
    p.add_argument("--promote", action="store_true", help="make the new version champion")
    p.add_argument("--include-synthetic", action="store_true", help="also train on labelled synthetic rows")
    p.add_argument("--fast", action="store_true", help="fewer folds and trees")
    p.add_argument("--json", action="store_true", help="print the full metrics as JSON")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="cross-validate our models and the references under one protocol")
    p.add_argument("dataset", choices=DATASET_NAMES)
    p.add_argument("--quick", action="store_true", help="3-fold x 1 and fast settings (the CI check)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--record", action="store_true", help="store the figures on the champion's registry version")
    p.add_argument(
        "--search",
        action="store_true",
        help="wine: the nested hyper-parameter search and the per-colour and ordinal families (docs/models.md)",
    )
    p.add_argument(
        "--outer-repeats", type=int, default=1, choices=(1, 2, 3), help="--search: repeats of the 5 outer folds"
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("models", help="list, promote or roll back model versions")
    p.add_argument("action", choices=("list", "promote", "rollback"))
    p.add_argument("dataset", choices=DATASET_NAMES)
    p.add_argument("version", nargs="?", type=int)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "sign-artifacts",
        help="sign registered artifacts with DAILYML_ARTIFACT_KEY (once: turning signing on, or a new key)",
    )
    p.add_argument("--all", action="store_true", help="re-sign every version, not only unsigned ones (new key)")
    p.add_argument("--dry-run", action="store_true", help="list what would be signed, change nothing")
    p.set_defaults(func=cmd_sign_artifacts)

    p = sub.add_parser("serve", help="run one service in the foreground")
    p.add_argument("service", choices=tuple(SERVICES))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("up", help="bootstrap and start every service on the embedded default")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--fast", action="store_true", help="fast training; daily loop every minute")
    p.add_argument("--skip", nargs="*", default=[], choices=tuple(SERVICES), help="services not to start")
    p.add_argument("--wait", type=float, default=120.0, help="seconds to wait for each service")
    p.add_argument("--port-offset", type=int, default=0, help="add to every default port (run a second copy)")
    p.set_defaults(func=cmd_up)

    for add_command in extra_commands():
        add_command(sub)
    return parser


COMMANDS_GROUP = "dailyml.commands"


def extra_commands() -> list[Callable[[Any], None]]:
    """The sub-commands other packages add (``generate``, the scheduler's ``run``): functions
    registered under the ``dailyml.commands`` entry-point group (pyproject.toml), each given the
    sub-parsers to add its own to. The core names none of them, so it imports nothing of the
    services."""
    return [point.load() for point in sorted(entry_points(group=COMMANDS_GROUP), key=lambda p: p.name)]


def main(argv: list[str] | None = None) -> int:
    """Run the ``dailyml`` command; its exit status (1 on a refused operation, 2 on invalid settings)."""
    from pydantic import ValidationError

    from dailyml.errors import DailyMLError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DailyMLError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        return 1
    except ValidationError as exc:  # settings refused at start (names the variable, never a token)
        console.print(f"[red]invalid settings:[/red] {exc}", markup=False, highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
