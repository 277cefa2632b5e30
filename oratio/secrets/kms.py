"""Envelope encryption with AWS KMS: a fresh data key per secret, the value sealed locally with it.

Why envelope rather than `kms:Encrypt`: KMS Encrypt takes at most 4 KB, a secret may be up to 8 KB;
and the value itself never travels to KMS. The EncryptionContext (tenant, name) binds the wrapped
data key to the secret's place (it is also written to CloudTrail, which is why it holds names only);
the same pair is the AES-GCM associated data of the value.

Stored layout: `0x02 | len(wrapped key) as 2 bytes | wrapped key | 0x01 | nonce | sealed value`.
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from oratio.secrets.cipher import KEY_BYTES, CipherError, open_sealed, seal

_ENVELOPE = b"\x02"


class KmsClient(Protocol):
    """The two calls of a boto3 `kms` client this cipher makes."""

    def generate_data_key(self, **kwargs: Any) -> Any: ...

    def decrypt(self, **kwargs: Any) -> Any: ...


def encryption_context(tenant_id: str, name: str) -> dict[str, str]:
    return {"oratio:tenant": tenant_id, "oratio:secret": name}


class KmsEnvelopeCipher:
    def __init__(self, client: KmsClient, key_id: str) -> None:
        self._client = client
        self._key_id = key_id

    def encrypt(self, tenant_id: str, name: str, plaintext: bytes) -> tuple[bytes, str]:
        try:
            answer = self._client.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=encryption_context(tenant_id, name)
            )
        except (BotoCoreError, ClientError) as exc:
            raise CipherError(f"KMS could not make a key for secret '{name}' ({_reason(exc)}); try again") from None
        data_key: bytes = answer["Plaintext"]
        wrapped: bytes = answer["CiphertextBlob"]
        sealed = seal(AESGCM(data_key), tenant_id, name, plaintext)
        return _ENVELOPE + len(wrapped).to_bytes(2, "big") + wrapped + sealed, str(answer["KeyId"])

    def decrypt(self, tenant_id: str, name: str, ciphertext: bytes, key_id: str) -> bytes:
        if len(ciphertext) < 3 or ciphertext[:1] != _ENVELOPE:
            raise CipherError(f"secret '{name}' was not stored with KMS; set it again with set_secret")
        size = int.from_bytes(ciphertext[1:3], "big")
        wrapped, sealed = ciphertext[3 : 3 + size], ciphertext[3 + size :]
        try:
            answer = self._client.decrypt(
                CiphertextBlob=wrapped, KeyId=key_id, EncryptionContext=encryption_context(tenant_id, name)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidCiphertextException":
                raise CipherError(f"secret '{name}' does not open for this tenant and name; set it again") from None
            raise CipherError(f"KMS could not open secret '{name}' ({_reason(exc)}); try again") from None
        except BotoCoreError as exc:
            raise CipherError(f"KMS could not open secret '{name}' ({_reason(exc)}); try again") from None
        data_key: bytes = answer["Plaintext"]
        if len(data_key) != KEY_BYTES:
            raise CipherError(f"secret '{name}' is damaged; set it again with set_secret")
        return open_sealed(AESGCM(data_key), tenant_id, name, sealed)


def _reason(exc: BotoCoreError | ClientError) -> str:
    """The AWS error code only: a message may quote request fields."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
