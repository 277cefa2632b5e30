"""Ids sort in creation order, also within one millisecond and across threads."""

from __future__ import annotations

import re
import threading

from oratio.ids import new_id


def test_ids_are_prefixed_and_well_formed() -> None:
    assert re.fullmatch(r"agt_[0-9a-hjkmnp-tv-z]{26}", new_id("agent"))
    assert new_id("session").startswith("ses_")


def test_ids_made_in_a_burst_are_strictly_increasing() -> None:
    ids = [new_id("notification") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_from_many_threads_are_unique() -> None:
    found: list[list[str]] = [[] for _ in range(4)]

    def make(slot: list[str]) -> None:
        slot.extend(new_id("session") for _ in range(2000))

    threads = [threading.Thread(target=make, args=(slot,)) for slot in found]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    every = [i for slot in found for i in slot]
    assert len(set(every)) == 8000
    assert all(slot == sorted(slot) for slot in found)
