"""Password hashing for people who sign in to the dashboard: argon2id through argon2-cffi.

Why a library and these choices: argon2id is the password hash RFC 9106 and OWASP recommend; argon2-cffi
is the maintained binding (PHC strings with their parameters, so a later change of cost re-hashes on the
next sign-in through `needs_rehash`), and its `verify` compares in constant time.

`verify_absent` runs the same hash against a fixed dummy, so an unknown email costs what a wrong password
costs and the answer's timing says nothing about which emails exist.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from oratio.errors import InvalidInput

PASSWORD_MIN = 12
PASSWORD_MAX = 256
"""Characters. The upper bound keeps one hash cheap enough that long inputs are no CPU weapon."""


@dataclass(frozen=True)
class Passwords:
    """argon2id at `time_cost`/`memory_kib` (argon2-cffi's RFC 9106 low-memory profile by default)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 1
    _hasher: PasswordHasher = field(init=False, repr=False, compare=False)
    _dummy: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hasher = PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism)
        object.__setattr__(self, "_hasher", hasher)
        object.__setattr__(self, "_dummy", _dummy_hash(self.time_cost, self.memory_kib, self.parallelism))

    def hash(self, password: str) -> str:
        """The PHC string to store; InvalidInput for a password outside the policy."""
        check_password(password)
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """True when `password` matches `stored` (constant-time compare inside argon2)."""
        if not stored or len(password) > PASSWORD_MAX:
            self.verify_absent(password)
            return False
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_absent(self, password: str) -> None:
        """The work of one verification, for an account that does not exist (or has no password yet)."""
        try:
            self._hasher.verify(self._dummy, password[:PASSWORD_MAX])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)


@functools.cache
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    """The dummy's PHC string at these costs, hashed once per process: it only has to cost a real
    verification, and a hash is ~0.2 s of CPU that every `Passwords` (every platform opened) used to pay."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return hasher.hash("oratio-dummy-password-for-unknown-emails")


def check_password(password: str) -> str:
    """The policy: 12 to 256 characters (length, not composition rules: NIST SP 800-63B)."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(f"a password is {PASSWORD_MIN} to {PASSWORD_MAX} characters", field="password")
    return password
