"""Threat: a tenant's per-agent `model` makes the server reach an address or probe a path (issue 15, item 3).

`llamacpp?base_url=<url>` would post the system prompt and customers' words to any URL, bypassing the
webhook SSRF guard; `openai:...?base_url=<url>` would send the platform's API key there; `local:<path>`
would tell whether a server path exists. A tenant picks only among the names ORATIO_MODELS_ALLOWED
holds; each attack is refused at create_agent / update_agent, reaches no network (a loopback listener
sees no connection), and the refusal names the allowed models, never a server path.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from oratio.errors import ConfigError, InvalidInput, ModelUnavailable
from oratio.models.allowed import parse_allowed
from oratio.platform import Platform
from oratio.services._common import update_with_retry
from oratio.store.tables import AGENTS
from schemas import Agent, AgentStatus, Channel, Principal, Scope
from tests.support.mcp import call_as, call_error
from tests.support.platforms import open_test_platform

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
"""


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port the attacks point at; it must never see a connection."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def assert_no_connection(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


def attacks(sock: socket.socket, tmp_path: Path) -> list[str]:
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    existing = tmp_path / "secret.gguf"
    existing.write_bytes(b"GGUF" + b"\0" * 64)
    return [
        f"llamacpp?base_url={url}",
        f"openai:gpt-4o-mini?base_url={url}",
        f"local:{existing}",
        f"local:{tmp_path / 'missing.gguf'}",
        "local:/etc/passwd",
    ]


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-platform-secret")
    allowed = "scripted,quick=scripted?delay=0"
    with open_test_platform(tmp_path / "data", model="scripted", models_allowed=allowed) as opened:
        yield attach_creator(opened)


@pytest.fixture
async def client(platform: Platform) -> AsyncIterator[Client]:
    tenant = platform.tenants.create_tenant("Acme")
    principal = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
    async with Client(build_server(platform, OperatorPrincipal(principal))) as connected:
        yield connected


def spec(**fields: Any) -> dict[str, Any]:
    return {"name": "Desk", "sop": SOP, **fields}


def assert_clean_refusal(message: str, tmp_path: Path) -> None:
    assert "choose one of: quick, scripted" in message
    assert str(tmp_path) not in message and "/etc" not in message and "127.0.0.1" not in message
    assert "sk-platform-secret" not in message


async def test_create_agent_refuses_every_attack_without_touching_the_network(
    client: Client, listener: socket.socket, tmp_path: Path
) -> None:
    messages = [await call_error(client, "create_agent", {"spec": spec(model=m)}) for m in attacks(listener, tmp_path)]
    for message in messages:
        assert_clean_refusal(message, tmp_path)
    # A file that exists and one that does not get the same answer: no path oracle.
    assert messages[2] == messages[3]
    assert_no_connection(listener)
    listed = await client.call_tool("list_agents", {})
    assert listed.structured_content == {"agents": [], "next_cursor": None}


async def test_update_agent_refuses_every_attack_and_the_agent_keeps_its_model(
    client: Client, listener: socket.socket, tmp_path: Path
) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec(model="quick")}, Agent)
    assert agent.status is AgentStatus.ACTIVE
    for model in attacks(listener, tmp_path):
        message = await call_error(client, "update_agent", {"agent_id": agent.id, "change": {"model": model}})
        assert_clean_refusal(message, tmp_path)
    assert_no_connection(listener)
    after = await call_as(client, "get_agent", {"agent_id": agent.id}, Agent)
    assert (after.spec.model, after.status, after.artifact_version) == ("quick", AgentStatus.ACTIVE, 1)


async def test_an_allowed_name_runs_the_spec_the_operator_bound_to_it(client: Client) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec(model="quick")}, Agent)
    assert (agent.status, agent.spec.model) == (AgentStatus.ACTIVE, "quick")


async def test_an_agent_stored_before_the_allow_list_never_reaches_its_address(
    platform: Platform, client: Client, listener: socket.socket
) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec()}, Agent)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"

    def smuggle(stored: Agent) -> Agent:
        return stored.model_copy(update={"spec": stored.spec.model_copy(update={"model": f"llamacpp?base_url={url}"})})

    update_with_retry(platform.backends.store, AGENTS, agent.tenant_id, agent.id, "agent", smuggle)
    with pytest.raises(ModelUnavailable, match="not one the server allows") as refused:
        await platform.engine.turn_async(agent.tenant_id, agent.id, None, "Hello there", Channel.TEXT)
    assert url not in refused.value.message
    assert_no_connection(listener)


def test_the_allow_list_refuses_entries_that_would_show_a_path_or_address() -> None:
    with pytest.raises(ConfigError, match="needs a name"):
        parse_allowed("local:/srv/models/x.gguf", None)
    with pytest.raises(ConfigError, match="needs a name"):
        parse_allowed("llamacpp?base_url=http://llm.internal:8080", None)
    allowed = parse_allowed("big=local:/srv/models/x.gguf,bedrock", None)
    assert allowed.names == ["bedrock", "big"]
    with pytest.raises(InvalidInput) as refused:
        allowed.check("local:/srv/models/x.gguf")
    assert "/srv" not in refused.value.message and refused.value.field == "model"


def test_unset_allows_the_platform_model_and_scripted_only() -> None:
    assert parse_allowed(None, "bedrock").names == ["bedrock", "scripted"]
    assert parse_allowed(None, "ollama:qwen2.5:7b?temperature=0.2").names == ["platform", "scripted"]
    assert parse_allowed(None, None).names == ["scripted"]
