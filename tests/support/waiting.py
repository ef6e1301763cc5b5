"""The one way the tests wait: on a condition, with a deadline sized for a loaded 2-core machine.

``wait_until`` polls a condition until it returns something truthy and returns that value. When
time runs out it fails with what was awaited and what the condition last returned (or raised),
so a timeout in CI says why instead of only "timed out".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# CI machines and a developer's loaded laptop are slower than a quiet one: one knob stretches
# every deadline (never the polling), e.g. DAILYML_TEST_TIMEOUT_SCALE=3 under stress-ng.
TIMEOUT_SCALE = float(os.environ.get("DAILYML_TEST_TIMEOUT_SCALE", "1") or "1")


class NotYet:
    """A condition's "not yet" that carries what it saw, shown if the wait times out."""

    def __init__(self, seen: object) -> None:
        self.seen = seen

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return repr(self.seen)


class WaitTimeout(AssertionError):
    """A condition did not hold in time; the message names it and the last thing seen."""


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``condition`` every ``interval`` seconds until it returns a truthy value; return it.

    A falsy answer means "not yet"; return ``NotYet(what_was_seen)`` to have a timeout say more.

    Exceptions of the types in ``ignore`` count as "not yet" (e.g. a connection refused while a
    server starts); any other exception propagates at once. ``timeout`` is multiplied by
    ``DAILYML_TEST_TIMEOUT_SCALE``.
    """
    limit = timeout * TIMEOUT_SCALE
    deadline = time.monotonic() + limit
    last: object = "(not called yet)"
    while True:
        try:
            value = condition()
            if value:
                return value
            last = value
        except ignore as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {limit:.0f} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)
