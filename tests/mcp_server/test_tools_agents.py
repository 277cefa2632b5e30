"""Agent tools through a real MCP client: create (with documents and progress), read, list, change, delete."""

from __future__ import annotations

import base64

import pytest
from mcp import Client

from mcp_server.models import Deleted
from mcp_server.tools.agents import AgentList
from mcp_server.tools.documents import DocumentList
from oratio.platform import Platform
from schemas import Agent, AgentStatus, DocumentFormat, Principal
from tests.support.mcp import call, call_as, call_error, spec
from tests.support.tenants import SOP

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
POLICY = "# Refunds\n\nRefunds are paid within 14 days.\n"


async def create(client: Client, name: str = "Support") -> Agent:
    return await call_as(client, "create_agent", {"spec": spec(name)}, Agent)


async def test_create_agent_stores_the_agent_and_its_documents(
    client: Client, platform: Platform, acme: Principal
) -> None:
    documents = [
        {"name": "refunds.md", "format": "markdown", "text": POLICY},
        {"name": "terms.pdf", "format": "pdf", "base64": base64.b64encode(PDF).decode()},
    ]

    agent = await call_as(
        client, "create_agent", {"spec": spec("Support", description="Answers refunds"), "documents": documents}, Agent
    )

    assert (agent.name, agent.spec.sop, agent.spec.description, agent.status) == (
        "Support",
        SOP,
        "Answers refunds",
        AgentStatus.CREATING,
    )
    assert agent.id.startswith("agt_")
    listed = await call_as(client, "list_documents", {"agent_id": agent.id}, DocumentList)
    by_name = {d.name: d for d in listed.documents}
    assert sorted(by_name) == ["refunds.md", "terms.pdf"]
    assert (by_name["terms.pdf"].format, by_name["terms.pdf"].size_bytes) == (DocumentFormat.PDF, len(PDF))
    assert by_name["refunds.md"].format is DocumentFormat.MARKDOWN
    assert agent.tenant_id == acme.tenant_id
    assert platform.documents.read_content(acme, by_name["terms.pdf"].id) == PDF
    assert platform.documents.read_content(acme, by_name["refunds.md"].id) == POLICY.encode()


async def test_create_agent_reports_progress(client: Client) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    documents = [{"name": "a.md", "format": "markdown", "text": POLICY}]
    result = await client.call_tool(
        "create_agent", {"spec": spec(), "documents": documents}, progress_callback=on_progress
    )

    assert not result.is_error
    agent = Agent.model_validate(result.structured_content)
    # This server has no AgentCreator attached (no model configured): it says so and stops.
    assert [(p, t) for p, t, _ in updates] == [(0, 6), (6, 6)]
    messages = [m or "" for _, _, m in updates]
    assert agent.id in messages[0] and "1 document(s)" in messages[0]
    assert "no model is configured on the server" in messages[1]
    assert agent.status is AgentStatus.CREATING


async def test_create_agent_without_waiting_returns_the_creating_agent(client: Client) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec(), "wait": False}, Agent)

    assert agent.status is AgentStatus.CREATING
    assert await call_as(client, "get_agent", {"agent_id": agent.id}, Agent) == agent


async def test_create_agent_refuses_invalid_base64_and_stores_nothing(client: Client) -> None:
    documents = [
        {"name": "ok.md", "format": "markdown", "text": POLICY},
        {"name": "broken.pdf", "format": "pdf", "base64": "not base64 at all!"},
    ]

    text = await call_error(client, "create_agent", {"spec": spec(), "documents": documents})

    assert "invalid_input" in text and "broken.pdf" in text and "base64" in text
    assert (await call_as(client, "list_agents", {}, AgentList)).agents == []


async def test_create_agent_refuses_a_document_with_both_text_and_base64(client: Client) -> None:
    documents = [{"name": "a.md", "format": "markdown", "text": "x", "base64": "eA=="}]

    text = await call_error(client, "create_agent", {"spec": spec(), "documents": documents})

    assert "exactly one of 'text' or 'base64'" in text
    assert (await call_as(client, "list_agents", {}, AgentList)).agents == []


async def test_create_agent_refuses_too_many_documents_with_a_useful_message(client: Client) -> None:
    documents = [{"name": f"d{i}.md", "format": "markdown", "text": "hi"} for i in range(201)]

    text = await call_error(client, "create_agent", {"spec": spec(), "documents": documents})

    assert "documents" in text


async def test_create_agent_refuses_a_duplicate_name(client: Client) -> None:
    first = await create(client, "Support Desk")

    text = await call_error(client, "create_agent", {"spec": spec("support desk")})

    assert text.startswith("Error executing tool create_agent: conflict:")
    assert "'support desk'" in text
    assert [a.id for a in (await call_as(client, "list_agents", {}, AgentList)).agents] == [first.id]


async def test_create_agent_refuses_an_invalid_spec(client: Client) -> None:
    text = await call_error(client, "create_agent", {"spec": {"name": "Support", "sop": "too short"}})

    assert "sop" in text
    assert (await call_as(client, "list_agents", {}, AgentList)).agents == []


async def test_get_agent(client: Client) -> None:
    agent = await create(client)

    assert await call_as(client, "get_agent", {"agent_id": agent.id}, Agent) == agent
    missing = "agt_01aaaaaaaaaaaaaaaaaaaaaaaa"
    assert await call_error(client, "get_agent", {"agent_id": missing}) == (
        f"Error executing tool get_agent: not_found: agent '{missing}' was not found"
    )


async def test_get_agent_refuses_a_malformed_id(client: Client) -> None:
    text = await call_error(client, "get_agent", {"agent_id": "Robert'); DROP TABLE agents;--"})

    assert "agent_id" in text


async def test_list_agents_pages_oldest_first_and_filters_by_status(client: Client, platform: Platform) -> None:
    agents = [await create(client, name) for name in ("One", "Two", "Three")]
    platform.agents.transition(agents[1].tenant_id, agents[1].id, AgentStatus.ACTIVE, reason=None)

    first = await call_as(client, "list_agents", {"limit": 2}, AgentList)
    second = await call_as(client, "list_agents", {"limit": 2, "cursor": first.next_cursor}, AgentList)
    active = await call_as(client, "list_agents", {"status": "active"}, AgentList)
    creating = await call_as(client, "list_agents", {"status": "creating"}, AgentList)

    assert [a.name for a in first.agents] == ["One", "Two"]
    assert first.next_cursor is not None
    assert ([a.name for a in second.agents], second.next_cursor) == (["Three"], None)
    assert [(a.name, a.status) for a in active.agents] == [("Two", AgentStatus.ACTIVE)]
    assert [a.name for a in creating.agents] == ["One", "Three"]


async def test_list_agents_refuses_a_limit_out_of_range_and_a_foreign_cursor(client: Client) -> None:
    assert "limit" in await call_error(client, "list_agents", {"limit": 0})
    assert "limit" in await call_error(client, "list_agents", {"limit": 201})
    assert "invalid_input" in await call_error(client, "list_agents", {"cursor": "garbage"})


async def test_update_agent_changes_only_the_given_fields(client: Client) -> None:
    agent = await create(client)
    new_sop = "Answer billing questions only, and hand off anything else to a person."

    updated = await call_as(
        client, "update_agent", {"agent_id": agent.id, "change": {"sop": new_sop, "text": {"greeting": "Hi"}}}, Agent
    )

    assert (updated.spec.sop, updated.spec.text.greeting) == (new_sop, "Hi")
    assert (updated.name, updated.spec.voice, updated.status) == (agent.name, agent.spec.voice, agent.status)
    assert updated.version == agent.version + 1
    assert await call_as(client, "get_agent", {"agent_id": agent.id}, Agent) == updated


async def test_update_agent_refuses_an_empty_change_a_name_change_and_an_unknown_agent(client: Client) -> None:
    agent = await create(client)

    assert "invalid_input: nothing to update" in await call_error(
        client, "update_agent", {"agent_id": agent.id, "change": {}}
    )
    assert "name" in await call_error(client, "update_agent", {"agent_id": agent.id, "change": {"name": "Other"}})
    assert "not_found" in await call_error(
        client, "update_agent", {"agent_id": "agt_01aaaaaaaaaaaaaaaaaaaaaaaa", "change": {"description": "x"}}
    )
    assert await call_as(client, "get_agent", {"agent_id": agent.id}, Agent) == agent


async def test_pause_and_resume(client: Client, platform: Platform) -> None:
    agent = await create(client)

    refused = await call_error(client, "pause_agent", {"agent_id": agent.id})
    assert refused == (
        f"Error executing tool pause_agent: invalid_state: agent '{agent.id}' is creating and cannot become paused"
    )
    assert "invalid_state" in await call_error(client, "resume_agent", {"agent_id": agent.id})

    platform.agents.transition(agent.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    paused = await call_as(client, "pause_agent", {"agent_id": agent.id}, Agent)
    assert (paused.status, paused.status_reason) == (AgentStatus.PAUSED, "paused by an admin")
    resumed = await call_as(client, "resume_agent", {"agent_id": agent.id}, Agent)
    assert (resumed.status, resumed.status_reason) == (AgentStatus.ACTIVE, None)
    assert "only a paused agent can be resumed" in await call_error(client, "resume_agent", {"agent_id": agent.id})


async def test_delete_agent_removes_it_with_its_documents_and_keys(client: Client) -> None:
    documents = [{"name": "a.md", "format": "markdown", "text": POLICY}]
    agent = await call_as(client, "create_agent", {"spec": spec(), "documents": documents}, Agent)
    [document] = (await call(client, "list_documents", {"agent_id": agent.id}))["documents"]
    await call(client, "mint_api_key", {"agent_id": agent.id, "name": "widget"})

    deleted = await call_as(client, "delete_agent", {"agent_id": agent.id}, Deleted)

    assert deleted == Deleted(id=agent.id, deleted=True)
    assert "not_found" in await call_error(client, "get_agent", {"agent_id": agent.id})
    assert "not_found" in await call_error(client, "get_document", {"document_id": document["id"]})
    assert (await call(client, "list_api_keys", {"agent_id": agent.id}))["keys"] == []
    assert (await call(client, "list_api_keys"))["keys"] == []
    assert "not_found" in await call_error(client, "delete_agent", {"agent_id": agent.id})
    # The name is free again.
    assert (await create(client)).id != agent.id
