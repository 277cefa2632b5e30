"""Where a webhook request may go: the address policy that keeps tenant URLs off our own network.

A tenant types a webhook URL; the platform then makes requests to it from inside its network. That
is a server-side request forgery channel unless every request is checked, so before each attempt
the host is resolved and every address it resolves to must be public (not private, loopback,
link-local, multicast, reserved, unspecified or shared, including IPv4 addresses embedded in IPv6
forms). The connection then goes to the very address that was checked, with the original host in
the Host header and as the TLS server name, so a DNS answer that changes between check and connect
(DNS rebinding) cannot redirect it. Redirects are never followed. An operator can relax the
address check for development (`ORATIO_WEBHOOK_ALLOW_PRIVATE`) or for named internal receivers
(`ORATIO_WEBHOOK_ALLOWED_HOSTS`); only http and https are ever spoken.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from oratio.errors import InvalidInput

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""host, port -> the addresses a connection could go to (as `getaddrinfo` would answer)."""


class WebhookRefused(InvalidInput):
    """The URL may not be called: wrong scheme, credentials in it, or a non-public address."""

    code = "webhook_refused"


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


class PinnedConnection(http.client.HTTPConnection):
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


def describe_failure(exc: BaseException) -> str:
    """A failed outbound request in words for errors and logs (webhooks, agents' tools): never the URL."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "host name did not resolve"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS certificate did not verify"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    return type(exc).__name__
