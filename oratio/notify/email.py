"""Email for people who must act now (a handoff): one small port, an SMTP adapter and an SES adapter.

A tenant's staff read these, so the port is plain text to a handful of addresses, nothing more.
SMTP works anywhere (a local relay, a provider's submission port); SES needs no SMTP credentials
when the platform already runs on AWS. Both turn every failure into `BackendUnavailable` whose
message names the backend and the kind of failure only: never a password, never a server reply
that could echo one back.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

from oratio.errors import BackendUnavailable, ConfigError

logger = logging.getLogger("oratio.notify.email")

DEFAULT_TIMEOUT_S = 10.0
SUBJECT_MAX = 200


class EmailSender(Protocol):
    """Delivers one plain-text message to the given addresses, or raises BackendUnavailable.

    `message_id` (an RFC 5322 Message-ID, `<id@domain>`) is the same on every retry of one
    delivery, so mail clients and the receiving side can drop a duplicate.
    """

    def send(self, to: list[str], subject: str, body: str, *, message_id: str | None = None) -> None: ...


def _one_line(text: str) -> str:
    """Header values must not carry line breaks (header injection); collapse all whitespace runs."""
    return " ".join(text.split())[:SUBJECT_MAX]


def build_message(sender: str, to: list[str], subject: str, body: str, message_id: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = _one_line(subject)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2].strip("> ") or None
    message["Message-ID"] = message_id or make_msgid(domain=domain)
    message.set_content(body)
    return message


class SmtpEmailSender:
    """Sends through an SMTP server, optionally upgrading to TLS (STARTTLS) and logging in.

    Logging in without TLS would put the password on the wire in clear, so credentials without
    `starttls` are refused at construction rather than at the first handoff.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = DEFAULT_TIMEOUT_S,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if (username is None) != (password is None):
            raise ConfigError("SMTP needs both a username and a password, or neither")
        if username is not None and not starttls:
            raise ConfigError("SMTP credentials need STARTTLS (ORATIO_SMTP_STARTTLS=true), or they travel in clear")
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpEmailSender(host={self._host!r}, port={self._port}, sender={self._sender!r})"

    def send(self, to: list[str], subject: str, body: str, *, message_id: str | None = None) -> None:
        if not to:
            return
        message = build_message(self._sender, to, subject, body, message_id)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                if self._starttls:
                    smtp.starttls(context=self._tls_context or ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    smtp.login(self._username, self._password)
                smtp.send_message(message, from_addr=self._sender, to_addrs=to)
        except smtplib.SMTPAuthenticationError:
            raise self._unavailable("the server refused the login") from None
        except smtplib.SMTPRecipientsRefused:
            raise self._unavailable("the server refused every recipient") from None
        except smtplib.SMTPSenderRefused:
            raise self._unavailable("the server refused the sender address") from None
        except OSError as exc:  # every smtplib error, refused connections, timeouts and TLS failures
            # The class name says what went wrong; the exception text might quote the server's reply.
            raise self._unavailable(type(exc).__name__) from None
        logger.info("email sent via smtp %s:%s to %d recipient(s)", self._host, self._port, len(to))

    def _unavailable(self, why: str) -> BackendUnavailable:
        return BackendUnavailable(f"could not send email through SMTP {self._host}:{self._port} ({why})")


class SesClient(Protocol):
    """The slice of boto3's SES client this adapter uses."""

    def send_email(self, **kwargs: Any) -> Any: ...


class SesEmailSender:
    """Sends with Amazon SES `SendEmail`; credentials come from the standard AWS chain, never config."""

    def __init__(self, ses_client: SesClient, sender: str) -> None:
        self._ses = ses_client
        self._sender = sender

    def __repr__(self) -> str:
        return f"SesEmailSender(sender={self._sender!r})"

    def send(self, to: list[str], subject: str, body: str, *, message_id: str | None = None) -> None:
        """SES `SendEmail` sets its own Message-ID, so `message_id` is not carried (SendRawEmail would)."""
        if not to:
            return
        from botocore.exceptions import BotoCoreError, ClientError  # only SES needs botocore: a lazy import

        try:
            self._ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": list(to)},
                Message={
                    "Subject": {"Data": _one_line(subject), "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
                },
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown error")
            raise BackendUnavailable(f"SES refused the email ({code})") from None
        except BotoCoreError as exc:  # endpoint down, timeouts, missing AWS credentials
            raise BackendUnavailable(f"SES did not take the email ({type(exc).__name__})") from None
        logger.info("email sent via ses to %d recipient(s)", len(to))
