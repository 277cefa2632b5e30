"""Webhook signatures: per-tenant secrets derived from one platform key, and the header receivers verify.

Every request body is signed (HMAC-SHA256 over `"<unix time>.<body>"`, Stripe style) with a secret
per tenant, so receivers can check it came from Oratio and is fresh (`verify_signature`). Tenant
secrets are derived from one platform key (`ORATIO_WEBHOOK_SECRET`, or one generated once into the
data directory): there is nothing to store per tenant, and rotating the platform key rotates all.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from pathlib import Path

from oratio.errors import ConfigError
from oratio.keyfiles import load_or_create_key

SIGNATURE_HEADER = "X-Oratio-Signature"
SIGNATURE_TOLERANCE_S = 300
MASTER_KEY_MIN_BYTES = 32
_DERIVATION_LABEL = b"oratio webhook signing v1\x00"


class WebhookSecrets:
    """Per-tenant signing secrets derived from one platform key: HMAC-SHA256(key, label + tenant_id).

    The key is read (or generated) on first use, so a platform that never sends a webhook never
    creates one. Neither the key nor a derived secret appears in a repr or a log line.
    """

    def __init__(self, master: str | Callable[[], str]) -> None:
        self._master = master
        self._lock = threading.Lock()
        self._key: bytes | None = None

    def __repr__(self) -> str:
        return "WebhookSecrets(<hidden>)"

    def for_tenant(self, tenant_id: str) -> str:
        """The secret a tenant's receivers verify with (an admin door can show it to the tenant)."""
        digest = hmac.new(self._master_key(), _DERIVATION_LABEL + tenant_id.encode(), hashlib.sha256).hexdigest()
        return f"whsec_{digest}"

    def _master_key(self) -> bytes:
        with self._lock:
            if self._key is None:
                value = self._master if isinstance(self._master, str) else self._master()
                if len(value.encode()) < MASTER_KEY_MIN_BYTES:
                    raise ConfigError(f"ORATIO_WEBHOOK_SECRET must be at least {MASTER_KEY_MIN_BYTES} bytes")
                self._key = value.encode()
            return self._key


def load_or_create_master_key(configured: str | None, data_dir: Path) -> str:
    """The configured key, or one generated once into `data_dir/webhook.key` (mode 0600).

    Receivers keep the derived secrets, so the key must survive restarts; like the JWT key, it is
    persisted beside the data it belongs to. Two processes racing to create it end up sharing one.
    """
    if configured is not None:
        return configured
    return load_or_create_key(data_dir / "webhook.key")


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
    *,
    now: float | None = None,
) -> bool:
    """For receivers: True if `header` signs exactly `body` with `secret` within `tolerance_s` of now.

    Several `v1=` entries are accepted (any one may match), so a sender can sign with an old and a
    new secret during a rotation. Comparison is constant-time.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    raw = body.encode() if isinstance(body, str) else body
    expected = _mac(secret, timestamp, raw)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
