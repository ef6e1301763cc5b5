"""Ids made at request rate: time-ordered row ids, and request ids.

Online predictions are stored as a sample, its features and a prediction, keyed and indexed by
their ids. With random (version 4) UUIDs every insert lands on a different page of each of those
B-trees, so a batch of 500 predictions dirtied thousands of pages: SQLite's commit wrote about
18 MB of WAL per batch and the writer spent about 0.4 ms a prediction (measured, see
docs/performance.md). UUID version 7 (RFC 9562) starts with the Unix time in milliseconds, so
new ids sort after older ones and each batch appends to the end of those indexes.

The random bits come from a generator seeded from ``os.urandom`` once per process (and again in
a forked child), not from ``os.urandom`` per id: that system call releases the GIL, and on a
busy core the event loop then waited for the prediction log's writer thread to give it back
(up to the 5 ms switch interval) once per id. These ids need to be unique, not secret: a
prediction id lets nobody do anything without the admin token.
"""

from __future__ import annotations

import os
import random
import time
import uuid

_RAND_B_MASK = (1 << 62) - 1
_random = random.Random(os.urandom(32))


def _reseed() -> None:
    _random.seed(os.urandom(32))


os.register_at_fork(after_in_child=_reseed)  # a forked worker must not repeat its parent's ids


def uuid7() -> uuid.UUID:
    """A UUID version 7: 48 bits of Unix milliseconds, then 74 random bits."""
    return uuid7_at(time.time_ns() // 1_000_000)


def uuid7_at(unix_ms: int) -> uuid.UUID:
    """The version 7 UUID of ``unix_ms`` with fresh random bits."""
    rand = _random.getrandbits(74)
    value = (
        (unix_ms & 0xFFFF_FFFF_FFFF) << 80  # unix_ts_ms
        | 0x7 << 76  # version
        | (rand >> 62) << 64  # rand_a: 12 bits
        | 0b10 << 62  # variant
        | (rand & _RAND_B_MASK)  # rand_b: 62 bits
    )
    return uuid.UUID(int=value)


def random_hex(bits: int = 128) -> str:
    """``bits`` random bits as lowercase hex (a request id: 32 digits)."""
    return f"{_random.getrandbits(bits):0{bits // 4}x}"
