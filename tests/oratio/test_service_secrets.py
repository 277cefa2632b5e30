"""SecretService on SQLite and on DynamoDB: write-only secrets, scoped, bounded, per tenant, resolved for tools."""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from oratio.errors import Forbidden, InvalidInput, NotFound
from oratio.platform import Platform
from oratio.secrets import CipherError
from oratio.store.tables import SECRETS
from schemas import Scope
from schemas.tools import SECRET_VALUE_MAX
from tests.aws import MotoServer
from tests.support.platforms import MAX_DOCUMENT_BYTES, FakeClock, open_test_platform
from tests.support.tenants import Tenancy, events, narrow, new_tenancy

VALUE = "tok_" + "s3cr3t-value-" * 3


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    # DynamoDB needs a configured key (the data dir is scratch there); SQLite uses its key file.
    return {"max_document_bytes": MAX_DOCUMENT_BYTES, "secrets_key": base64.b64encode(os.urandom(32)).decode()}


def test_set_list_resolve_replace_delete(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    created = platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)
    assert created.name == "ORDERS_TOKEN" and created.created_at == created.updated_at
    assert "value" not in created.model_dump() and VALUE not in created.model_dump_json()
    assert platform.secrets.resolve(acme.tenant_id, "ORDERS_TOKEN") == VALUE

    clock.advance(timedelta(minutes=5))
    replaced = platform.secrets.put(acme.principal, "ORDERS_TOKEN", "new-value")
    assert replaced.created_at == created.created_at and replaced.updated_at > created.updated_at
    assert platform.secrets.resolve(acme.tenant_id, "ORDERS_TOKEN") == "new-value"
    assert [s.name for s in platform.secrets.list(acme.principal)] == ["ORDERS_TOKEN"]

    platform.secrets.delete(acme.principal, "ORDERS_TOKEN")
    assert platform.secrets.list(acme.principal) == []
    with pytest.raises(NotFound, match="secret 'ORDERS_TOKEN' is not set"):
        platform.secrets.resolve(acme.tenant_id, "ORDERS_TOKEN")
    with pytest.raises(NotFound):
        platform.secrets.delete(acme.principal, "ORDERS_TOKEN")


def test_missing_names_the_references_nobody_set(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)

    assert platform.secrets.missing(acme.tenant_id, ["ORDERS_TOKEN", "CRM_KEY", "CRM_KEY"]) == ["CRM_KEY"]
    assert platform.secrets.missing(globex.tenant_id, ["ORDERS_TOKEN"]) == ["ORDERS_TOKEN"]


def test_the_stored_record_holds_ciphertext_only(platform: Platform, acme: Tenancy) -> None:
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)

    stored = platform.backends.store.get(SECRETS, acme.tenant_id, "ORDERS_TOKEN")
    assert stored is not None
    dumped = stored.model_dump_json()
    assert VALUE not in dumped and base64.b64encode(VALUE.encode()).decode() not in dumped
    assert stored.key_id.startswith("local:")


def test_events_name_the_secret_never_its_value(platform: Platform, acme: Tenancy) -> None:
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE + "2")
    platform.secrets.delete(acme.principal, "ORDERS_TOKEN")

    logged = [e for e in events(platform, acme.tenant_id) if e.type.value.startswith("secret.")]
    assert [(e.type.value, e.data) for e in logged] == [
        ("secret.set", {"name": "ORDERS_TOKEN", "created": True}),
        ("secret.set", {"name": "ORDERS_TOKEN", "created": False}),
        ("secret.deleted", {"name": "ORDERS_TOKEN"}),
    ]


def test_writing_needs_keys_write_and_listing_needs_agents_read(platform: Platform, acme: Tenancy) -> None:
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)
    agents_only = narrow(acme, Scope.AGENTS_READ, Scope.AGENTS_WRITE)

    with pytest.raises(Forbidden, match="keys:write"):
        platform.secrets.put(agents_only, "ORDERS_TOKEN", "swapped")
    with pytest.raises(Forbidden, match="keys:write"):
        platform.secrets.delete(agents_only, "ORDERS_TOKEN")
    assert [s.name for s in platform.secrets.list(agents_only)] == ["ORDERS_TOKEN"]
    with pytest.raises(Forbidden, match="agents:read"):
        platform.secrets.list(narrow(acme, Scope.SESSIONS_READ))
    assert platform.secrets.put(narrow(acme, Scope.KEYS_WRITE), "OTHER_TOKEN", "x").name == "OTHER_TOKEN"
    assert platform.secrets.resolve(acme.tenant_id, "ORDERS_TOKEN") == VALUE


def test_another_tenant_sees_and_resolves_none_of_them(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)

    assert platform.secrets.list(globex.principal) == []
    with pytest.raises(NotFound):
        platform.secrets.resolve(globex.tenant_id, "ORDERS_TOKEN")
    with pytest.raises(NotFound):
        platform.secrets.delete(globex.principal, "ORDERS_TOKEN")
    platform.secrets.put(globex.principal, "ORDERS_TOKEN", "globex-value")
    assert platform.secrets.resolve(acme.tenant_id, "ORDERS_TOKEN") == VALUE


def test_a_ciphertext_copied_to_another_tenant_does_not_open(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)
    platform.secrets.put(globex.principal, "ORDERS_TOKEN", "globex-value")
    theirs = platform.backends.store.get(SECRETS, acme.tenant_id, "ORDERS_TOKEN")
    ours = platform.backends.store.get(SECRETS, globex.tenant_id, "ORDERS_TOKEN")
    assert theirs is not None and ours is not None
    platform.backends.store.replace(SECRETS, ours.model_copy(update={"ciphertext": theirs.ciphertext}))

    with pytest.raises(CipherError, match="does not open") as refused:
        platform.secrets.resolve(globex.tenant_id, "ORDERS_TOKEN")
    assert VALUE not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("orders_token", "v", "name"),
        ("X", "v", "name"),
        ("ORDERS_TOKEN", "", "value"),
        ("ORDERS_TOKEN", "é" * (SECRET_VALUE_MAX // 2 + 1), "value"),  # counted in bytes, not characters
    ],
)
def test_bad_names_and_values_are_refused_without_quoting_the_value(
    platform: Platform, acme: Tenancy, name: str, value: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        platform.secrets.put(acme.principal, name, value)
    assert refused.value.field == field
    if value:
        assert value[:20] not in refused.value.message
    assert platform.secrets.list(acme.principal) == []


def test_a_value_of_exactly_the_limit_is_kept(platform: Platform, acme: Tenancy) -> None:
    value = "v" * SECRET_VALUE_MAX
    platform.secrets.put(acme.principal, "BIG", value)
    assert platform.secrets.resolve(acme.tenant_id, "BIG") == value


def test_a_tenant_holds_at_most_the_configured_number(tmp_path: Path) -> None:
    with open_test_platform(tmp_path, secrets_per_tenant_max=3) as platform:
        acme = new_tenancy(platform, "Acme")
        for name in ("ONE_A", "TWO_B", "THREE_C"):
            platform.secrets.put(acme.principal, name, "v")
        with pytest.raises(InvalidInput, match="at most 3 secrets"):
            platform.secrets.put(acme.principal, "FOUR_D", "v")
        platform.secrets.put(acme.principal, "ONE_A", "replaced")  # replacing is not a new one
        platform.secrets.delete(acme.principal, "TWO_B")
        platform.secrets.put(acme.principal, "FOUR_D", "v")
        assert len(platform.secrets.list(acme.principal)) == 3


@pytest.mark.aws
def test_dynamodb_with_kms_stores_envelopes_and_without_a_key_refuses_clearly(
    tmp_path: Path, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform builds its KMS client from the standard AWS chain, as in production.
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    key_arn = moto.client("kms").create_key()["KeyMetadata"]["Arn"]
    with open_test_platform(tmp_path / "kms", moto=moto, kms_key_id=key_arn) as platform:
        acme = new_tenancy(platform, "Acme")
        platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)
        stored = platform.backends.store.get(SECRETS, acme.tenant_id, "ORDERS_TOKEN")
        assert stored is not None and stored.key_id == key_arn
        assert platform.secrets.resolve(acme.tenant_id, "ORDERS_TOKEN") == VALUE

    with open_test_platform(tmp_path / "none", moto=moto) as platform:
        acme = new_tenancy(platform, "Acme")
        with pytest.raises(CipherError, match="ORATIO_KMS_KEY_ID"):
            platform.secrets.put(acme.principal, "ORDERS_TOKEN", VALUE)
        assert platform.secrets.list(acme.principal) == []
        assert not (tmp_path / "none" / "secrets.key").exists()
