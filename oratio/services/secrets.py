"""Tenant secrets: write-only for admins, readable in plain text only by the platform's outbound calls.

Why these rules:

- Scopes: setting or deleting a secret changes a credential the platform presents to a tenant's
  systems, like minting an API key, so it needs `keys:write` (admin tokens carry it; a service token
  scoped to agents cannot swap an integration's credential). Listing shows names and dates only,
  like `list_api_keys`, so it needs `agents:read`.
- No door ever gets a value back: `put` returns `SecretInfo`; `resolve` (the `SecretResolver` the HTTP
  and MCP tool runners call) takes a tenant id, not a principal, because it serves the platform's own
  outbound calls on behalf of a deployed agent, never a caller.
- Errors name the secret, never the value; the value is checked by size only (it is opaque bytes).
"""

from __future__ import annotations

import base64
import binascii
import builtins
import logging
import re
from collections.abc import Iterable

from oratio.errors import Conflict, InvalidInput, NotFound
from oratio.secrets.cipher import CipherError, SecretCipher
from oratio.services._common import Backends, all_items, authorize
from oratio.store.tables import SECRETS
from schemas import EventType, Principal, Scope
from schemas.tools import SECRET_NAME_PATTERN, SECRET_VALUE_MAX, SecretInfo, StoredSecret

logger = logging.getLogger("oratio.services.secrets")

_PUT_ATTEMPTS = 5


def check_name(name: str) -> str:
    if not re.fullmatch(SECRET_NAME_PATTERN, name):
        raise InvalidInput(
            "a secret's name is 2-64 characters: an uppercase letter, then uppercase letters, digits or "
            "underscores (e.g. ORDERS_API_TOKEN)",
            field="name",
        )
    return name


def check_value(value: str) -> bytes:
    """The value as bytes, or InvalidInput that says why without quoting it."""
    data = value.encode()
    if not data:
        raise InvalidInput("a secret's value cannot be empty", field="value")
    if len(data) > SECRET_VALUE_MAX:
        raise InvalidInput(f"a secret's value is at most {SECRET_VALUE_MAX} bytes", field="value")
    return data


def info(stored: StoredSecret) -> SecretInfo:
    return SecretInfo(name=stored.name, created_at=stored.created_at, updated_at=stored.updated_at)


class SecretService:
    """put/list/delete for admins; `resolve` implements `oratio.actions.SecretResolver`."""

    def __init__(self, backends: Backends, cipher: SecretCipher, *, per_tenant_max: int = 100) -> None:
        self._b = backends
        self._cipher = cipher
        self._max = per_tenant_max

    def put(self, principal: Principal, name: str, value: str) -> SecretInfo:
        """Create the secret, or replace its value. The value is sealed before anything is stored."""
        tenant_id = authorize(principal, Scope.KEYS_WRITE)
        check_name(name)
        data = check_value(value)
        sealed, key_id = self._cipher.encrypt(tenant_id, name, data)
        ciphertext = base64.b64encode(sealed).decode()
        for _ in range(_PUT_ATTEMPTS):
            current = self._b.store.get(SECRETS, tenant_id, name)
            now = self._b.clock()
            try:
                if current is None:
                    self._check_room(tenant_id)
                    stored = self._b.store.insert(
                        SECRETS,
                        StoredSecret(
                            tenant_id=tenant_id,
                            name=name,
                            ciphertext=ciphertext,
                            key_id=key_id,
                            created_at=now,
                            updated_at=now,
                        ),
                    )
                else:
                    update = {"ciphertext": ciphertext, "key_id": key_id, "updated_at": now}
                    stored = self._b.store.replace(SECRETS, current.model_copy(update=update))
            except Conflict:
                continue  # set at the same moment by another admin: read again, the last write wins
            self._b.emit(tenant_id, EventType.SECRET_SET, name, name=name, created=current is None)
            logger.info("tenant_id=%s secret=%s created=%s | secret set", tenant_id, name, current is None)
            return info(stored)
        raise Conflict(f"secret '{name}' is being changed by others; try again")

    def list(self, principal: Principal) -> list[SecretInfo]:
        """Every secret's name and dates (at most `per_tenant_max`), by name."""
        tenant_id = authorize(principal, Scope.AGENTS_READ)
        return [info(s) for s in all_items(self._b.store, SECRETS, tenant_id)]

    def delete(self, principal: Principal, name: str) -> SecretInfo:
        """Delete a secret. Tools that reference it fail with a clear error until it is set again."""
        tenant_id = authorize(principal, Scope.KEYS_WRITE)
        check_name(name)
        current = self._b.store.get(SECRETS, tenant_id, name)
        if current is None or not self._b.store.delete(SECRETS, tenant_id, name):
            raise NotFound.of("secret", name)
        self._b.emit(tenant_id, EventType.SECRET_DELETED, name, name=name)
        logger.info("tenant_id=%s secret=%s | secret deleted", tenant_id, name)
        return info(current)

    def missing(self, tenant_id: str, names: Iterable[str]) -> builtins.list[str]:
        """Which of `names` are not set, sorted: for the check when a tool is added or a plan deployed
        (a header or an MCP server naming a secret nobody set gets an error naming it)."""
        return sorted({n for n in names if self._b.store.get(SECRETS, tenant_id, n) is None})

    def resolve(self, tenant_id: str, name: str) -> str:
        """The plain value, for an outbound call only. NotFound names the secret; never logged."""
        stored = self._b.store.get(SECRETS, tenant_id, name)
        if stored is None:
            raise NotFound(f"secret '{name}' is not set; an admin can set it with set_secret")
        try:
            sealed = base64.b64decode(stored.ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise CipherError(f"secret '{name}' is damaged; set it again with set_secret") from None
        data = self._cipher.decrypt(tenant_id, name, sealed, stored.key_id)
        try:
            return data.decode()
        except UnicodeDecodeError:
            raise CipherError(f"secret '{name}' is damaged; set it again with set_secret") from None

    def _check_room(self, tenant_id: str) -> None:
        if len(all_items(self._b.store, SECRETS, tenant_id)) >= self._max:
            raise InvalidInput(
                f"a tenant holds at most {self._max} secrets; delete one you no longer use (delete_secret)",
                field="name",
            )
