"""Time-ordered ids (UUID version 7): layout, order and uniqueness."""

from __future__ import annotations

import os
import uuid

from dailyml.ids import random_hex, uuid7, uuid7_at


def test_version_7_layout_with_the_milliseconds_first() -> None:
    ms = 1_764_633_600_123  # 2025-12-02T00:00:00.123Z
    value = uuid7_at(ms)
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert value.int >> 80 == ms
    assert uuid.UUID(str(value)) == value


def test_later_milliseconds_sort_later_as_text_and_as_uuid() -> None:
    ids = [uuid7_at(ms) for ms in range(1_700_000_000_000, 1_700_000_000_000 + 2_000, 7)]
    assert ids == sorted(ids) and [i.hex for i in ids] == sorted(i.hex for i in ids)
    assert uuid7().int >> 80 > ids[-1].int >> 80


def test_ids_of_one_millisecond_differ() -> None:
    same = {uuid7_at(1_700_000_000_000) for _ in range(10_000)}
    assert len(same) == 10_000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out without running the parent's cleanup
        os.write(write, uuid7_at(1).bytes + random_hex().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 48)
    os.close(read)
    os.close(write)
    assert child[:16] != uuid7_at(1).bytes and child[16:] != random_hex().encode()


def test_request_ids_are_32_hex_digits() -> None:
    ids = {random_hex() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
