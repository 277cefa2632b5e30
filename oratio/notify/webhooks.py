"""Delivering signed webhook events: the sender, with its SSRF check before every attempt and bounded retries.

The address policy (`address_policy`) decides where a request may go and pins the connection to the
checked address; `signing` signs each body. Failures the receiver may recover from (connection errors,
timeouts, 5xx, 408, 429) are retried a bounded number of times with exponential backoff and jitter; any
other answer is final. URL paths and queries often carry a receiver's own secret, so logs and errors
name only scheme, host and port.
"""

from __future__ import annotations

import http.client
import json
import logging
import random as _random
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oratio.errors import BackendUnavailable
from oratio.notify.address_policy import (
    PinnedConnection,
    Resolver,
    Target,
    WebhookPolicy,
    check_url,
    describe_failure,
    safe_origin,
    system_resolver,
)
from oratio.notify.signing import SIGNATURE_HEADER, WebhookSecrets, signature_header

logger = logging.getLogger("oratio.notify.webhooks")

EVENT_HEADER = "X-Oratio-Event"
DELIVERY_HEADER = "X-Oratio-Delivery"

USER_AGENT = "Oratio-Webhooks/1"

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_MAX_S = 30.0
RESPONSE_READ_MAX = 64 * 1024
_RETRYABLE_STATUS = frozenset({408, 429})


class WebhookFailed(BackendUnavailable):
    """The receiver did not take the event: a final answer, or every attempt failed."""

    code = "webhook_failed"

    def __init__(self, message: str, *, attempts: int, status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status


@dataclass(frozen=True)
class WebhookReply:
    """The receiver's answer to `call`: its status and (at most RESPONSE_READ_MAX bytes of) its body."""

    status: int
    body: str


@dataclass(frozen=True)
class Delivery:
    """A delivered event: the receiver's 2xx status and how many attempts it took."""

    delivery_id: str
    status: int
    attempts: int


def retryable(status: int) -> bool:
    """Whether an HTTP answer may change if asked again (5xx, 408, 429); others are final."""
    return _retryable(status)


def _retryable(status: int) -> bool:
    return status >= 500 or status in _RETRYABLE_STATUS


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None  # the HTTP-date form is rare for webhooks; fall back to our own backoff
    return float(value.strip())


class WebhookSender:
    """Posts JSON events to webhook URLs, signed per tenant, with SSRF checks and bounded retries.

    `timeout_s` bounds a whole attempt (a watchdog aborts it), `io_timeout_s` (default the same)
    each connect and read. `deliver` blocks until the receiver answers or the attempts run out: at
    most about `max_attempts * timeout_s` plus the backoff sleeps, so callers on a request path run
    it in the background. `sleep`, `rand`, `clock` and `resolve` are injectable so tests neither
    wait nor depend on DNS.
    """

    def __init__(
        self,
        secrets: WebhookSecrets,
        *,
        policy: WebhookPolicy | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        io_timeout_s: float | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base_s: float = DEFAULT_BACKOFF_BASE_S,
        backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
        resolve: Resolver = system_resolver,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.time,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._secrets = secrets
        self._policy = policy or WebhookPolicy()
        self._timeout = timeout_s
        self._io_timeout = timeout_s if io_timeout_s is None else io_timeout_s
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_s
        self._backoff_max = backoff_max_s
        self._resolve = resolve
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._tls = tls_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"WebhookSender(policy={self._policy!r}, max_attempts={self._max_attempts})"

    def check(self, url: str) -> Target:
        """Vet a URL now (e.g. when an admin saves it); delivery checks again on every attempt."""
        return check_url(url, self._policy, self._resolve)

    def deliver(
        self,
        tenant_id: str,
        url: str,
        event: str,
        data: Mapping[str, Any],
        *,
        delivery_id: str | None = None,
        attempts: int | None = None,
    ) -> Delivery:
        """Post `{"id", "type", "tenant_id", "created_at", "data"}` to url. Raises WebhookRefused/WebhookFailed.

        `attempts` overrides `max_attempts` for this call: the outbox passes 1 and schedules retries
        itself, so a receiver that never answers holds a delivery slot for one timeout, not four.
        """
        max_attempts = self._max_attempts if attempts is None else max(1, attempts)
        delivery_id = delivery_id or f"whd_{uuid.uuid4().hex}"
        created_at = datetime.fromtimestamp(self._clock(), UTC).isoformat()
        envelope = {"id": delivery_id, "type": event, "tenant_id": tenant_id, "created_at": created_at, "data": data}
        body = json.dumps(envelope, separators=(",", ":"), default=str).encode()
        secret = self._secrets.for_tenant(tenant_id)
        origin = safe_origin(url)
        problem, last_status = "no attempt made", None
        for attempt in range(1, max_attempts + 1):
            retry_after: float | None = None
            try:
                target = self.check(url)  # again on every attempt: DNS answers change
                status, retry_after_header = self._post(target, event, delivery_id, secret, body)
            except ssl.SSLCertVerificationError:
                problem = f"{origin} presented a TLS certificate that did not verify"
                raise WebhookFailed(problem, attempts=attempt) from None
            except (OSError, http.client.HTTPException) as exc:
                problem, last_status = describe_failure(exc), None
            else:
                if 200 <= status < 300:
                    logger.info("webhook %s delivered to %s (attempt %d)", delivery_id, origin, attempt)
                    return Delivery(delivery_id=delivery_id, status=status, attempts=attempt)
                problem, last_status = f"HTTP {status}", status
                if not _retryable(status):
                    raise WebhookFailed(f"{origin} answered {problem}; not retried", attempts=attempt, status=status)
                retry_after = _retry_after(retry_after_header)
            if attempt == max_attempts:
                break
            delay = self._backoff(attempt, retry_after)
            logger.info("webhook %s to %s: %s; retry %d in %.2fs", delivery_id, origin, problem, attempt, delay)
            self._sleep(delay)
        raise WebhookFailed(
            f"webhook to {origin} failed after {max_attempts} attempts (last: {problem})",
            attempts=max_attempts,
            status=last_status,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential, with "equal jitter" (half fixed, half random) so retries from many senders spread."""
        ceiling = min(self._backoff_max, self._backoff_base * 2.0 ** (attempt - 1))
        delay = ceiling / 2 + self._rand() * ceiling / 2
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self._backoff_max)

    def call(self, tenant_id: str, url: str, event: str, data: Mapping[str, Any]) -> WebhookReply:
        """One signed POST whose answer matters to the caller (an agent's `call_webhook` tool).

        A single attempt, bounded by `timeout_s`: the customer is waiting, so no retries. Raises
        WebhookRefused for a URL the policy refuses and WebhookFailed when nothing usable came back.
        """
        delivery_id = f"whc_{uuid.uuid4().hex}"
        created_at = datetime.fromtimestamp(self._clock(), UTC).isoformat()
        envelope = {"id": delivery_id, "type": event, "tenant_id": tenant_id, "created_at": created_at, "data": data}
        body = json.dumps(envelope, separators=(",", ":"), default=str).encode()
        origin = safe_origin(url)
        try:
            target = self.check(url)
            status, _, answer = self._exchange(target, event, delivery_id, self._secrets.for_tenant(tenant_id), body)
        except ssl.SSLCertVerificationError:
            raise WebhookFailed(f"{origin} presented a TLS certificate that did not verify", attempts=1) from None
        except (OSError, http.client.HTTPException) as exc:
            raise WebhookFailed(f"{origin}: {describe_failure(exc)}", attempts=1) from None
        return WebhookReply(status=status, body=answer.decode("utf-8", errors="replace"))

    def _post(self, target: Target, event: str, delivery_id: str, secret: str, body: bytes) -> tuple[int, str | None]:
        status, retry_after, _ = self._exchange(target, event, delivery_id, secret, body)
        return status, retry_after

    def _exchange(
        self, target: Target, event: str, delivery_id: str, secret: str, body: bytes
    ) -> tuple[int, str | None, bytes]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
            # Signed per attempt: a late retry must still pass the receiver's freshness check.
            SIGNATURE_HEADER: signature_header(secret, body, int(self._clock())),
        }
        connection = PinnedConnection(target, self._io_timeout, self._tls if target.scheme == "https" else None)
        watchdog = threading.Timer(self._timeout, connection.abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(RESPONSE_READ_MAX)
            return response.status, response.getheader("Retry-After"), answer
        except (OSError, http.client.HTTPException):
            if connection.aborted:
                raise TimeoutError(f"no complete answer within {self._timeout}s") from None
            raise
        finally:
            watchdog.cancel()
            connection.close()
