"""Email and webhook settings: validated at start, secrets never echoed, wired by `open_platform`."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from oratio.config import EmailBackend, Settings, load_settings
from oratio.errors import ConfigError
from oratio.notify.signing import WebhookSecrets, verify_signature
from oratio.platform import Platform, open_platform
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, HandoffConfig, Principal, SessionStatus
from tests.aws import MotoServer
from tests.notify.servers import HOST, ses_messages, smtp_server, webhook_receiver

SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
WAIT_S = 30.0

_unique = itertools.count()


def test_defaults_send_no_email_and_keep_webhooks_public() -> None:
    settings = load_settings({})
    assert settings.email is None
    assert (settings.smtp_port, settings.smtp_starttls, settings.smtp_timeout_seconds) == (587, True, 10.0)
    assert (settings.webhook_allow_private, settings.webhook_allowed_hosts) == (False, "")
    assert (settings.webhook_timeout_seconds, settings.webhook_max_attempts, settings.webhook_secret) == (5.0, 4, None)
    assert (settings.session_idle_seconds, settings.session_sweep_seconds) == (900, 60.0)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ORATIO_EMAIL": "pigeon"}, "ORATIO_EMAIL"),
        ({"ORATIO_EMAIL": "ses"}, "ORATIO_EMAIL_FROM"),
        ({"ORATIO_EMAIL": "smtp", "ORATIO_EMAIL_FROM": "a@example.com"}, "ORATIO_SMTP_HOST"),
        ({"ORATIO_SMTP_USERNAME": "oratio"}, "ORATIO_SMTP_PASSWORD"),
        ({"ORATIO_SMTP_PORT": "0"}, "ORATIO_SMTP_PORT"),
        ({"ORATIO_WEBHOOK_MAX_ATTEMPTS": "0"}, "ORATIO_WEBHOOK_MAX_ATTEMPTS"),
        ({"ORATIO_WEBHOOK_ALLOW_PRIVATE": "perhaps"}, "ORATIO_WEBHOOK_ALLOW_PRIVATE"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert named in caught.value.message


def test_refused_secrets_are_not_echoed() -> None:
    with pytest.raises(ConfigError, match="ORATIO_WEBHOOK_SECRET") as caught:
        load_settings({"ORATIO_WEBHOOK_SECRET": "hunter2-hunter2"})
    assert "hunter2" not in caught.value.message
    with pytest.raises(ConfigError, match="STARTTLS") as caught:
        env = {"ORATIO_SMTP_USERNAME": "u", "ORATIO_SMTP_PASSWORD": "hunter2-pw", "ORATIO_SMTP_STARTTLS": "false"}
        load_settings(env)
    assert "hunter2" not in caught.value.message
    settings = load_settings({"ORATIO_SMTP_PASSWORD": "hunter2-pw", "ORATIO_SMTP_USERNAME": "u"})
    assert "hunter2" not in repr(settings)


def handoff_once(platform: Platform, config: HandoffConfig) -> tuple[str, str]:
    """A tenant, an active agent with `config`, a session handed off; returns (tenant_id, session_id)."""
    tenant = platform.tenants.create_tenant(f"T{next(_unique)}")
    admin = platform.tenants.create_admin(tenant.tenant_id, "owner@example.com", "Owner")
    principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
    agent = platform.agents.create(principal, CreateAgent(spec=AgentSpec(name="Front Desk", sop=SOP, handoff=config)))
    platform.agents.transition(tenant.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    session = platform.sessions.start(tenant.tenant_id, agent.id, Channel.TEXT)
    platform.handoff.request(tenant.tenant_id, session.id, "wants a person")
    assert platform.handoff.flush(WAIT_S)
    assert platform.sessions.get(principal, session.id).session.status is SessionStatus.HANDOFF_REQUESTED
    return tenant.tenant_id, session.id


def test_open_platform_wires_smtp_and_signed_webhooks(tmp_path: Path) -> None:
    with smtp_server() as smtp, webhook_receiver() as receiver:
        settings = Settings(
            data_dir=tmp_path,
            embeddings=False,
            email=EmailBackend.SMTP,
            email_from="oratio@example.com",
            smtp_host=HOST,
            smtp_port=smtp.port,
            smtp_starttls=False,
            webhook_allowed_hosts="127.0.0.1",
        )
        config = HandoffConfig(enabled=True, notify_emails=["desk@example.com"], webhook_url=receiver.url())
        with open_platform(settings) as platform:
            tenant_id, session_id = handoff_once(platform, config)

        [mail] = smtp.received
        assert mail.rcpt_tos == ["desk@example.com"] and session_id in mail.message.get_content()
        [request] = receiver.requests
        key = (tmp_path / "webhook.key").read_text().strip()  # generated on first use, beside the data
        secret = WebhookSecrets(key).for_tenant(tenant_id)
        assert verify_signature(secret, request.headers["x-oratio-signature"], request.body)


@pytest.mark.aws
def test_open_platform_wires_ses(tmp_path: Path, moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sender = f"oratio-wired-{next(_unique)}@example.com"
    moto.client("ses").verify_email_identity(EmailAddress=sender)
    settings = Settings(
        data_dir=tmp_path,
        embeddings=False,
        email=EmailBackend.SES,
        email_from=sender,
        aws_endpoint_url=moto.endpoint_url,
    )
    with open_platform(settings) as platform:
        _, session_id = handoff_once(platform, HandoffConfig(enabled=True, notify_emails=["desk@example.com"]))

    [sent] = [m for m in ses_messages(moto) if m["source"] == sender]
    assert sent["subject"] == "[Oratio] Handoff requested: Front Desk" and session_id in sent["body"]
