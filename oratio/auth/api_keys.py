"""Agent API key secrets: how they look, how they are stored, how a presented one is checked.

A secret is `ora_sk_` followed by 43 URL-safe characters (32 random bytes). The fixed prefix lets
secret scanners and people recognise a leaked key, and lets a door reject a JWT or a typo before
any lookup. Only the SHA-256 of the secret is stored (`StoredApiKey.secret_hash`); the secret is
shown once, at minting, and a short display prefix identifies it in lists afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

SECRET_PREFIX = "ora_sk_"
DISPLAY_PREFIX_CHARS = 12
"""`ora_sk_` plus 5 characters (30 bits): enough to tell keys apart in a list, useless to guess with."""

_SECRET_RE = re.compile(r"ora_sk_[A-Za-z0-9_-]{43}")


def generate_secret() -> str:
    """A fresh secret: the prefix and 256 bits from the OS CSPRNG."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def looks_like_api_key(value: str) -> bool:
    """Whether `value` has the shape of an Oratio API key (says nothing about whether it is valid)."""
    return _SECRET_RE.fullmatch(value) is not None


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256, lowercase hex.

    A fast, unsalted hash is the right tool here, unlike for passwords. Password hashes are slow
    and salted because passwords are low-entropy: an attacker holding the hashes can try likely
    guesses cheaply. These secrets are 256 uniformly random bits, so there is nothing to guess:
    even at 10^12 hashes a second, finding a preimage takes ~10^57 years, and salting buys
    nothing. A fast deterministic hash also lets the store find a key by its hash in one indexed
    lookup, with no per-request cost worth measuring.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The part of a secret that is safe to show in lists (`ApiKey.prefix`)."""
    if not looks_like_api_key(secret):
        raise ValueError("not an Oratio API key secret")
    return secret[:DISPLAY_PREFIX_CHARS]


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether `secret` hashes to `stored_hash`, compared in constant time."""
    if not looks_like_api_key(secret):
        return False
    return hmac.compare_digest(hash_secret(secret).encode("ascii"), stored_hash.encode("utf-8"))
