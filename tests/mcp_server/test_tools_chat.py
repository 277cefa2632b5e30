"""chat_with_agent: an admin tests an active agent as a customer would, through the real engine.

The platform here runs the `scripted` demo model (no provider needed): it searches the knowledge
base for questions, hands off when a person is asked for, and ends on goodbye.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.platform import Platform
from oratio.runtime import TurnResult
from oratio.store.tables import SESSIONS
from schemas import Agent, AgentPlan, Channel, Principal, Scope, SessionStatus, SessionWithTranscript
from schemas.sessions import TurnLock
from tests.support.mcp import call_as, call_error, spec

pytestmark = pytest.mark.anyio

REFUNDS = "# Refunds\n\nRefunds are possible within 30 days of purchase with a receipt."
FAILED = "Error executing tool chat_with_agent: "
PLAN = AgentPlan(persona="Acme support", system_prompt="You are Acme's support agent. Answer from the documents.")


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


@pytest.fixture
async def agent(client: Client, platform: Platform) -> Agent:
    document = {"name": "refunds.md", "format": "markdown", "text": REFUNDS}
    created = await call_as(client, "create_agent", {"spec": spec(), "documents": [document]}, Agent)
    return platform.agents.deploy(created.tenant_id, created.id, PLAN)


async def test_an_admin_chats_with_an_agent_and_sees_its_sources(client: Client, acme: Principal, agent: Agent) -> None:
    answer = await call_as(
        client, "chat_with_agent", {"agent_id": agent.id, "message": "How do refunds work?"}, TurnResult
    )

    assert (
        answer.reply == "Refunds are possible within 30 days of purchase with a receipt. (source: refunds.md, Refunds)"
    )
    assert [(s.document_name, s.location) for s in answer.sources] == [("refunds.md", "Refunds")]
    assert (answer.handoff, answer.ended, answer.status) == (False, False, SessionStatus.ACTIVE)

    handed = await call_as(
        client,
        "chat_with_agent",
        {"agent_id": agent.id, "message": "Let me talk to a person", "session_id": answer.session_id},
        TurnResult,
    )

    assert handed.session_id == answer.session_id
    assert (handed.reply, handed.handoff, handed.status) == (
        PLAN.handoff_message,
        True,
        SessionStatus.HANDOFF_REQUESTED,
    )
    transcript = await call_as(client, "get_session", {"session_id": answer.session_id}, SessionWithTranscript)
    assert len(transcript.turns) == 4
    assert (transcript.session.origin, transcript.session.tester) == ("admin_test", acme.subject)
    assert transcript.session.customer == {}


async def test_chat_refuses_what_a_customer_would_be_refused(client: Client, agent: Agent) -> None:
    await call_as(client, "pause_agent", {"agent_id": agent.id}, Agent)

    paused = await call_error(client, "chat_with_agent", {"agent_id": agent.id, "message": "Hi"})
    assert paused == f"{FAILED}invalid_state: agent '{agent.id}' is paused and is not taking conversations"
    empty = await call_error(client, "chat_with_agent", {"agent_id": agent.id, "message": "   "})
    assert empty == f"{FAILED}invalid_input: the message is empty"


async def test_a_real_customers_session_cannot_be_spoken_in(
    client: Client, platform: Platform, acme: Principal, agent: Agent
) -> None:
    customer = await platform.engine.turn_async(acme.tenant_id, agent.id, None, "Refunds?", Channel.TEXT)

    error = await call_error(
        client, "chat_with_agent", {"agent_id": agent.id, "message": "Hi", "session_id": customer.session_id}
    )

    assert error == f"{FAILED}invalid_state: only test sessions started with chat_with_agent can be continued here"


async def test_another_tenant_cannot_chat_with_the_agent(rival: Client, agent: Agent) -> None:
    error = await call_error(rival, "chat_with_agent", {"agent_id": agent.id, "message": "Hi"})

    assert error == f"{FAILED}not_found: agent '{agent.id}' was not found"


async def test_a_read_only_token_cannot_chat(platform: Platform, acme: Principal, agent: Agent) -> None:
    reader = acme.model_copy(update={"scopes": frozenset({Scope.AGENTS_READ, Scope.SESSIONS_READ})})
    async with Client(build_server(platform, OperatorPrincipal(reader))) as connected:
        error = await call_error(connected, "chat_with_agent", {"agent_id": agent.id, "message": "Hi"})

    assert error == f"{FAILED}forbidden: this token lacks the 'agents:write' scope"


async def test_a_sessions_turn_lock_is_in_no_tool_answer_nor_schema(
    client: Client, platform: Platform, acme: Principal, agent: Agent
) -> None:
    """Mid-turn a session holds a lock naming the serving process and the turn's token: internal ids."""
    answer = await call_as(client, "chat_with_agent", {"agent_id": agent.id, "message": "Hello"}, TurnResult)
    store = platform.backends.store
    session = platform.sessions.record(acme.tenant_id, answer.session_id)
    lock = TurnLock(owner="own_replica_internal", token="trn_internal", until=session.last_activity_at)
    store.replace(SESSIONS, session.model_copy(update={"turn_lock": lock}))

    for tool, arguments in [("get_session", {"session_id": answer.session_id}), ("list_sessions", {})]:
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        shown = json.dumps(result.structured_content) + "".join(
            block.text for block in result.content if isinstance(block, TextContent)
        )
        assert answer.session_id in shown
        assert "turn_lock" not in shown and "trn_internal" not in shown and "own_replica_internal" not in shown
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert "turn_lock" not in json.dumps(tools["get_session"].output_schema)
    assert "turn_lock" not in json.dumps(tools["list_sessions"].output_schema)
    stored = platform.sessions.record(acme.tenant_id, answer.session_id)
    assert stored.turn_lock == lock  # the store keeps it: the engine needs it
