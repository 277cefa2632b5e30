"""Real servers on 127.0.0.1 for the notification tests: an SMTP sink and a scriptable webhook receiver.

Both are started and stopped by the tests; what they received is inspected after the sender has
returned (or after the service's `flush`), so nothing here waits on time.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import http.server
import json
import socket
import ssl
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.aws import MotoServer
from tests.net import free_port

HOST = "127.0.0.1"
HOLD_MAX_S = 60.0


# -- SMTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    port: int
    received: list[Received] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.content.replace(b"\r\n", b"\n")  # wire line endings, read as text
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._arrived.notify_all()
        return "250 OK"

    def wait_until(self, done: Callable[[list[Received]], bool], timeout: float) -> bool:
        """Block until `done(mail so far)` holds, re-checked on each arrival; False after `timeout` (no sleeps)."""
        with self._arrived:
            return self._arrived.wait_for(lambda: done(self.received), timeout)


@contextmanager
def smtp_server() -> Iterator[SmtpSink]:
    """aiosmtpd on a free port; `start` returns once it answers, `received` fills as mail is accepted."""
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname=HOST, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# -- HTTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Answers POSTs with scripted statuses (then 200), recording every request it got."""

    def __init__(self, port: int, scheme: str) -> None:
        self.port = port
        self.scheme = scheme
        self.requests: list[Request] = []
        self.retry_after: str | None = None
        self.reply_body = b"ok"
        self.hold: threading.Event | None = None
        """When set to an Event, every request is recorded, then left unanswered until it is set."""
        self._statuses: list[int] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)

    def url(self, path: str = "/hook", host: str = HOST) -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, *statuses: int) -> None:
        with self._lock:
            self._statuses = list(statuses)

    def answer(self, request: Request) -> int:
        with self._lock:
            self.requests.append(request)
            self._arrived.notify_all()
            return self._statuses.pop(0) if self._statuses else 200

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least `count` requests arrived (False after `timeout`): no sleeping in tests."""
        return self.wait_until(lambda requests: len(requests) >= count, timeout)

    def wait_until(self, done: Callable[[list[Request]], bool], timeout: float) -> bool:
        """Block until `done(requests so far)` holds, re-checked on each arrival; False after `timeout`."""
        with self._arrived:
            return self._arrived.wait_for(lambda: done(self.requests), timeout)


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a held request's sender was killed: its answer has nowhere to go, as intended
        super().handle_error(request, client_address)


@contextmanager
def webhook_receiver(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(Request(self.path, headers, body))
            if receiver.hold is not None:
                receiver.hold.wait(HOLD_MAX_S)
            self.send_response(status)
            if receiver.retry_after is not None:
                self.send_header("Retry-After", receiver.retry_after)
            self.send_header("Content-Length", str(len(receiver.reply_body)))
            self.end_headers()
            self.wfile.write(receiver.reply_body)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = _QuietServer((HOST, 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    receiver = Receiver(server.server_address[1], "https" if tls else "http")
    # serve_forever notices `shutdown` at its next poll; a short poll keeps teardown quick.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: every request on it times out."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        port: int = sock.getsockname()[1]
        yield port


def self_signed(host: str, directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A certificate for `host` only: the server's TLS context, and a client context trusting just it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


def ses_messages(server: MotoServer) -> list[dict[str, Any]]:
    """What moto's SES backend stored, read through the moto_server admin API (works in server mode)."""
    with urllib.request.urlopen(f"{server.endpoint_url}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    messages: list[dict[str, Any]] = data["ses"]["Message"]
    return messages
