"""Reading a plan never shows a secret, and a version whose stored bytes changed is never shown.

`oratio.redaction.redact` is the one walk every plan view goes through; it is tested here on a model
shaped like issue 18's tools (headers holding credentials and secret references), then through MCP
`get_agent_plan` and `diff_agent_plan` on an agent whose webhook URL and plan text hold credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp import Client
from pydantic import BaseModel

from mcp_server import OperatorPrincipal, build_server
from oratio.platform import Platform
from oratio.redaction import REDACTED, is_secret_name, redact, redact_text
from oratio.services.agents import artifact_key
from schemas import (
    Agent,
    AgentSpec,
    AgentStatus,
    CreateAgent,
    CreationRecord,
    HandoffConfig,
    WebhookTool,
)
from schemas.plan_view import PlanDiff, PlanView
from tests.reliability.world import PLAN, new_side, reliability_platform
from tests.support.mcp import call_as, call_error

BEARER = "Bearer tok_live_8f3k2j4h5g6f7d8s9a0"
OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwx"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
URL_PASSWORD = "hunter2pass"
URL_TOKEN = "qtok_93jd83hd"
SECRETS = (BEARER.split()[1], OPENAI_KEY, AWS_KEY_ID, JWT, URL_PASSWORD, URL_TOKEN, "vault/orders-api")


class Header(BaseModel):
    name: str
    value: str


class Inner(BaseModel):
    client_secret: str
    max_tokens: int
    note: str


class ToolLike(BaseModel):
    """What issue 18's tool configuration may look like: headers with credentials and secret references."""

    url: str
    headers: dict[str, str]
    extra_headers: list[Header]
    inner: list[Inner]
    api_key: str | None
    description: str


def test_one_walk_redacts_every_secret_in_a_model() -> None:
    tool = ToolLike(
        url=f"https://svc:{URL_PASSWORD}@api.example.com/v1/orders?region=eu&access_token={URL_TOKEN}",
        headers={
            "Authorization": BEARER,
            "X-Api-Key": "k-123456",
            "X-Tenant": "{{secret:vault/orders-api}}",
            "Content-Type": "application/json",
        },
        extra_headers=[
            Header(name="Cookie", value="sid=abc"),
            Header(name="X-Trace", value="secret://vault/orders-api"),
        ],
        inner=[Inner(client_secret="cs-9876", max_tokens=512, note=f"rotate {AWS_KEY_ID} monthly")],
        api_key=OPENAI_KEY,
        description=f"Calls the orders API with {JWT} as a fallback.",
    )

    shown = redact(tool)

    text = shown.model_dump_json()
    for secret in (*SECRETS, "k-123456", "cs-9876"):
        assert secret not in text, secret
    assert shown.headers["Authorization"] == shown.headers["X-Api-Key"] == shown.headers["X-Tenant"] == REDACTED
    assert shown.headers["Content-Type"] == "application/json"
    assert shown.url == f"https://{REDACTED}@api.example.com/v1/orders?region=eu&access_token={REDACTED}"
    assert shown.extra_headers[1].value == REDACTED and shown.inner[0].max_tokens == 512
    assert shown.inner[0].client_secret == shown.api_key == REDACTED
    assert shown.description == f"Calls the orders API with {REDACTED} as a fallback."
    assert tool.headers["Authorization"] == BEARER  # the original is untouched


def test_nothing_secret_is_left_as_it_was() -> None:
    plain = ToolLike(
        url="https://api.example.com/v1/orders?region=eu",
        headers={"Content-Type": "application/json"},
        extra_headers=[],
        inner=[Inner(client_secret="", max_tokens=3, note="ask for the order number")],
        api_key=None,
        description="Looks up an order by its number; session details are not needed.",
    )

    assert redact(plain) is plain
    assert redact_text("Refunds over $100 need a manager (see https://help.example.com/refunds).") == (
        "Refunds over $100 need a manager (see https://help.example.com/refunds)."
    )


def test_assignments_lose_their_value() -> None:
    assert redact_text("openai:gpt-4o?api_key=abc123&temperature=0 password=hunter2 passwords are private") == (
        f"openai:gpt-4o?api_key={REDACTED}&temperature=0 password={REDACTED} passwords are private"
    )


@pytest.mark.parametrize(
    "name", ["password", "webhook_secret", "X-Api-Key", "Authorization", "clientSecret", "access_token", "sig"]
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["max_tokens", "knowledge_k", "description", "session_id", "author", "keywords"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with reliability_platform(tmp_path) as opened:
        yield opened


@pytest.fixture
async def leaky(platform: Platform) -> AsyncIterator[tuple[Client, str, str]]:
    """An agent whose webhook URL carries credentials and whose plan text quotes secrets (two versions)."""
    side = new_side(platform, "Acme")
    url = f"https://bot:{URL_PASSWORD}@hooks.example.com/orders?token={URL_TOKEN}&format=json"
    spec = AgentSpec(
        name="Orders",
        sop="Look up orders for customers and answer from the knowledge base.",
        handoff=HandoffConfig(enabled=True),
        webhook_tool=WebhookTool(url=url, description="Looks up an order by its number."),
    )
    agent = platform.agents.create(side.principal, CreateAgent(spec=spec))
    leaking = (
        f"{PLAN.system_prompt}\nSend {BEARER} and use {OPENAI_KEY}; AWS {AWS_KEY_ID}; ref secret://vault/orders-api."
    )
    for plan in (PLAN, PLAN.model_copy(update={"system_prompt": leaking, "internal_notes": [f"token {JWT}"]})):
        deployed = platform.agents.deploy(side.tenant_id, agent.id, plan)
        assert deployed.artifact_version is not None
        platform.creations.record(
            CreationRecord(
                tenant_id=side.tenant_id,
                agent_id=agent.id,
                version=deployed.artifact_version,
                artifact_sha256=deployed.artifact_sha256,
                succeeded=True,
            )
        )
    async with Client(build_server(platform, OperatorPrincipal(side.principal))) as client:
        yield client, side.tenant_id, agent.id


@pytest.mark.anyio
async def test_get_agent_plan_and_the_diff_show_no_secret(leaky: tuple[Client, str, str]) -> None:
    client, _, agent_id = leaky

    view = await call_as(client, "get_agent_plan", {"agent_id": agent_id}, PlanView)
    diff = await call_as(client, "diff_agent_plan", {"agent_id": agent_id, "from_version": 1}, PlanDiff)

    shown = view.model_dump_json() + diff.model_dump_json()
    for secret in SECRETS:
        assert secret not in shown, secret
    assert view.webhook_tool is not None
    assert view.webhook_tool.url == f"https://{REDACTED}@hooks.example.com/orders?token={REDACTED}&format=json"
    assert f"Send {REDACTED} and use {REDACTED}; AWS {REDACTED}; ref {REDACTED}" in view.system_prompt
    assert view.internal_notes == [f"token {REDACTED}"]
    assert {change.field for change in diff.changes} == {"system_prompt", "internal_notes"}


@pytest.mark.anyio
async def test_a_version_changed_in_storage_is_refused(platform: Platform, leaky: tuple[Client, str, str]) -> None:
    client, tenant_id, agent_id = leaky

    def tamper(version: int) -> None:
        key = artifact_key(tenant_id, agent_id, version)
        stored = platform.backends.blobs.get(key)
        platform.backends.blobs.put(key, stored.replace(b"friendly", b"FRIENDLY"), content_type="application/json")

    tamper(1)
    old = await call_error(client, "get_agent_plan", {"agent_id": agent_id, "version": 1})
    diff = await call_error(client, "diff_agent_plan", {"agent_id": agent_id, "from_version": 1})
    current = await call_as(client, "get_agent_plan", {"agent_id": agent_id}, PlanView)

    assert "artifact_rejected: " in old and "does not match the sha256" in old
    assert "artifact_rejected: " in diff
    assert [v.version for v in current.versions] == [2]  # the changed version is not listed as sound

    tamper(2)
    served = await call_error(client, "get_agent_plan", {"agent_id": agent_id})

    assert "artifact_rejected: " in served
    after = await call_as(client, "get_agent", {"agent_id": agent_id}, Agent)
    assert after.status is AgentStatus.FAILED  # the runtime's own check ran, and failed the agent
