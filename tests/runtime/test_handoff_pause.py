"""Pause on handoff: while a person has the conversation, the agent stays quiet and no model runs.

The customer's turns are stored for the person; while nobody has taken over, the plan's handoff message
is said at most once per `reminder_every` turns, and never once a person has the conversation; after
`return_to_agent` the agent replies again with the whole transcript.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio.models import Say, ScriptedModel
from oratio.platform import Platform
from schemas import AgentSpec, Channel, CreateAgent, HandoffConfig, HandoffState, Role, SessionStatus
from tests.support.engine import PLAN, SOP, EngineWorld, engine_over, new_engine_world
from tests.support.platforms import open_test_platform

pytestmark = pytest.mark.anyio


async def _handed_off(world: EngineWorld) -> str:
    first = await world.engine().turn_async(world.tenant_id, world.agent.id, None, "Get me a lawyer", Channel.TEXT)
    assert first.status is SessionStatus.HANDOFF_REQUESTED
    return first.session_id


def _turns(world: EngineWorld, session_id: str) -> list[tuple[Role, str]]:
    return [(t.role, t.text) for t in world.platform.sessions.get(world.principal, session_id).turns]


async def test_after_a_handoff_the_agent_does_not_reply_and_no_model_runs(world: EngineWorld) -> None:
    session_id = await _handed_off(world)
    engine = world.engine()

    said = [
        await engine.turn_async(world.tenant_id, world.agent.id, session_id, text, Channel.TEXT)
        for text in ("Hello? Is anyone there?", "Still waiting", "Hello??", "Anyone?")
    ]

    assert world.model.prompts == []  # the rule handed off, and nothing since asked a model
    assert [r.reply for r in said] == ["", "", PLAN.handoff_message, ""]  # once per 3 turns
    assert all(r.paused and r.handoff and r.status is SessionStatus.HANDOFF_REQUESTED for r in said)
    assert _turns(world, session_id) == [
        (Role.CUSTOMER, "Get me a lawyer"),
        (Role.AGENT, PLAN.handoff_message),
        (Role.CUSTOMER, "Hello? Is anyone there?"),
        (Role.CUSTOMER, "Still waiting"),
        (Role.CUSTOMER, "Hello??"),
        (Role.AGENT, PLAN.handoff_message),
        (Role.CUSTOMER, "Anyone?"),
    ]


async def test_a_session_taken_over_at_will_never_hears_the_handoff_message(world: EngineWorld) -> None:
    world.model.add(Say("Refunds take 30 days."))
    engine = world.engine()
    first = await engine.turn_async(world.tenant_id, world.agent.id, None, "Refunds?", Channel.TEXT)
    session_id = first.session_id
    world.platform.handoff.take_over(world.principal, session_id)  # no handoff was requested

    said = [
        await engine.turn_async(world.tenant_id, world.agent.id, session_id, text, Channel.TEXT)
        for text in ("And then?", "Hello?", "Anyone?", "Still there?")
    ]

    assert [r.reply for r in said] == ["", "", "", ""]  # a person has it: no canned agent line, ever
    assert all(r.paused for r in said) and len(world.model.prompts) == 1
    who = world.principal.subject
    assert _turns(world, session_id) == [
        (Role.CUSTOMER, "Refunds?"),
        (Role.AGENT, "Refunds take 30 days."),
        (Role.SYSTEM, f"Handoff taken over by {who}."),
        (Role.CUSTOMER, "And then?"),
        (Role.CUSTOMER, "Hello?"),
        (Role.CUSTOMER, "Anyone?"),
        (Role.CUSTOMER, "Still there?"),
    ]


async def test_a_requested_handoff_once_taken_over_stops_the_reminders(world: EngineWorld) -> None:
    session_id = await _handed_off(world)  # the agent said the handoff message
    engine = world.engine()
    waiting = [
        await engine.turn_async(world.tenant_id, world.agent.id, session_id, text, Channel.TEXT)
        for text in ("Hello?", "Still waiting")
    ]
    world.platform.handoff.take_over(world.principal, session_id)

    taken = [
        await engine.turn_async(world.tenant_id, world.agent.id, session_id, text, Channel.TEXT)
        for text in ("Hi?", "Are you a person?", "Hello??", "Well?")
    ]

    assert [r.reply for r in waiting] == ["", ""]
    assert [r.reply for r in taken] == ["", "", "", ""]  # the reminder was due at "Hi?": a person has it now
    assert all(r.paused for r in [*waiting, *taken]) and world.model.prompts == []
    assert [role for role, _ in _turns(world, session_id)].count(Role.AGENT) == 1


async def test_after_return_the_agent_replies_with_the_paused_turns_in_its_history(world: EngineWorld) -> None:
    session_id = await _handed_off(world)
    engine = world.engine()
    await engine.turn_async(world.tenant_id, world.agent.id, session_id, "My order is 42", Channel.TEXT)
    world.platform.handoff.take_over(world.principal, session_id)
    await engine.turn_async(world.tenant_id, world.agent.id, session_id, "Are you a person?", Channel.TEXT)
    returned = world.platform.handoff.return_to_agent(world.principal, session_id)
    assert returned.status is SessionStatus.ACTIVE and returned.handoff is not None
    assert returned.handoff.state is HandoffState.RETURNED
    world.model.add(Say("Order 42 is on its way."))

    after = await world.engine().turn_async(world.tenant_id, world.agent.id, session_id, "So?", Channel.TEXT)

    assert (after.reply, after.paused, after.status) == ("Order 42 is on its way.", False, SessionStatus.ACTIVE)
    [prompt] = world.model.prompts
    seen = str(prompt.messages)
    assert "My order is 42" in seen and "Are you a person?" in seen and "So?" in seen


async def test_an_agent_that_does_not_pause_keeps_helping_until_a_person_takes_over(
    world: EngineWorld, platform: Platform
) -> None:
    spec = AgentSpec(name="Chatty", sop=SOP, handoff=HandoffConfig(pause_on_handoff=False))
    agent = platform.agents.create(world.principal, CreateAgent(spec=spec))
    agent = platform.agents.deploy(world.tenant_id, agent.id, PLAN)
    engine = engine_over(platform, lambda spec: world.model, world.handoffs)
    first = await engine.turn_async(world.tenant_id, agent.id, None, "Get me a lawyer", Channel.TEXT)
    world.model.add(Say("While you wait: refunds take 30 days."))

    waiting = await engine.turn_async(world.tenant_id, agent.id, first.session_id, "Refunds?", Channel.TEXT)
    platform.handoff.take_over(world.principal, first.session_id)
    taken = await engine.turn_async(world.tenant_id, agent.id, first.session_id, "Hello?", Channel.TEXT)

    assert waiting.reply == "While you wait: refunds take 30 days." and not waiting.paused
    assert taken.paused and len(world.model.prompts) == 1


async def test_no_customer_turn_is_lost_or_answered_twice_across_take_over_restart_and_return(
    tmp_path: Path,
) -> None:
    model = ScriptedModel()
    with open_test_platform(tmp_path, models=lambda spec: model) as before:
        world = new_engine_world(before)
        world.model = model
        engine = world.engine()
        first = await engine.turn_async(world.tenant_id, world.agent.id, None, "Get me a lawyer", Channel.TEXT)
        session_id = first.session_id
        before.handoff.take_over(world.principal, session_id)
        await engine.turn_async(world.tenant_id, world.agent.id, session_id, "Are you there?", Channel.TEXT)

    with open_test_platform(tmp_path, models=lambda spec: model) as after:  # the server restarted
        engine = engine_over(after, lambda spec: model)
        during = await engine.turn_async(world.tenant_id, world.agent.id, session_id, "Order 42", Channel.TEXT)
        after.handoff.return_to_agent(world.principal, session_id)
        model.add(Say("Order 42 ships today."))
        back = await engine.turn_async(world.tenant_id, world.agent.id, session_id, "Well?", Channel.TEXT)
        turns = after.sessions.get(world.principal, session_id).turns

    assert during.paused and during.reply == "" and not back.paused
    who = world.principal.subject
    assert [(t.role, t.text) for t in turns] == [
        (Role.CUSTOMER, "Get me a lawyer"),
        (Role.AGENT, PLAN.handoff_message),
        (Role.SYSTEM, f"Handoff taken over by {who}."),
        (Role.CUSTOMER, "Are you there?"),
        (Role.CUSTOMER, "Order 42"),
        (Role.SYSTEM, f"Handoff returned to the agent by {who}."),
        (Role.CUSTOMER, "Well?"),
        (Role.AGENT, "Order 42 ships today."),
    ]
    assert [t.seq for t in turns] == list(range(1, 9))
    [prompt] = model.prompts  # one model run, after the return, that saw every paused turn
    assert "Are you there?" in str(prompt.messages) and "Order 42" in str(prompt.messages)
