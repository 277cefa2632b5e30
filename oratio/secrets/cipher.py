"""The `SecretCipher` seam and the local AES-256-GCM cipher of the embedded default.

Why AES-GCM with associated data: it authenticates as well as encrypts, so a flipped byte or a
ciphertext moved to another tenant/name fails to open instead of yielding garbage. The key id
recorded beside each ciphertext is a fingerprint of the key (never the key), so a secret sealed
under another key gets a clear "set it again" error rather than an authentication failure.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oratio.errors import OratioError
from oratio.keyfiles import load_or_create_key

KEY_BYTES = 32
NONCE_BYTES = 12
_VERSION = b"\x01"
KEY_FILE = "secrets.key"


class CipherError(OratioError):
    """A secret could not be sealed or opened. The message names the secret, never a value or key."""

    code = "secret_unavailable"
    http_status = 503


class SecretCipher(Protocol):
    """Seals and opens one secret of one tenant; (tenant_id, name) is bound to the ciphertext."""

    def encrypt(self, tenant_id: str, name: str, plaintext: bytes) -> tuple[bytes, str]:
        """The ciphertext and the id of the key that sealed it."""
        ...

    def decrypt(self, tenant_id: str, name: str, ciphertext: bytes, key_id: str) -> bytes: ...


def associated_data(tenant_id: str, name: str) -> bytes:
    """What binds a ciphertext to its place. NUL-separated: neither part can contain a NUL."""
    return b"oratio-secret\x00" + tenant_id.encode() + b"\x00" + name.encode()


def load_or_create_secrets_key(data_dir: Path) -> bytes:
    """The key in `data_dir/secrets.key` (hex, mode 0600), created once on first use."""
    return bytes.fromhex(load_or_create_key(data_dir / KEY_FILE))


def fingerprint(key: bytes) -> str:
    return "local:" + hashlib.sha256(b"oratio-secrets-key-id\x00" + key).hexdigest()[:16]


class LocalCipher:
    """AES-256-GCM under one key; the key is loaded on first use (a key file is created only when needed)."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._key: bytes | None = key if isinstance(key, bytes) else None
        self._load: Callable[[], bytes] | None = None if isinstance(key, bytes) else key

    def _aead(self) -> tuple[AESGCM, str]:
        if self._key is None:
            assert self._load is not None  # one of the two is always set
            self._key = self._load()
        if len(self._key) != KEY_BYTES:
            raise CipherError("the secrets key is not 32 bytes: check ORATIO_SECRETS_KEY")
        return AESGCM(self._key), fingerprint(self._key)

    def encrypt(self, tenant_id: str, name: str, plaintext: bytes) -> tuple[bytes, str]:
        aead, key_id = self._aead()
        return seal(aead, tenant_id, name, plaintext), key_id

    def decrypt(self, tenant_id: str, name: str, ciphertext: bytes, key_id: str) -> bytes:
        aead, current = self._aead()
        if key_id != current:
            raise CipherError(f"secret '{name}' was stored under another key; set it again with set_secret")
        return open_sealed(aead, tenant_id, name, ciphertext)


def open_sealed(aead: AESGCM, tenant_id: str, name: str, ciphertext: bytes) -> bytes:
    """Open `version + nonce + sealed`; any tampering or misplacement is one clear error."""
    if len(ciphertext) < 1 + NONCE_BYTES + 16 or ciphertext[:1] != _VERSION:
        raise CipherError(f"secret '{name}' is damaged; set it again with set_secret")
    nonce, sealed = ciphertext[1 : 1 + NONCE_BYTES], ciphertext[1 + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, sealed, associated_data(tenant_id, name))
    except InvalidTag:
        raise CipherError(f"secret '{name}' does not open for this tenant and name; set it again") from None


def seal(aead: AESGCM, tenant_id: str, name: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return _VERSION + nonce + aead.encrypt(nonce, plaintext, associated_data(tenant_id, name))


class UnconfiguredCipher:
    """The DynamoDB store with no key configured: a key file in a scratch data dir would lose every
    secret on restart (and differ per process), so secrets are refused with what to configure."""

    MESSAGE = "secrets are not configured on this installation: set ORATIO_KMS_KEY_ID (AWS) or ORATIO_SECRETS_KEY"

    def encrypt(self, tenant_id: str, name: str, plaintext: bytes) -> tuple[bytes, str]:
        raise CipherError(self.MESSAGE)

    def decrypt(self, tenant_id: str, name: str, ciphertext: bytes, key_id: str) -> bytes:
        raise CipherError(self.MESSAGE)
