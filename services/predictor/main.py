"""The predictor's process: ``dailyml serve predictor`` runs :func:`main`.

Kept light on purpose. With ``DAILYML_PREDICTOR_WORKERS`` > 1 this process only supervises the
workers, which import the app themselves (``services.predictor.app:create_worker_app``): importing
the app here too held pandas, scikit-learn and SciPy in a supervisor that never serves
(250 MB of RSS, measured; about 40 MB without them).
"""

from __future__ import annotations

import socket

from dailyml.settings import DEFAULT_PORTS, get_settings


def tcp_listener(host: str, port: int) -> socket.socket:
    """A listening socket created with ``IPPROTO_TCP``, so accepted connections get TCP_NODELAY.

    asyncio only sets TCP_NODELAY on an accepted socket whose ``proto`` is IPPROTO_TCP, and
    accepted sockets inherit ``proto`` from the listener. uvicorn's own multi-worker listener is
    created with proto 0 (uvicorn issue #3149), so Nagle's algorithm stays on and every keep-alive
    request after the first waits ~40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main(host: str = "127.0.0.1", port: int = DEFAULT_PORTS["predictor"]) -> None:
    """Serve the predictor: in this process (one worker), or from ``DAILYML_PREDICTOR_WORKERS``
    worker processes on one listener this process creates and supervises."""
    import uvicorn

    from dailyml.observability.logs import configure_logging
    from services.predictor.config import PredictorConfig

    configure_logging("predictor")
    workers = PredictorConfig().workers
    options = get_settings().server_options()
    if workers == 1:
        from services.predictor.app import create_app, without_torch

        without_torch()
        uvicorn.run(create_app(), host=host, port=port, **options)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "services.predictor.app:create_worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **options,
    )
    Multiprocess(config, sockets=[tcp_listener(host, port)]).run()
