"""Ports and waiting."""

from __future__ import annotations

import socket

import httpx

from tests.support.waiting import NotYet, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, ok_statuses: tuple[int, ...] = (200,)) -> httpx.Response:
    """Poll ``url`` until it answers with one of ``ok_statuses``."""

    def answered() -> httpx.Response | NotYet:
        response = httpx.get(url, timeout=5)
        return (
            response if response.status_code in ok_statuses else NotYet(f"{response.status_code} {response.text[:300]}")
        )

    return wait_until(answered, timeout, f"{url} to answer {ok_statuses}", interval=0.2, ignore=(httpx.HTTPError,))
