"""Secrets stay secret: never in a log line at DEBUG, never stored or shown in plain text after minting.

One whole flow runs twice: against `oratio serve` as a child process logging at DEBUG (its stderr is
scanned) and in-process under uvicorn with every logger captured at DEBUG (caplog, which also sees
the libraries: MCP, httpx, uvicorn, Strands). The flow: an admin token on /api/v1/me and MCP over
HTTP, an API key minted, listed, used and revoked, turns through the runtime (one with the revoked
key), a handoff that signs a webhook to a local receiver and tries to email through an SMTP server
that needs a password (and is down, the path where secrets tend to end up in error messages).

Then no secret appears anywhere in the logs: the API keys, the admin JWT, the JWT signing key, the
webhook master key and the tenant's derived webhook secret, the SMTP password. The keys also appear
in no file of the data directory (SQLite database and WAL, blobs, knowledge index) and in no list.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr

from oratio.config import Settings, load_settings
from oratio.notify.signing import WebhookSecrets, verify_signature
from oratio.platform import open_platform
from schemas import AgentSpec, CreateAgent, EventType, HandoffConfig, MintKeyRequest, Principal
from tests.net import free_port
from tests.notify.servers import Receiver, webhook_receiver
from tests.reliability.serve import clean_env, oratio_serve
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import PLAN, UNLIMITED, serving

JWT_KEY = "jwt-signing-key-" + "j" * 32
WEBHOOK_KEY = "webhook-master-key-" + "w" * 32
SMTP_PASSWORD = "smtp-password-Zq7"  # noqa: S105 - a test value that must never be logged
WAIT_S = 30.0


@dataclass(frozen=True)
class Setup:
    principal: Principal
    agent_id: str
    first_secret: str
    token: str


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, threading.Event]]:
    with webhook_receiver() as hooks:
        arrived = threading.Event()
        answer = hooks.answer

        def answered(request: Any) -> int:
            status = answer(request)
            arrived.set()
            return status

        hooks.answer = answered  # type: ignore[method-assign]
        yield hooks, arrived


def environment(data_dir: Path) -> dict[str, str]:
    return {
        "ORATIO_DATA_DIR": str(data_dir),
        "ORATIO_JWT_SECRET": JWT_KEY,
        "ORATIO_WEBHOOK_SECRET": WEBHOOK_KEY,
        "ORATIO_WEBHOOK_ALLOW_PRIVATE": "true",
        "ORATIO_MODEL": "scripted",
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_EMAIL": "smtp",
        "ORATIO_EMAIL_FROM": "oratio@acme.example",
        "ORATIO_SMTP_HOST": "127.0.0.1",
        "ORATIO_SMTP_PORT": str(free_port()),  # nothing listens: the delivery fails
        "ORATIO_SMTP_USERNAME": "mailer",
        "ORATIO_SMTP_PASSWORD": SMTP_PASSWORD,
        "ORATIO_SMTP_TIMEOUT_SECONDS": "2",
        "ORATIO_OUTBOX_MAX_ATTEMPTS": "1",  # the email fails for good at once, and is recorded as an error event
    }


def set_up(settings: Settings, hook_url: str) -> Setup:
    with open_platform(settings) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        admin = platform.tenants.create_admin(tenant.tenant_id, "ops@acme.example", "Ops")
        principal = Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset(admin.scopes))
        handoff = HandoffConfig(enabled=True, notify_emails=["oncall@acme.example"], webhook_url=hook_url)
        spec = AgentSpec(name="Desk", sop="Answer politely and hand off when asked for a person.", handoff=handoff)
        agent = platform.agents.create(principal, CreateAgent(spec=spec))
        platform.agents.deploy(tenant.tenant_id, agent.id, PLAN)
        minted = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="first"))
        return Setup(principal, agent.id, minted.reveal(), platform.access.token_for(admin))


def flow(base_url: str, setup: Setup, arrived: threading.Event) -> tuple[str, list[Any]]:
    """Everything a tenant does with secrets in hand; returns the key minted over MCP and what lists showed."""
    shown: list[Any] = []

    async def admin() -> str:
        async with mcp_over_http(f"{base_url}/mcp", setup.token) as mcp:
            minted = await mcp.call_tool("mint_api_key", {"agent_id": setup.agent_id, "name": "second"})
            assert minted.structured_content is not None, minted.content
            for tool, arguments in (("list_api_keys", {}), ("get_agent", {"agent_id": setup.agent_id})):
                listed = await mcp.call_tool(tool, arguments)
                shown.append(listed.structured_content)
            first_id = next(k["id"] for k in shown[0]["keys"] if k["name"] == "first")
            revoked = await mcp.call_tool("revoke_api_key", {"key_id": first_id})
            assert not revoked.is_error, revoked.content
            shown.append(revoked.structured_content)
            secret: str = minted.structured_content["secret"]
            return secret

    second = anyio.run(admin)
    path = f"/runtime/agents/{setup.agent_id}/invocations"
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {setup.token}"})
        assert me.status_code == 200, me.text
        refused = http.post(path, json={"message": "hello"}, headers={"X-Api-Key": setup.first_secret})
        assert refused.status_code == 401, refused.text
        hello = http.post(path, json={"message": "hello"}, headers={"Authorization": f"Bearer {second}"})
        assert hello.status_code == 200, hello.text
        handoff = http.post(
            path,
            json={"message": "I want to talk to a person", "session_id": hello.json()["session_id"]},
            headers={"X-Api-Key": second},
        )
        assert handoff.status_code == 200 and handoff.json()["handoff"], handoff.text
    assert arrived.wait(WAIT_S), "the handoff webhook never arrived"
    return second, shown


def assert_no_secret(text: str, secrets: dict[str, str], where: str) -> None:
    for name, secret in secrets.items():
        assert secret not in text, f"the {name} appears in {where}"


def secrets_of(setup: Setup, second: str) -> dict[str, str]:
    return {
        "first API key": setup.first_secret,
        "second API key": second,
        "admin JWT": setup.token,
        "JWT signing key": JWT_KEY,
        "webhook master key": WEBHOOK_KEY,
        "tenant webhook secret": WebhookSecrets(WEBHOOK_KEY).for_tenant(setup.principal.tenant_id),
        "SMTP password": SMTP_PASSWORD,
    }


def assert_stored_and_shown_safely(settings: Settings, setup: Setup, second: str, shown: list[Any]) -> None:
    keys = {"first API key": setup.first_secret, "second API key": second}
    assert_no_secret(json.dumps(shown), keys | {"admin JWT": setup.token}, "a list or get result")
    files = [path for path in settings.data_dir.rglob("*") if path.is_file()]
    assert any(path.name.startswith("oratio.db") for path in files)
    for path in files:
        assert_no_secret(path.read_bytes().decode("latin-1"), keys | {"admin JWT": setup.token}, str(path))
    with open_platform(settings) as platform:
        events = platform.backends.events.read(setup.principal.tenant_id, limit=200)
    # The flow really reached the email path, and its failure was recorded without the password.
    failures = [e for e in events if e.type is EventType.ERROR and "email" in json.dumps(e.data)]
    assert failures, [e.type.value for e in events]


def test_no_secret_in_the_logs_of_oratio_serve_at_debug(
    tmp_path: Path, receiver: tuple[Receiver, threading.Event]
) -> None:
    hooks, arrived = receiver
    env = environment(tmp_path / "data")
    settings = load_settings(env)
    setup = set_up(settings, hooks.url())
    with oratio_serve(clean_env(**env), tmp_path / "serve.log", debug=True) as server:
        second, shown = flow(server.base_url, setup, arrived)
    log = server.stderr()
    assert "DEBUG" in log and "oratio." in log, log[:2000]  # it did log, at DEBUG
    assert_no_secret(log, secrets_of(setup, second), "the server's log")
    [request] = hooks.requests
    secret = WebhookSecrets(WEBHOOK_KEY).for_tenant(setup.principal.tenant_id)
    assert verify_signature(secret, request.headers["x-oratio-signature"], request.body)
    assert_stored_and_shown_safely(settings, setup, second, shown)


def test_no_secret_in_any_log_record_in_process_at_debug(
    tmp_path: Path, receiver: tuple[Receiver, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    hooks, arrived = receiver
    env = environment(tmp_path / "data")
    settings = load_settings(env).model_copy(update={**UNLIMITED, "jwt_secret": SecretStr(JWT_KEY)})
    setup = set_up(settings, hooks.url())
    caplog.set_level(logging.DEBUG)
    with open_platform(settings) as platform, serving(platform) as served:
        second, shown = flow(served.base_url, setup, arrived)
    records = [r for r in caplog.records if r.levelno >= logging.DEBUG]
    assert any(r.name.startswith("oratio") for r in records)
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert_no_secret(text, secrets_of(setup, second), "a log record")
    assert_stored_and_shown_safely(settings, setup, second, shown)
