"""The secret ciphers: AES-256-GCM bound to (tenant, name), its key from config or a key file, and KMS
envelope encryption on moto_server."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.errors import ConfigError
from oratio.secrets import CipherError, LocalCipher, load_or_create_secrets_key
from oratio.secrets.cipher import fingerprint
from oratio.secrets.kms import KmsEnvelopeCipher
from oratio.store.tables import SECRETS
from tests.aws import MotoServer
from tests.support.platforms import open_test_platform
from tests.support.tenants import new_tenancy

KEY = os.urandom(32)
VALUE = b"sk_live_0123456789-marker"


def test_a_sealed_value_opens_only_for_its_tenant_and_name() -> None:
    cipher = LocalCipher(KEY)
    sealed, key_id = cipher.encrypt("ten_a", "ORDERS_TOKEN", VALUE)

    assert VALUE not in sealed
    assert cipher.decrypt("ten_a", "ORDERS_TOKEN", sealed, key_id) == VALUE
    for tenant, name in (("ten_b", "ORDERS_TOKEN"), ("ten_a", "OTHER_TOKEN")):
        with pytest.raises(CipherError, match="does not open"):
            cipher.decrypt(tenant, name, sealed, key_id)


def test_a_flipped_byte_or_a_cut_ciphertext_is_refused_not_garbage() -> None:
    cipher = LocalCipher(KEY)
    sealed, key_id = cipher.encrypt("ten_a", "TOKEN", VALUE)
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])

    with pytest.raises(CipherError, match="does not open"):
        cipher.decrypt("ten_a", "TOKEN", flipped, key_id)
    with pytest.raises(CipherError, match="damaged"):
        cipher.decrypt("ten_a", "TOKEN", sealed[:10], key_id)


def test_another_key_is_named_in_the_error_and_the_key_id_is_no_key() -> None:
    sealed, key_id = LocalCipher(KEY).encrypt("ten_a", "TOKEN", VALUE)

    assert key_id.startswith("local:") and KEY.hex()[:16] not in key_id
    with pytest.raises(CipherError, match="another key; set it again") as refused:
        LocalCipher(os.urandom(32)).decrypt("ten_a", "TOKEN", sealed, key_id)
    assert VALUE.decode() not in str(refused.value)


def test_the_key_file_is_made_on_first_use_only_mode_0600_and_kept(tmp_path: Path) -> None:
    cipher = LocalCipher(lambda: load_or_create_secrets_key(tmp_path))
    assert not (tmp_path / "secrets.key").exists()  # opening a platform writes no key

    sealed, key_id = cipher.encrypt("ten_a", "TOKEN", VALUE)

    key_file = tmp_path / "secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    restarted = LocalCipher(lambda: load_or_create_secrets_key(tmp_path))
    assert restarted.decrypt("ten_a", "TOKEN", sealed, key_id) == VALUE


def test_oratio_secrets_key_must_be_32_bytes_of_base64_and_is_not_echoed() -> None:
    good = base64.b64encode(KEY).decode()
    assert load_settings({"ORATIO_SECRETS_KEY": good}).secrets_key is not None
    for bad in ("not base64!!", base64.b64encode(b"short").decode()):
        with pytest.raises(ConfigError, match="ORATIO_SECRETS_KEY") as refused:
            load_settings({"ORATIO_SECRETS_KEY": bad})
        assert bad not in str(refused.value)


@pytest.mark.aws
def test_kms_envelope_seals_locally_and_binds_the_data_key_to_tenant_and_name(moto: MotoServer) -> None:
    kms = moto.client("kms")
    key_arn = kms.create_key(Description="oratio secrets test")["KeyMetadata"]["Arn"]
    cipher = KmsEnvelopeCipher(kms, key_arn)

    sealed, key_id = cipher.encrypt("ten_a", "ORDERS_TOKEN", VALUE)

    assert key_id == key_arn
    assert VALUE not in sealed
    assert cipher.decrypt("ten_a", "ORDERS_TOKEN", sealed, key_id) == VALUE
    with pytest.raises(CipherError, match="does not open"):
        cipher.decrypt("ten_b", "ORDERS_TOKEN", sealed, key_id)
    with pytest.raises(CipherError, match="not stored with KMS"):
        cipher.decrypt("ten_a", "ORDERS_TOKEN", LocalCipher(KEY).encrypt("ten_a", "ORDERS_TOKEN", VALUE)[0], key_id)


@pytest.mark.aws
def test_kms_errors_name_the_secret_and_the_aws_code_only(moto: MotoServer) -> None:
    cipher = KmsEnvelopeCipher(moto.client("kms"), "arn:aws:kms:us-east-1:123456789012:key/missing")

    with pytest.raises(CipherError, match=r"KMS could not make a key for secret 'ORDERS_TOKEN' \(\w+\)"):
        cipher.encrypt("ten_a", "ORDERS_TOKEN", VALUE)


def test_the_platform_uses_oratio_secrets_key_else_a_key_file_it_makes_on_the_first_secret(tmp_path: Path) -> None:
    configured = tmp_path / "configured"
    with open_test_platform(configured, secrets_key=base64.b64encode(KEY).decode()) as platform:
        acme = new_tenancy(platform, "Acme")
        platform.secrets.put(acme.principal, "TOKEN", VALUE.decode())
        stored = platform.backends.store.get(SECRETS, acme.tenant_id, "TOKEN")
        assert stored is not None and stored.key_id == fingerprint(KEY)
    assert not (configured / "secrets.key").exists()

    generated = tmp_path / "generated"
    with open_test_platform(generated) as platform:
        acme = new_tenancy(platform, "Acme")
        assert not (generated / "secrets.key").exists()
        platform.secrets.put(acme.principal, "TOKEN", VALUE.decode())
    assert stat.S_IMODE((generated / "secrets.key").stat().st_mode) == 0o600
    with open_test_platform(generated) as platform:  # restarted: the same key opens it
        assert platform.secrets.resolve(acme.tenant_id, "TOKEN") == VALUE.decode()
