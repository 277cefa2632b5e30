"""`oratio serve` runs the escalation sweeper: a handoff nobody acknowledged is escalated by the server itself.

A real `oratio serve` subprocess on a data directory that holds a handoff requested an hour ago (its
platform's clock set back when it was written, so nothing waits for `escalate_after_seconds` to pass),
a real HTTP receiver on 127.0.0.1 for the agent's handoff webhook and a real SMTP server (aiosmtpd) for
its notify email. The test waits, with a bound, for the `handoff.escalated` webhook and the "NOT
acknowledged" email: only the server's sweeper and outbox can send them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from oratio.config import load_settings
from oratio.notify.webhooks import EVENT_HEADER
from oratio.platform import open_platform
from schemas import AgentSpec, AgentStatus, Channel, CreateAgent, HandoffConfig
from tests.net import free_port
from tests.notify.servers import Received, Request, smtp_server, webhook_receiver
from tests.support.platforms import FakeClock, open_test_platform
from tests.support.processes import running
from tests.support.tenants import SOP, new_tenancy

SERVE = "import sys; from oratio_app.cli import main; sys.exit(main(['serve', '--port', sys.argv[1]]))"
WAIT_S = 60.0
"""Bound on the wait for the escalation (a passing run waits one sweep, 0.2 s, after start-up)."""


def test_serve_escalates_an_unacknowledged_handoff_through_the_outbox(tmp_path: Path) -> None:
    with webhook_receiver() as receiver, smtp_server() as smtp:
        an_hour_ago = FakeClock(datetime.now(UTC) - timedelta(hours=1))
        with open_test_platform(tmp_path, clock=an_hour_ago, webhook_allow_private=True) as platform:
            acme = new_tenancy(platform, "Acme")
            config = HandoffConfig(
                enabled=True,
                webhook_url=receiver.url("/hooks"),
                notify_emails=["oncall@acme.example"],
                escalate_after_seconds=30,
            )
            spec = AgentSpec(name="Desk", sop=SOP, handoff=config)
            agent = platform.agents.create(acme.principal, CreateAgent(spec=spec))
            platform.agents.transition(acme.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
            session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
            platform.handoff.request(acme.tenant_id, session.id, "the customer asked for a person")
        # The request's own webhook was delivered by the process that wrote it; nothing escalated yet.
        assert [r.headers[EVENT_HEADER.lower()] for r in receiver.requests] == ["handoff.requested"]

        env = {k: v for k, v in os.environ.items() if not k.startswith("ORATIO_")} | {
            "ORATIO_DATA_DIR": str(tmp_path),
            "ORATIO_WEBHOOK_ALLOW_PRIVATE": "true",
            "ORATIO_SESSION_SWEEP_SECONDS": "0.2",
            "ORATIO_EMAIL": "smtp",
            "ORATIO_SMTP_HOST": "127.0.0.1",
            "ORATIO_SMTP_PORT": str(smtp.port),
            "ORATIO_SMTP_STARTTLS": "false",
            "ORATIO_EMAIL_FROM": "oratio@acme.example",
        }
        port = free_port()
        command = [sys.executable, "-c", SERVE, str(port)]
        with running(command, ready_url=f"http://127.0.0.1:{port}/healthz", env=env, stdout=subprocess.DEVNULL):

            def escalated(requests: list[Request]) -> bool:
                return any(r.headers[EVENT_HEADER.lower()] == "handoff.escalated" for r in requests)

            def escalation_mail(mail: list[Received]) -> bool:
                return any("NOT acknowledged" in str(m.message["Subject"]) for m in mail)

            assert receiver.wait_until(escalated, WAIT_S), "oratio serve did not escalate the handoff by webhook"
            assert smtp.wait_until(escalation_mail, WAIT_S), "oratio serve did not escalate the handoff by email"

    [delivery] = [r for r in receiver.requests if r.headers[EVENT_HEADER.lower()] == "handoff.escalated"]
    assert delivery.path == "/hooks"
    assert session.id in json.dumps(json.loads(delivery.body))
    [mail] = [m for m in smtp.received if "NOT acknowledged" in str(m.message["Subject"])]
    assert mail.rcpt_tos == ["oncall@acme.example"]
    with open_platform(load_settings({"ORATIO_DATA_DIR": str(tmp_path)})) as after:
        stored = after.sessions.get(acme.principal, session.id).session
    assert stored.handoff is not None and stored.handoff.escalated_at is not None
