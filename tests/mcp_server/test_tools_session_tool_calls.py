"""`get_session` returns each agent turn's tool calls, as stored (issue 18, item 7)."""

from __future__ import annotations

import pytest
from mcp import Client

from oratio.platform import Platform
from schemas import Channel, Principal, Role, SessionWithTranscript
from schemas.tools import ToolCallStatus
from tests.support.mcp import call_as
from tests.support.tenants import Tenancy, new_agent
from tests.support.tool_calls import call, store_agent_turn

pytestmark = pytest.mark.anyio


async def test_get_session_returns_the_tool_calls_of_agent_turns(
    client: Client, rival: Client, platform: Platform, acme: Principal
) -> None:
    admin = platform.tenants.get_admin(acme.tenant_id, acme.subject)
    agent = new_agent(platform, Tenancy(admin=admin, principal=acme), "Orders")
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "Cancel order A123")
    held = call(
        "call_9",
        "cancel_order",
        ToolCallStatus.AWAITING_CONFIRMATION,
        arguments={"order_id": "A123"},
        write=True,
        summary="waiting for the customer's yes",
    )
    store_agent_turn(platform, acme.tenant_id, session.id, [held], "To confirm: I will cancel order A123.")

    shown = await call_as(client, "get_session", {"session_id": session.id}, SessionWithTranscript)

    [customer, agent_turn] = shown.turns
    assert customer.tool_calls == []
    assert agent_turn.tool_calls == [held]
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert "tools it called" in (listed["get_session"].description or "")
    assert (await rival.call_tool("get_session", {"session_id": session.id})).is_error
