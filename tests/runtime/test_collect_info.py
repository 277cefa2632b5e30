"""collect_info records what the SOP says to collect on the session; unknown fields are refused."""

from __future__ import annotations

import pytest

from oratio.models import CallTool, Say
from schemas import Channel, EventType, ToolName
from tests.support.engine import PLAN, EngineWorld, deployed_agent

pytestmark = pytest.mark.anyio

COLLECTING = PLAN.model_copy(
    update={"tools": [*PLAN.tools, ToolName.COLLECT_INFO], "information_to_collect": ["account number"]}
)


async def test_the_agent_records_a_listed_field_on_the_session(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Collector", COLLECTING)
    world.model.add(CallTool("collect_info", {"name": "Account  Number", "value": " 1234 5678 "}), Say("Thanks!"))

    result = await world.engine().turn_async(world.tenant_id, agent.id, None, "It is 1234 5678", Channel.TEXT)

    session = world.platform.sessions.get(world.principal, result.session_id).session
    assert session.collected == {"account number": "1234 5678"}
    assert result.reply == "Thanks!"
    events = world.platform.backends.events.read(world.tenant_id, limit=200)
    assert any(e.type is EventType.SESSION_COLLECTED and e.subject == result.session_id for e in events)


async def test_a_field_the_plan_does_not_list_is_not_recorded(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Collector", COLLECTING)
    world.model.add(CallTool("collect_info", {"name": "credit card", "value": "4111 1111"}), Say("Okay."))

    result = await world.engine().turn_async(world.tenant_id, agent.id, None, "Take my card", Channel.TEXT)

    assert world.platform.sessions.get(world.principal, result.session_id).session.collected == {}
    tool_result = world.model.prompts[-1].tool_outcomes()
    assert tool_result and "not one of: account number" in tool_result[0].text


async def test_the_tool_is_only_offered_when_the_plan_has_it(world: EngineWorld) -> None:
    world.model.add(Say("Hello."))

    await world.engine().turn_async(world.tenant_id, world.agent.id, None, "Hi", Channel.TEXT)

    assert "collect_info" not in world.model.prompts[0].tool_names
