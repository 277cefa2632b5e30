"""Handoff (by a plan rule, checked before the model, or by the model's tool) and ending the session."""

from __future__ import annotations

import pytest

from oratio.errors import InvalidState
from oratio.models import CallTool, Say
from schemas import AgentSpec, Channel, CreateAgent, EventType, HandoffConfig, NotificationType, Role, SessionStatus
from tests.support.engine import PLAN, SOP, EngineWorld

pytestmark = pytest.mark.anyio


async def test_a_handoff_rule_hands_off_before_the_model_is_asked(world: EngineWorld) -> None:
    engine = world.engine()

    result = await engine.turn_async(
        world.tenant_id, world.agent.id, None, "Fix this or I'll call my LAWYER.", Channel.TEXT
    )

    assert result.reply == PLAN.handoff_message
    assert (result.handoff, result.ended, result.status) == (True, False, SessionStatus.HANDOFF_REQUESTED)
    assert world.handoffs.calls == [
        (world.tenant_id, result.session_id, "handoff rule 'legal': Legal threats go to a person")
    ]
    assert world.model.prompts == []  # the rule decided; no model call was spent
    transcript = world.platform.sessions.get(world.principal, result.session_id)
    assert transcript.session.status is SessionStatus.HANDOFF_REQUESTED
    assert [(t.role, t.text) for t in transcript.turns] == [
        (Role.CUSTOMER, "Fix this or I'll call my LAWYER."),
        (Role.AGENT, PLAN.handoff_message),
    ]
    [alert] = world.platform.notifications.list(world.principal).items
    assert (alert.type, alert.session_id) == (NotificationType.HANDOFF, result.session_id)


async def test_a_keyword_rule_needs_the_whole_word(world: EngineWorld) -> None:
    world.model.add(Say("Happy to help."))

    result = await world.engine().turn_async(
        world.tenant_id, world.agent.id, None, "My lawyers-to-be friend says hi", Channel.TEXT
    )

    assert result.handoff is False and world.handoffs.calls == []


async def test_the_model_can_hand_off_with_its_tool(world: EngineWorld) -> None:
    world.model.add(
        CallTool("request_handoff", {"reason": "customer wants an exception to the refund policy"}, text="One moment.")
    )

    result = await world.engine().turn_async(world.tenant_id, world.agent.id, None, "I want an exception", Channel.TEXT)

    assert result.reply == f"One moment.\n\n{PLAN.handoff_message}"
    assert (result.handoff, result.status) == (True, SessionStatus.HANDOFF_REQUESTED)
    assert world.handoffs.calls == [
        (world.tenant_id, result.session_id, "customer wants an exception to the refund policy")
    ]
    assert len(world.model.prompts) == 1  # the loop stopped after the tool: the plan wrote the reply
    session = world.platform.sessions.get(world.principal, result.session_id).session
    assert session.status is SessionStatus.HANDOFF_REQUESTED


async def test_after_a_handoff_an_agent_that_does_not_pause_keeps_helping_and_people_are_not_alerted_again(
    world: EngineWorld,
) -> None:
    # pause_on_handoff (the default) keeps the agent quiet instead: tests/runtime/test_handoff_pause.py
    spec = AgentSpec(name="Chatty", sop=SOP, handoff=HandoffConfig(pause_on_handoff=False))
    agent = world.platform.agents.create(world.principal, CreateAgent(spec=spec))
    agent_id = world.platform.agents.deploy(world.tenant_id, agent.id, PLAN).id
    engine = world.engine()
    first = await engine.turn_async(world.tenant_id, agent_id, None, "Talk to my lawyer", Channel.TEXT)
    world.model.add(Say("While you wait: refunds take 30 days."), CallTool("request_handoff", {"reason": "again"}))

    waiting = await engine.turn_async(world.tenant_id, agent_id, first.session_id, "Refunds?", Channel.TEXT)
    again = await engine.turn_async(world.tenant_id, agent_id, first.session_id, "Hurry up", Channel.TEXT)

    assert waiting.reply == "While you wait: refunds take 30 days." and waiting.handoff is True
    assert "already been asked to take over" in (world.model.prompts[0].system_prompt or "")
    assert again.reply == PLAN.handoff_message and again.status is SessionStatus.HANDOFF_REQUESTED
    assert len(world.handoffs.calls) == 1
    assert len(world.platform.notifications.list(world.principal).items) == 1


async def test_end_session_completes_the_session_with_the_closing_message(world: EngineWorld) -> None:
    world.model.add(CallTool("end_session", {}))
    engine = world.engine()

    result = await engine.turn_async(world.tenant_id, world.agent.id, None, "Thanks, bye!", Channel.TEXT)

    assert result.reply == PLAN.closing_message
    assert (result.ended, result.handoff, result.status) == (True, False, SessionStatus.COMPLETED)
    session = world.platform.sessions.get(world.principal, result.session_id).session
    assert (session.status, session.end_reason) == (SessionStatus.COMPLETED, "ended by the agent")
    statuses = [e.data["status"] for e in world.events() if e.type is EventType.SESSION_STATUS]
    assert statuses == ["completed"]
    with pytest.raises(InvalidState, match="has ended"):
        await engine.turn_async(world.tenant_id, world.agent.id, result.session_id, "one more thing", Channel.TEXT)
