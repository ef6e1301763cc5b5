"""Time-ordered ids (UUID version 7): layout, order and uniqueness."""

from __future__ import annotations

import uuid

from dailyml.ids import uuid7, uuid7_at


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
