"""Several predictor workers on one port without uvicorn's keep-alive pitfall (uvicorn #3149):
connections accepted on the listener the predictor creates get TCP_NODELAY from asyncio, and
``DAILYML_PREDICTOR_WORKERS=2`` serves from two processes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.predictor.main import tcp_listener
from tests.support.databases import Database
from tests.support.examples import IRIS_OK
from tests.support.processes import start_service
from tests.support.waiting import NotYet, wait_until


def _accepted_nodelay(listener: socket.socket) -> int:
    async def main() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, timeout=30)
        finally:
            writer.close()
            server.close()

    return asyncio.run(main())


def _maps_libraries(pid: int) -> set[str]:
    """Which of NumPy, pandas, scikit-learn and SciPy have a file mapped in process ``pid``."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in ("numpy", "pandas", "sklearn", "scipy") if f"/site-packages/{name}/" in maps}


def test_the_predictor_process_entry_point_imports_no_app_libraries() -> None:
    """``dailyml serve predictor`` imports ``services.predictor.main``: light, so that a
    supervisor of several workers holds no pandas, scikit-learn, SciPy, database or web stack."""
    code = (
        "import sys, services.predictor.main; "
        "print(sorted(m for m in ('pandas', 'sklearn', 'scipy', 'numpy', 'sqlalchemy', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_predictor_listener_gives_accepted_connections_tcp_nodelay() -> None:
    assert _accepted_nodelay(tcp_listener("127.0.0.1", 0)) != 0


def test_a_listener_made_as_uvicorn_makes_it_does_not() -> None:
    """The pitfall itself, so the test above means something: proto 0, no TCP_NODELAY."""
    plain = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    plain.bind(("127.0.0.1", 0))
    assert _accepted_nodelay(plain) == 0


@pytest.mark.processes
def test_two_workers_serve_predictions(sqlite_db: Database, tmp_path: Path) -> None:
    env = sqlite_db.env() | {"DAILYML_PREDICTOR_WORKERS": "2"}
    service = start_service("predictor", env, tmp_path / "logs")
    try:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            answers = [client.post("/iris/predict", json=IRIS_OK) for _ in range(20)]
        assert all(r.status_code == 200 and r.json()["variety"] == "setosa" for r in answers)
        # Two worker processes, each through its own start-up (champions loaded, log writer on).
        wait_until(
            lambda: service.log().count("Application startup complete") >= 2 or NotYet(service.log()[-2000:]),
            120,
            "both workers started",
        )
        # The supervisor only supervises: the libraries of the app are mapped in the workers,
        # never in it (they held 250 MB of a supervisor that never serves).
        supervisor = service.proc.pid
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
        workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2
        assert _maps_libraries(supervisor) == set()
        assert all(_maps_libraries(int(pid)) == {"numpy", "pandas", "sklearn", "scipy"} for pid in workers)
    finally:
        service.stop()
