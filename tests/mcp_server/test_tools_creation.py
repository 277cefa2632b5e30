"""create_agent and update_agent run the AgentCreator with progress; records are readable."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from mcp_server.tools._build import build_thread_name
from mcp_server.tools.agents import CreationRecords
from oratio.platform import Platform
from schemas import Agent, AgentStatus, Document, DocumentStatus, Principal, Scope, StageName
from tests.support.mcp import call_as

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
## Escalation
- Hand off to a human when the customer asks for a manager.
"""


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


@pytest.fixture
def platform(platform: Platform) -> Platform:
    """The root platform, with the AgentCreator attached."""
    return attach_creator(platform)


@pytest.fixture
async def builder_client(platform: Platform) -> AsyncIterator[Client]:
    tenant = platform.tenants.create_tenant("Acme")
    principal = Principal(tenant_id=tenant.tenant_id, subject="operator", scopes=frozenset({Scope.ADMIN}))
    async with Client(build_server(platform, OperatorPrincipal(principal))) as client:
        yield client


SPEC = {"name": "Desk", "sop": SOP, "handoff": {"enabled": True, "conditions": ["the customer asks for a manager"]}}


async def test_create_agent_builds_and_deploys_with_progress_per_stage(builder_client: Client) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    result = await builder_client.call_tool("create_agent", {"spec": SPEC}, progress_callback=on_progress)

    agent = Agent.model_validate(result.structured_content)
    assert (agent.status, agent.artifact_version) == (AgentStatus.ACTIVE, 1)
    messages = [m or "" for _, _, m in updates]
    assert any(m.startswith("review_plan: passed") for m in messages)
    assert updates[-1][0] == updates[-1][1] == len(StageName)
    records = await call_as(builder_client, "get_creation_records", {"agent_id": agent.id}, CreationRecords)
    (record,) = records.records
    assert record.succeeded and len(record.reviews) >= 2 and record.tests


async def test_update_agent_rebuilds_into_a_new_version(builder_client: Client) -> None:
    agent = await call_as(builder_client, "create_agent", {"spec": SPEC}, Agent)

    changed = await call_as(
        builder_client,
        "update_agent",
        {
            "agent_id": agent.id,
            "change": {"sop": SOP.replace("- Always be polite.", "- Always be polite.\n- Never share passwords.")},
        },
        Agent,
    )

    assert (changed.status, changed.artifact_version) == (AgentStatus.ACTIVE, 2)
    records = await call_as(builder_client, "get_creation_records", {"agent_id": agent.id}, CreationRecords)
    assert [r.version for r in records.records] == [1, 2]
    parsed = records.records[1].parsed_sop
    assert parsed is not None and "Never share passwords." in parsed.never_rules


def _join_build(agent_id: str) -> None:
    """Wait (bounded) for the background rebuild thread of this agent, if one is running."""
    for thread in threading.enumerate():
        if thread.name == build_thread_name(agent_id):
            thread.join(timeout=60)
            assert not thread.is_alive(), "the background rebuild did not finish"


async def test_a_new_document_rebuilds_an_active_agent_and_identical_content_does_not(builder_client: Client) -> None:
    agent = await call_as(builder_client, "create_agent", {"spec": SPEC}, Agent)
    document = {"name": "hours.md", "format": "markdown", "text": "# Opening hours\n\nWe are open 9 to 5."}

    await call_as(builder_client, "upload_document", {"agent_id": agent.id, "document": document}, Document)
    await anyio.to_thread.run_sync(_join_build, agent.id)
    again = await call_as(builder_client, "upload_document", {"agent_id": agent.id, "document": document}, Document)
    await anyio.to_thread.run_sync(_join_build, agent.id)

    assert again.status is DocumentStatus.READY
    records = await call_as(builder_client, "get_creation_records", {"agent_id": agent.id}, CreationRecords)
    assert [r.version for r in records.records] == [1, 2]  # the identical re-upload built nothing
    assert records.records[1].succeeded
    rebuilt = await call_as(builder_client, "get_agent", {"agent_id": agent.id}, Agent)
    assert (rebuilt.status, rebuilt.artifact_version) == (AgentStatus.ACTIVE, 2)
