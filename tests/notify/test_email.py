"""Email adapters against real servers: aiosmtpd on 127.0.0.1, and SES served by moto_server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from oratio.errors import BackendUnavailable, ConfigError
from oratio.notify.email import SesEmailSender, SmtpEmailSender
from tests.aws import MotoServer
from tests.net import free_port
from tests.notify.servers import HOST, SmtpSink, ses_messages, smtp_server

SENDER = "oratio@example.com"
PASSWORD = "hunter2-correct-horse"

_unique = itertools.count()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with smtp_server() as sink:
        yield sink


def test_smtp_delivers_a_plain_text_message(smtp: SmtpSink) -> None:
    sender = SmtpEmailSender(HOST, smtp.port, SENDER, timeout=5)

    sender.send(["ops@example.com", "lead@example.com"], "Handoff requested: Support", "Session ses_1\nReason: x")

    [got] = smtp.received
    assert (got.mail_from, got.rcpt_tos) == (SENDER, ["ops@example.com", "lead@example.com"])
    assert got.message["Subject"] == "Handoff requested: Support"
    assert got.message["From"] == SENDER
    assert got.message["Message-ID"].endswith("@example.com>")
    assert got.message.get_content().strip() == "Session ses_1\nReason: x"


def test_a_subject_cannot_inject_headers(smtp: SmtpSink) -> None:
    SmtpEmailSender(HOST, smtp.port, SENDER).send(["ops@example.com"], "Hi\r\nBcc: evil@example.com", "body")

    [got] = smtp.received
    assert got.rcpt_tos == ["ops@example.com"]
    assert got.message["Bcc"] is None
    assert got.message["Subject"] == "Hi Bcc: evil@example.com"


def test_no_recipients_sends_nothing(smtp: SmtpSink) -> None:
    SmtpEmailSender(HOST, smtp.port, SENDER).send([], "subject", "body")
    assert smtp.received == []


def test_smtp_down_is_backend_unavailable_without_the_password() -> None:
    port = free_port()  # nothing listens here any more
    sender = SmtpEmailSender(HOST, port, SENDER, username="oratio", password=PASSWORD, starttls=True, timeout=5)

    with pytest.raises(BackendUnavailable) as caught:
        sender.send(["ops@example.com"], "subject", "body")

    assert caught.value.message == f"could not send email through SMTP {HOST}:{port} (ConnectionRefusedError)"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert PASSWORD not in repr(sender)


def test_credentials_without_tls_are_refused() -> None:
    with pytest.raises(ConfigError, match="STARTTLS") as caught:
        SmtpEmailSender(HOST, 25, SENDER, username="oratio", password=PASSWORD)
    assert PASSWORD not in caught.value.message
    with pytest.raises(ConfigError, match="both"):
        SmtpEmailSender(HOST, 25, SENDER, username="oratio", starttls=True)


@pytest.mark.aws
def test_ses_sends_through_the_api(moto: MotoServer) -> None:
    ses = moto.client("ses")
    sender_address = f"oratio-{next(_unique)}@example.com"
    ses.verify_email_identity(EmailAddress=sender_address)

    SesEmailSender(ses, sender_address).send(["ops@example.com"], "Handoff\nrequested: Support", "Session ses_9")

    [sent] = [m for m in ses_messages(moto) if m["source"] == sender_address]
    assert sent["destinations"] == {"ToAddresses": ["ops@example.com"]}
    assert (sent["subject"], sent["body"]) == ("Handoff requested: Support", "Session ses_9")


@pytest.mark.aws
def test_ses_refusal_is_backend_unavailable(moto: MotoServer) -> None:
    unverified = f"nobody-{next(_unique)}@example.com"

    with pytest.raises(BackendUnavailable, match=r"SES refused the email \(MessageRejected\)"):
        SesEmailSender(moto.client("ses"), unverified).send(["ops@example.com"], "s", "b")
