"""Tenant secrets encrypted at rest: the cipher seam and its two implementations.

A secret is sealed for one tenant and one name: the tenant id and the secret's name are bound to the
ciphertext (AES-GCM associated data locally, the KMS EncryptionContext on AWS), so a ciphertext copied
onto another tenant's or another name's record does not decrypt. Which cipher runs is decided once,
in `oratio.platform` (`ORATIO_KMS_KEY_ID`, else `ORATIO_SECRETS_KEY`, else a key file in the data dir);
the KMS cipher (`oratio.secrets.kms`) is imported only when configured, since it needs botocore.
"""

from oratio.secrets.cipher import (
    CipherError,
    LocalCipher,
    SecretCipher,
    UnconfiguredCipher,
    associated_data,
    load_or_create_secrets_key,
)

__all__ = [
    "CipherError",
    "LocalCipher",
    "SecretCipher",
    "UnconfiguredCipher",
    "associated_data",
    "load_or_create_secrets_key",
]
