"""Test conversations run on the model that will serve customers (issue 15, item 9).

The AgentCreator thinks with the platform's model (the offline scripted creator here); the agent
serves on `down`, an allowed llama.cpp server that refuses connections. The build must fail at the
rehearsal stage with the reason, not go `active` on the strength of the creator's model.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from oratio.platform import Platform
from schemas import Agent, AgentStatus, Principal, Scope
from tests.support.mcp import call_as

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
"""


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: every connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def platform_settings(refused_port: int) -> dict[str, Any]:
    return {"model": "scripted", "models_allowed": f"scripted,down=llamacpp?base_url=http://127.0.0.1:{refused_port}"}


@pytest.fixture
def platform(platform: Platform) -> Platform:
    """The root platform, with the AgentCreator attached."""
    return attach_creator(platform)


async def test_an_agent_whose_own_model_cannot_answer_fails_at_the_rehearsal(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    principal = Principal(tenant_id=tenant.tenant_id, subject="ops", scopes=frozenset({Scope.ADMIN}))
    async with Client(build_server(platform, OperatorPrincipal(principal))) as client:
        agent = await call_as(client, "create_agent", {"spec": {"name": "Desk", "sop": SOP, "model": "down"}}, Agent)
    assert agent.status is AgentStatus.FAILED and agent.artifact_version is None
    assert agent.status_reason is not None and agent.status_reason.startswith("simulate:")
    assert "the model failed" in agent.status_reason
    assert "127.0.0.1" not in agent.status_reason  # the operator's endpoint is not the tenant's business


async def test_an_agent_on_a_working_model_still_goes_live(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    principal = Principal(tenant_id=tenant.tenant_id, subject="ops", scopes=frozenset({Scope.ADMIN}))
    async with Client(build_server(platform, OperatorPrincipal(principal))) as client:
        agent = await call_as(client, "create_agent", {"spec": {"name": "Desk", "sop": SOP}}, Agent)
    assert agent.status is AgentStatus.ACTIVE
