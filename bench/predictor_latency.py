"""The serving bench: the predictor against its ceilings and its peers, in one run, on this machine.

    .venv/bin/python bench/predictor_latency.py            # full (about 15 minutes)
    .venv/bin/python bench/predictor_latency.py --quick    # about two minutes, fast-profile models

--quick bootstraps a fast-profile store once (about a minute and a half here) unless given
``--home`` with one; pass the same ``--home`` to later runs to skip that.

Everything below is measured in the same run, under the same CPU pinning (servers on core 0,
the load generator on core 1; ``--server-cpus``/``--client-cpus``), over loopback:

1. HTTP: the predictor (a real ``dailyml serve predictor`` process, prediction logging on),
   a FastAPI ``async def`` endpoint taking the same pydantic body and returning a constant (the
   framework ceiling) and a raw ASGI constant (the HTTP ceiling), all under uvicorn as the
   predictor runs, driven by wrk (one thread, a Lua body) at 1, 16 and 64 connections: req/s,
   p50, p99, errors and the ratio to the FastAPI constant.
2. Workers: the predictor with two workers our way (``DAILYML_PREDICTOR_WORKERS=2``) and with
   stock ``uvicorn --workers 2``, httptools (the default with uvicorn[standard]) and h11 (uvicorn
   issue #3149: without TCP_NODELAY every keep-alive request waits ~40 ms on h11).
3. Batch scoring: rows/s of ``POST /{dataset}/predict/batch`` at 10,000 rows a call.
4. Cold start (process start to /readyz 200) and RSS after warm-up.
5. MLflow's scoring server on the same wine model, installed into a throwaway virtual
   environment (``--mlflow-venv``; never a project dependency). If it cannot be installed, the
   bench says so and carries on.
6. Monitoring: confusion matrix and metrics latency over 10k/100k/1M stored predictions, SQLite
   and PostgreSQL (when its binaries are present), 1% and 100% labelled (bench/monitoring_queries.py).

Needs ``wrk`` (Debian: ``apt-get install wrk``) and ``taskset``. Exit status 0 unless something
could not run at all; there are no thresholds (CI runs ``--quick`` for the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `bench._support` when run as a script

from bench._support import free_port  # noqa: E402
from dailyml.datasets import SPECS  # noqa: E402

ADMIN_TOKEN = "bench-admin-token-0123456789"
# One valid row per dataset, each spec's own example (the body of every single-row request).
BODIES = {name: SPECS[name].example_row for name in ("iris", "wine")}
WINE = BODIES["wine"]


def say(*args: Any) -> None:
    print(*args, flush=True)


# --- processes ------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    started: float
    ready_after: float = 0.0

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (workers), MB."""
        pids = [self.proc.pid]
        try:
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
            pids += [int(p) for p in out.split()]
        except FileNotFoundError:
            pass
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                continue
        return total / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start(
    name: str, cmd: list[str], env: dict[str, str], cpus: str, ready_path: str, log_dir: Path, timeout: float = 180
) -> Server:
    port = free_port()
    cmd = [c.replace("{port}", str(port)) for c in cmd]
    log = (log_dir / f"{name}.log").open("wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        ["taskset", "-c", cpus, *cmd],
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    server = Server(name, f"http://127.0.0.1:{port}", proc, t0)
    deadline = t0 + timeout
    with httpx.Client(timeout=2) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited; see {log_dir / (name + '.log')}")
            try:
                if client.get(server.url + ready_path).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                server.stop()
                raise RuntimeError(f"{name} not ready after {timeout:.0f} s; see {log_dir / (name + '.log')}")
            time.sleep(0.01)
    server.ready_after = time.perf_counter() - t0
    return server


def predictor_cmd() -> list[str]:
    return [sys.executable, "-m", "dailyml.cli", "serve", "predictor", "--host", "127.0.0.1", "--port", "{port}"]


def uvicorn_cmd(app: str, *extra: str) -> list[str]:
    # The same uvicorn options as `dailyml serve` (auto loop and HTTP implementation, no access log).
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "{port}", "--no-access-log",
            "--log-level", "warning", *extra]  # fmt: skip


# --- load -----------------------------------------------------------------------------------


@dataclass
class Load:
    rps: float
    p50: float  # ms
    p99: float
    errors: int
    requests: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, body: Any, connections: int, seconds: float, cpus: str, work: Path) -> Load:
    script = work / f"body-{abs(hash(json.dumps(body, sort_keys=True)))}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        [
            "taskset",
            "-c",
            cpus,
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(map(int, m.groups()))
    return Load(rps, p50, p99, errors, requests)


def check_answers(url: str, path: str, body: Any) -> None:
    r = httpx.post(url + path, json=body, timeout=30)
    if r.status_code != 200:
        raise RuntimeError(f"{url}{path}: {r.status_code} {r.text[:300]}")


def load_table(
    title: str,
    targets: list[tuple[str, str, Any]],
    baseline: dict[str, str],
    connections: tuple[int, ...],
    seconds: float,
    client_cpus: str,
    work: Path,
) -> dict[tuple[str, int], Load]:
    """wrk against every target at every connection count, targets alternated at each count.
    ``baseline`` maps a target to the one its ratio is taken against."""
    results: dict[tuple[str, int], Load] = {}
    for c in connections:
        for name, url, body in targets:
            results[(name, c)] = wrk(url, body, c, seconds, client_cpus, work)
    say(f"\n{title}")
    say(f"{'target':34} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'x rps':>6} {'x p99':>6}")
    for c in connections:
        for name, _, _ in targets:
            r = results[(name, c)]
            ratio = p99ratio = ""
            if name in baseline:
                b = results[(baseline[name], c)]
                ratio, p99ratio = f"{r.rps / b.rps:6.2f}", f"{r.p99 / b.p99:6.2f}"
            say(f"{name:34} {c:>5} {r.rps:9.0f} {r.p50:8.2f} {r.p99:8.2f} {r.errors:>6} {ratio:>6} {p99ratio:>6}")
    return results


# --- batch, MLflow --------------------------------------------------------------------------


def batch_rows(dataset: str, n: int) -> list[dict[str, Any]]:
    from dailyml.datasets import get_spec
    from dailyml.settings import PROJECT_ROOT

    spec = get_spec(dataset)
    frame = spec.load_reference(PROJECT_ROOT / "data")[spec.feature_names]
    rows = frame.to_dict("records")
    return [rows[i % len(rows)] for i in range(n)]


def batch_scoring(url: str, rows_per_call: int, calls: int) -> None:
    say(f"\nbatch scoring: POST /{{dataset}}/predict/batch, {rows_per_call:,} rows a call, logging on")
    say(f"{'dataset':8} {'best s/call':>12} {'median s/call':>14} {'rows/s (best)':>14}")
    with httpx.Client(base_url=url, timeout=300) as client:
        for dataset in ("iris", "wine"):
            body = {"instances": batch_rows(dataset, rows_per_call)}
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                r = client.post(f"/{dataset}/predict/batch", json=body)
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text[:300]
            times.sort()
            best, median = times[0], times[len(times) // 2]
            say(f"{dataset:8} {best:12.3f} {median:14.3f} {rows_per_call / best:14,.0f}")


MLFLOW_EXPORT = """
import pickle, sys, shutil
import mlflow.sklearn
model = pickle.load(open(sys.argv[1], "rb"))
shutil.rmtree(sys.argv[2], ignore_errors=True)
mlflow.sklearn.save_model(model, sys.argv[2], serialization_format="cloudpickle")
"""


def mlflow_venv(path: Path) -> Path | None:
    """A virtual environment with MLflow and this project's scikit-learn, made once and reused."""
    import numpy
    import sklearn

    python = path / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import mlflow"], capture_output=True).returncode == 0:
        return python
    say(f"installing MLflow into a throwaway venv at {path} (not a project dependency) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "-q",
                "mlflow",
                f"scikit-learn=={sklearn.__version__}",
                f"numpy=={numpy.__version__}",
                "pandas",
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=900,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        err = getattr(exc, "stderr", b"") or b""
        say(f"MLflow could not be installed ({type(exc).__name__}): {err.decode(errors='replace')[-400:]}")
        return None
    return python


def start_mlflow(python: Path, home: Path, cpus: str, log_dir: Path) -> Server | None:
    import pickle

    from dailyml.db import create_db_engine
    from dailyml.registry import CHAMPION, Registry
    from dailyml.settings import Settings

    settings = Settings(home=home)
    engine = create_db_engine(settings.resolved_database_url)
    registry = Registry.from_settings(engine, settings)
    mv = registry.get_by_id(registry.alias_id("wine", "model", CHAMPION))  # type: ignore[arg-type]
    estimator = registry.load(mv)
    engine.dispose()
    pickled, model_dir = home / "mlflow-wine.pkl", home / "mlflow-wine-model"
    pickled.write_bytes(pickle.dumps(estimator))
    out = subprocess.run([python, "-c", MLFLOW_EXPORT, pickled, model_dir], capture_output=True, text=True)
    if out.returncode != 0:
        say(f"MLflow could not save the wine model: {out.stderr[-400:]}")
        return None
    mlflow = str(python.parent / "mlflow")
    cmd = [mlflow, "models", "serve", "-m", str(model_dir), "--env-manager", "local", "-h", "127.0.0.1",
           "-p", "{port}", "-w", "1"]  # fmt: skip
    try:
        # MLflow runs `uvicorn` from PATH: the venv's.
        env = {"MLFLOW_TRACKING_URI": f"file://{home}/mlruns", "PATH": f"{python.parent}:{os.environ['PATH']}"}
        return start("mlflow", cmd, env, cpus, "/ping", log_dir)
    except RuntimeError as exc:
        say(f"MLflow's scoring server did not start: {exc}")
        return None


# --- main -----------------------------------------------------------------------------------


def bootstrap(home: Path, profile: str) -> dict[str, str]:
    env = {"DAILYML_HOME": str(home), "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN, "DAILYML_TRAIN_PROFILE": profile}
    if (home / "dailyml.db").exists():
        say(f"using the bootstrapped store in {home}")
        return env
    say(f"bootstrapping a SQLite store in {home} ({profile} training profile) ...")
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dailyml.cli", "bootstrap"], env={**os.environ, **env}, check=True, capture_output=True
    )
    say(f"  took {time.perf_counter() - t:.0f} s")
    return env


def warm(url: str, n: int) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(n):
            for dataset, body in BODIES.items():
                assert client.post(f"/{dataset}/predict", json=body).status_code == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, small stores: under two minutes")
    parser.add_argument("--home", type=Path, help="reuse (or create) a bootstrapped store here")
    parser.add_argument(
        "--profile", choices=("full", "fast"), help="training profile (default: full; fast with --quick)"
    )
    parser.add_argument("--seconds", type=int, help="seconds per wrk run (default 8; 1 with --quick)")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--mlflow-venv", type=Path, default=Path(tempfile.gettempdir()) / "dailyml-bench-mlflow")
    parser.add_argument("--skip", nargs="*", default=[], choices=("workers", "mlflow", "batch", "monitoring"))
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("this bench needs wrk and taskset (Debian: apt-get install wrk util-linux)")
    profile = args.profile or ("fast" if args.quick else "full")
    seconds = args.seconds or (1 if args.quick else 8)
    connections = (1, 16, 64)
    work = Path(tempfile.mkdtemp(prefix="dailyml-bench-"))
    home = args.home or work / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = bootstrap(home, profile)
    env["DAILYML_LOG_PREDICTIONS"] = "true"
    cpus = args.server_cpus
    say(f"{os.cpu_count()} cores; servers on cpus {cpus}, wrk on cpus {args.client_cpus}; {seconds:g} s per wrk run")

    servers: list[Server] = []
    try:
        predictor = start("predictor", predictor_cmd(), env, cpus, "/readyz", work)
        servers.append(predictor)
        cold = predictor.ready_after
        warm(predictor.url, 100)
        batch_body = {"instances": batch_rows("wine", 1000)}
        httpx.post(predictor.url + "/wine/predict/batch", json=batch_body, timeout=120).raise_for_status()
        rss = predictor.rss_mb()
        fastapi_c = start("fastapi", uvicorn_cmd("bench.constant_apps:fastapi_app"), {}, cpus, "/docs", work)
        raw_c = start("raw", uvicorn_cmd("bench.constant_apps:raw_app"), {}, cpus, "/", work)
        servers += [fastapi_c, raw_c]
        for s in (predictor, fastapi_c):
            for dataset, body in BODIES.items():
                check_answers(s.url, f"/{dataset}/predict", body)
        targets = []
        baseline = {}
        for dataset, body in BODIES.items():
            targets += [
                (f"raw ASGI constant ({dataset} body)", raw_c.url + f"/{dataset}/predict", body),
                (f"FastAPI constant /{dataset}/predict", fastapi_c.url + f"/{dataset}/predict", body),
                (f"predictor /{dataset}/predict", predictor.url + f"/{dataset}/predict", body),
            ]
            baseline[f"predictor /{dataset}/predict"] = f"FastAPI constant /{dataset}/predict"
            baseline[f"raw ASGI constant ({dataset} body)"] = f"FastAPI constant /{dataset}/predict"
        load_table(
            "HTTP: one uvicorn worker each, logging on; x = ratio to the FastAPI constant (same body)",
            targets,
            baseline,
            connections,
            seconds,
            args.client_cpus,
            work,
        )
        say(f"\npredictor cold start (process start to /readyz 200): {cold:.2f} s")
        say(f"predictor RSS after warm-up (200 predictions, one 1,000-row batch): {predictor.rss_mb():.0f} MB"
            f" (before the load runs: {rss:.0f} MB)")  # fmt: skip
        for s in (fastapi_c, raw_c):
            s.stop()
            servers.remove(s)

        if "batch" not in args.skip:
            batch_scoring(predictor.url, 10_000, 2 if args.quick else 5)

        mlflow_results = None
        if "mlflow" not in args.skip:
            python = mlflow_venv(args.mlflow_venv)
            mlflow = start_mlflow(python, home, cpus, work) if python else None
            if mlflow is not None:
                servers.append(mlflow)
                mlflow_body = {"dataframe_records": [WINE]}
                check_answers(mlflow.url, "/invocations", mlflow_body)
                mlflow_results = load_table(
                    "MLflow scoring server (mlflow models serve, 1 worker) against the predictor, same wine model",
                    [
                        ("MLflow /invocations (wine)", mlflow.url + "/invocations", mlflow_body),
                        ("predictor /wine/predict", predictor.url + "/wine/predict", WINE),
                    ],
                    {"predictor /wine/predict": "MLflow /invocations (wine)"},
                    connections,
                    seconds,
                    args.client_cpus,
                    work,
                )
                say(f"MLflow cold start (process start to /ping 200): {mlflow.ready_after:.2f} s; "
                    f"RSS {mlflow.rss_mb():.0f} MB; predictor: {cold:.2f} s")  # fmt: skip
                mlflow.stop()
                servers.remove(mlflow)
        predictor.stop()
        servers.remove(predictor)

        if "workers" not in args.skip:
            both = f"{cpus},{args.client_cpus}" if cpus != args.client_cpus else cpus
            say(f"\nworkers: servers on cpus {both} (wrk shares cpu {args.client_cpus}: only two cores here)")
            ours = start(
                "predictor-2w", predictor_cmd(), env | {"DAILYML_PREDICTOR_WORKERS": "2"}, both, "/readyz", work
            )
            servers.append(ours)
            one = start("predictor-1w", predictor_cmd(), env, both, "/readyz", work)
            servers.append(one)
            stock = start(
                "uvicorn-2w",
                uvicorn_cmd("services.predictor.app:create_worker_app", "--factory", "--workers", "2"),
                env,
                both,
                "/readyz",
                work,
            )
            servers.append(stock)
            stock_h11 = start(
                "uvicorn-2w-h11",
                uvicorn_cmd("services.predictor.app:create_worker_app", "--factory", "--workers", "2", "--http", "h11"),
                env,
                both,
                "/readyz",
                work,
            )
            servers.append(stock_h11)
            for s in (ours, one, stock, stock_h11):
                warm(s.url, 20)
            load_table(
                "workers: /wine/predict; x = ratio to one worker",
                [
                    ("1 worker", one.url + "/wine/predict", WINE),
                    ("2 workers (DAILYML_PREDICTOR_WORKERS)", ours.url + "/wine/predict", WINE),
                    ("2 workers (stock uvicorn --workers)", stock.url + "/wine/predict", WINE),
                    ("2 workers (stock, --http h11)", stock_h11.url + "/wine/predict", WINE),
                ],
                {
                    "2 workers (DAILYML_PREDICTOR_WORKERS)": "1 worker",
                    "2 workers (stock uvicorn --workers)": "1 worker",
                    "2 workers (stock, --http h11)": "1 worker",
                },
                (1, 16),
                seconds,
                args.client_cpus,
                work,
            )
            say(f"RSS: 1 worker {one.rss_mb():.0f} MB, 2 workers {ours.rss_mb():.0f} MB (supervisor included)")
            for s in (ours, one, stock, stock_h11):
                s.stop()
                servers.remove(s)
        del mlflow_results
    finally:
        for s in servers:
            s.stop()

    if "monitoring" not in args.skip:
        from bench import monitoring_queries

        sizes = (5_000, 20_000) if args.quick else (10_000, 100_000, 1_000_000)
        monitoring_queries.run(sizes, (0.01, 1.0), postgres=True, quick=args.quick)


if __name__ == "__main__":
    main()
