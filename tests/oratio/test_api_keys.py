"""Agent API key secrets: shape, stored hash, display prefix and constant-time matching."""

from __future__ import annotations

import hashlib

import pytest

from oratio.auth.api_keys import (
    SECRET_PREFIX,
    display_prefix,
    generate_secret,
    hash_secret,
    looks_like_api_key,
    secret_matches,
)
from schemas import ApiKey, StoredApiKey


def test_generated_secret_has_the_documented_shape() -> None:
    secret = generate_secret()
    assert secret.startswith("ora_sk_")
    assert len(secret) == len(SECRET_PREFIX) + 43
    assert looks_like_api_key(secret)


def test_generated_secrets_are_unique() -> None:
    assert len({generate_secret() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ora_sk_",
        "ora_sk_" + "a" * 42,
        "ora_sk_" + "a" * 44,
        "ora_pk_" + "a" * 43,
        "ORA_SK_" + "a" * 43,
        "ora_sk_" + "a" * 42 + "=",
        "ora_sk_" + "a" * 42 + "+",
        " ora_sk_" + "a" * 43,
        "ora_sk_" + "a" * 43 + "\n",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
    ],
)
def test_looks_like_api_key_rejects_other_shapes(value: str) -> None:
    assert not looks_like_api_key(value)


def test_hash_is_sha256_hex_and_fits_the_stored_schema() -> None:
    secret = generate_secret()
    digest = hash_secret(secret)
    assert digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in digest
    key = ApiKey(tenant_id="ten_01abc", id="key_01abc", agent_id="agt_01abc", name="prod", prefix="ora_sk_x")
    assert StoredApiKey(tenant_id="ten_01abc", key=key, secret_hash=digest).secret_hash == digest


def test_hash_is_deterministic_and_distinguishes_secrets() -> None:
    secret = generate_secret()
    assert hash_secret(secret) == hash_secret(secret)
    assert hash_secret(secret) != hash_secret(generate_secret())


def test_display_prefix_is_short_and_not_the_secret() -> None:
    secret = generate_secret()
    prefix = display_prefix(secret)
    assert prefix == secret[:12]
    assert prefix.startswith(SECRET_PREFIX)
    assert len(prefix) < len(secret)


def test_display_prefix_refuses_non_keys_without_echoing_them() -> None:
    with pytest.raises(ValueError) as info:
        display_prefix("not-a-key-but-sensitive")
    assert "sensitive" not in str(info.value)


def test_secret_matches_its_own_hash_only() -> None:
    secret = generate_secret()
    stored = hash_secret(secret)
    assert secret_matches(secret, stored)
    assert not secret_matches(generate_secret(), stored)
    assert not secret_matches(secret, hash_secret(generate_secret()))


def test_secret_matches_is_false_for_malformed_input() -> None:
    secret = generate_secret()
    stored = hash_secret(secret)
    assert not secret_matches(secret + " ", stored)
    assert not secret_matches("", hash_secret(""))
    assert not secret_matches(secret, "")
    assert not secret_matches(secret, stored.upper())
    assert not secret_matches(secret, "é" * 64)
