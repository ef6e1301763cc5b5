"""Time-ordered ids for rows written at request rate.

Online predictions are stored as a sample, its features and a prediction, keyed and indexed by
their ids. With random (version 4) UUIDs every insert lands on a different page of each of those
B-trees, so a batch of 500 predictions dirtied thousands of pages: SQLite's commit wrote about
18 MB of WAL per batch and the writer spent about 0.4 ms a prediction (measured, see
docs/performance.md). UUID version 7 (RFC 9562) starts with the Unix time in milliseconds, so
new ids sort after older ones and each batch appends to the end of those indexes.
"""

from __future__ import annotations

import os
import time
import uuid

_RAND_B_MASK = (1 << 62) - 1


def uuid7() -> uuid.UUID:
    """A UUID version 7: 48 bits of Unix milliseconds, then 74 random bits (``os.urandom``)."""
    return uuid7_at(time.time_ns() // 1_000_000)


def uuid7_at(unix_ms: int) -> uuid.UUID:
    """The version 7 UUID of ``unix_ms`` with fresh random bits."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (unix_ms & 0xFFFF_FFFF_FFFF) << 80  # unix_ts_ms
        | 0x7 << 76  # version
        | (rand >> 68) << 64  # rand_a: 12 bits
        | 0b10 << 62  # variant
        | (rand & _RAND_B_MASK)  # rand_b: 62 bits
    )
    return uuid.UUID(int=value)
