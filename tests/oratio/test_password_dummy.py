"""The unknown-email dummy is hashed once per process and costs: every platform opened used to pay a hash."""

from __future__ import annotations

import argon2
import pytest

from oratio.auth.passwords import Passwords


def test_the_dummy_is_hashed_once_per_cost_and_still_costs_a_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[int] = []
    verified: list[str] = []
    real_hash, real_verify = argon2.PasswordHasher.hash, argon2.PasswordHasher.verify

    def counting_hash(self: argon2.PasswordHasher, password: str | bytes, *, salt: bytes | None = None) -> str:
        hashed.append(self.memory_cost)
        return real_hash(self, password, salt=salt)

    def counting_verify(self: argon2.PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        verified.append(str(stored))
        return real_verify(self, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "hash", counting_hash)
    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    cost = 8 * 1024 + 8  # a cost no other test uses, so this process has not hashed its dummy yet
    first, second = Passwords(memory_kib=cost), Passwords(memory_kib=cost)
    other = Passwords(memory_kib=cost + 8)

    assert hashed == [cost, cost + 8]  # one dummy per cost, not one per Passwords
    first.verify_absent("not a real password")
    second.verify_absent("not a real password")
    other.verify_absent("not a real password")
    assert len(verified) == 3 and verified[0] == verified[1] != verified[2]
    assert f"m={cost}," in verified[0] and f"m={cost + 8}," in verified[2]  # each at its own cost
