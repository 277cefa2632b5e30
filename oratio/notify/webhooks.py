"""Signed webhooks to URLs that tenants choose, delivered without letting them reach our own network.

A tenant types a webhook URL; the platform then makes requests to it from inside its network. That
is a server-side request forgery channel unless every request is checked, so before each attempt
the host is resolved and every address it resolves to must be public (not private, loopback,
link-local, multicast, reserved, unspecified or shared, including IPv4 addresses embedded in IPv6
forms). The connection then goes to the very address that was checked, with the original host in
the Host header and as the TLS server name, so a DNS answer that changes between check and connect
(DNS rebinding) cannot redirect it. Redirects are never followed. An operator can relax the
address check for development (`ORATIO_WEBHOOK_ALLOW_PRIVATE`) or for named internal receivers
(`ORATIO_WEBHOOK_ALLOWED_HOSTS`); only http and https are ever spoken.

Every request body is signed (HMAC-SHA256 over `"<unix time>.<body>"`, Stripe style) with a secret
per tenant, so receivers can check it came from Oratio and is fresh (`verify_signature`). Tenant
secrets are derived from one platform key (`ORATIO_WEBHOOK_SECRET`, or one generated once into the
data directory): there is nothing to store per tenant, and rotating the platform key rotates all.

Failures the receiver may recover from (connection errors, timeouts, 5xx, 408, 429) are retried a
bounded number of times with exponential backoff and jitter; any other answer is final. URL paths
and queries often carry a receiver's own secret, so logs and errors name only scheme, host and port.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random as _random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oratio.errors import BackendUnavailable, ConfigError, InvalidInput
from oratio.keyfiles import load_or_create_key

logger = logging.getLogger("oratio.notify.webhooks")

SIGNATURE_HEADER = "X-Oratio-Signature"
EVENT_HEADER = "X-Oratio-Event"
DELIVERY_HEADER = "X-Oratio-Delivery"
"""Unique per event and the same on every retry: receivers deduplicate on it."""
USER_AGENT = "Oratio-Webhooks/1"

SIGNATURE_TOLERANCE_S = 300
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ATTEMPTS = 4
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_MAX_S = 30.0
RESPONSE_READ_MAX = 64 * 1024
MASTER_KEY_MIN_BYTES = 32
_DERIVATION_LABEL = b"oratio webhook signing v1\x00"
_RETRYABLE_STATUS = frozenset({408, 429})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""host, port -> the addresses a connection could go to (as `getaddrinfo` would answer)."""


class WebhookRefused(InvalidInput):
    """The URL may not be called: wrong scheme, credentials in it, or a non-public address."""

    code = "webhook_refused"


class WebhookFailed(BackendUnavailable):
    """The receiver did not take the event: a final answer, or every attempt failed."""

    code = "webhook_failed"

    def __init__(self, message: str, *, attempts: int, status: int | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status


# -- where a request may go -------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookPolicy:
    """Which destinations are allowed besides public addresses. The default allows none."""

    allow_private: bool = False
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def of(cls, allow_private: bool, allowed_hosts: str | Iterable[str]) -> WebhookPolicy:
        """From settings: `allowed_hosts` may be a comma-separated string (ORATIO_WEBHOOK_ALLOWED_HOSTS)."""
        names = allowed_hosts.split(",") if isinstance(allowed_hosts, str) else allowed_hosts
        return cls(allow_private, frozenset(_normal_host(n) for n in names if n.strip()))

    def exempts(self, host: str) -> bool:
        return self.allow_private or _normal_host(host) in self.allowed_hosts


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host, in its order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form would reach: mapped (::ffff:a.b.c.d), NAT64 and 6to4."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def _is_public(ip: IPAddress) -> bool:
    special = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
    # is_global is False for what the flags above miss too, e.g. 100.64.0.0/10 (carrier-grade NAT).
    return ip.is_global and not (special or ip.is_reserved or ip.is_unspecified)


def is_public_address(address: str) -> bool:
    """True only for an address on the public internet; anything unparsable is not."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False  # a zone index only means something on a local link
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _is_public(embedded)
    return _is_public(ip)


@dataclass(frozen=True)
class Target:
    """A checked destination: connect to `address`, speak to `host`."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _origin(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port else "")


def safe_origin(url: str) -> str:
    """What logs and error messages may say about a URL: scheme, host and port, never path or query."""
    try:
        parts = urlsplit(url)
        return _origin(parts.scheme.lower(), parts.hostname or "?", parts.port)
    except ValueError:
        return "(unparsable URL)"


def check_url(url: str, policy: WebhookPolicy, resolve: Resolver = system_resolver) -> Target:
    """Resolve and vet a webhook URL. Raises WebhookRefused, or OSError when the name does not resolve."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookRefused("the webhook URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookRefused("webhook URLs must use http or https")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused("webhook URLs must not carry credentials; receivers check the signature instead")
    if not parts.hostname:
        raise WebhookRefused("the webhook URL has no host")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise WebhookRefused("the webhook URL's host is not a valid name") from None
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c <= " " or c == "\x7f" for c in path):
        raise WebhookRefused("the webhook URL's path must be percent-encoded (no spaces or control characters)")

    try:
        addresses: Sequence[str] = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolve(host, port)
    if not addresses:
        raise OSError(f"{host} did not resolve")
    if not policy.exempts(host):
        # One non-public answer refuses the host: the attacker controls which answer gets used.
        if not all(is_public_address(a) for a in addresses):
            raise WebhookRefused(
                f"webhook host {host} resolves to a private or reserved address; only public hosts may be called"
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP(S) to `host`, but over a socket to the already checked `address` (no second lookup).

    `abort` (from the attempt's watchdog thread) shuts the socket down, which ends any blocked read:
    socket timeouts bound each read, not a receiver that trickles one byte at a time.
    """

    def __init__(self, target: Target, timeout: float, tls: ssl.SSLContext | None) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.default_port = 443 if tls is not None else 80  # so the Host header omits a default port
        self.aborted = False
        self._address = target.address
        self._tls = tls

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        if self.aborted:
            raise TimeoutError("the attempt ran out of time while connecting")
        if self._tls is not None:
            # The certificate is checked against the host name, not the pinned address. The handshake
            # runs after the TLS socket is in place, so `abort` can end a handshake that stalls.
            self.sock = self._tls.wrap_socket(self.sock, server_hostname=self.host, do_handshake_on_connect=False)
            self.sock.do_handshake()

    def abort(self) -> None:
        self.aborted = True
        sock = self.sock
        if sock is not None:
            try:
                # socket.socket's own shutdown, also on a TLS socket: it ends the blocked read without
                # touching the TLS state the reading thread is using.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


# -- signatures ---------------------------------------------------------------------------------


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


# -- delivery -----------------------------------------------------------------------------------


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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name did not resolve"
    return type(exc).__name__


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
                problem, last_status = _describe(exc), None
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
            raise WebhookFailed(f"{origin}: {_describe(exc)}", attempts=1) from None
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
        connection = _PinnedConnection(target, self._io_timeout, self._tls if target.scheme == "https" else None)
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
