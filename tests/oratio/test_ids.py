"""Ids sort in creation order (also within one millisecond and across threads) and cannot be guessed."""

from __future__ import annotations

import re
import threading
from collections import Counter

from oratio.ids import new_id

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RANDOM_CHARS = 16
RANDOM_BITS = 80
"""The last 16 characters of an id are 80 bits drawn from `secrets` for that id alone."""


def _as_int(body: str) -> int:
    value = 0
    for char in body:
        value = value * 32 + _ALPHABET.index(char)
    return value


def test_ids_are_prefixed_and_well_formed() -> None:
    assert re.fullmatch(r"agt_[0-9a-hjkmnp-tv-z]{30}", new_id("agent"))
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


def test_consecutive_session_ids_are_not_neighbours() -> None:
    """Knowing one session id must not reveal the next: no two in a tight loop differ by a small integer."""
    ids = [new_id("session") for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    values = [_as_int(i.removeprefix("ses_")) for i in ids]
    gaps = [later - earlier for earlier, later in zip(values, values[1:], strict=False)]
    assert min(gaps) > 2**40  # a difference of 1 (the old monotonic ULID) or any small step is refused
    # The unguessable tail alone: it never repeats and is not a counter.
    tails = [_as_int(i[-RANDOM_CHARS:]) for i in ids]
    assert len(set(tails)) == len(tails)
    assert sum(1 for a, b in zip(tails, tails[1:], strict=False) if 0 < b - a < 2**32) == 0


def test_random_part_has_the_expected_entropy() -> None:
    """80 random bits: every bit position is set in about half of 10,000 ids, every character is used."""
    tails = [_as_int(new_id("session")[-RANDOM_CHARS:]) for _ in range(10_000)]
    for bit in range(RANDOM_BITS):
        ones = sum((tail >> bit) & 1 for tail in tails)
        assert 4_500 < ones < 5_500, f"bit {bit} is set in {ones} of 10,000 ids"
    chars = Counter("".join(new_id("key")[-RANDOM_CHARS:] for _ in range(2_000)))
    assert set(chars) == set(_ALPHABET)
