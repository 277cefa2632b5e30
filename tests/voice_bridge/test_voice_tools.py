"""The agent's own tools on voice, over the real WebSocket door, with the confirmation gate.

Cascade: the caller's words go through the text engine, so a write is held, the statement is spoken,
and a spoken "yes" runs it. Nova Sonic (scripted BidiModel): the statement goes to the model to speak,
the caller's transcript is checked, and the model's repeated call runs only if it is exactly the
confirmed one. The tools are served by a real loopback HTTP service through the platform's own
ActionRunner (the settings let it reach 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from oratio.models import CallTool, Say, ScriptedModel, after_tool
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import Agent, AgentSpec, CreateAgent, MintKeyRequest, Role, ToolCallStatus
from tests.support.actions import LOOPBACK_TOOLS, base_url, cancels, plan_with_tools
from tests.support.serving import serving_voice
from tests.support.tool_server import ToolServer, tool_server
from tests.support.worlds import World
from tests.voice_bridge.bidi_double import BidiStep, ScriptedBidiModel
from tests.voice_bridge.client import Heard, voice_client
from tests.voice_bridge.doubles import espeak_speech, silence, speak
from voice_bridge.cascade import CascadeBackend
from voice_bridge.nova_sonic import NovaSonicBackend

pytestmark = pytest.mark.anyio

CANCEL = {"order_id": "A123", "reason": "damaged"}
STATEMENT = (
    "To confirm: I will cancel an order that has not shipped yet with order id A123 and reason damaged. "
    "Shall I go ahead? Please answer yes or no."
)


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def platform_models(model: ScriptedModel) -> ModelFactory:
    return lambda spec: model


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return LOOPBACK_TOOLS


@pytest.fixture
def service() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


def orders_agent(platform: Platform, world: World, service: ToolServer) -> tuple[Agent, str]:
    spec = AgentSpec(name="Orders", sop="Look up and cancel orders when asked.")
    agent = platform.agents.create(world.acme.principal, CreateAgent(spec=spec))
    agent = platform.agents.deploy(world.acme.tenant_id, agent.id, plan_with_tools(base_url(service)))
    key = platform.keys.mint(world.acme.principal, MintKeyRequest(agent_id=agent.id, name="voice"))
    return agent, key.reveal()


async def test_cascade_holds_a_write_speaks_the_statement_and_runs_it_on_a_spoken_yes(
    platform: Platform, world: World, model: ScriptedModel, service: ToolServer
) -> None:
    agent, secret = orders_agent(platform, world, service)
    model.add(
        CallTool("cancel_order", CANCEL), Say("I can do that."), after_tool("cancel_order", lambda t: Say("Done."))
    )
    speech = espeak_speech(["cancel order A123 it is damaged", "yes please"])
    with serving_voice(platform, CascadeBackend(speech, platform.engine)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            session_id = (await client.start(secret))["session_id"]
            await client.send_audio(speak("Cancel order A123, it is damaged.") + silence(1.0))
            await client.until(lambda h: len(h.transcripts("agent")) == 1)
            assert cancels(service) == []  # held: nothing ran yet
            await client.send_audio(speak("Yes please.") + silence(1.0))
            await client.until(lambda h: len(h.transcripts("agent")) == 2)
            await client.end()
            heard = await client.closed()
    assert heard.transcripts("agent")[0] == f"I can do that.\n\n{STATEMENT}"
    assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
    found = platform.sessions.get(world.acme.principal, session_id)
    agent_turns = [t for t in found.turns if t.role is Role.AGENT]
    assert [c.status for c in agent_turns[0].tool_calls] == [ToolCallStatus.AWAITING_CONFIRMATION]
    assert [(c.status, c.confirmed) for c in agent_turns[1].tool_calls] == [(ToolCallStatus.OK, True)]
    assert found.session.pending_action is None


def spoken(n: int, heard: Heard) -> bool:
    return len(heard.transcripts("agent")) >= n


async def nova_call(platform: Platform, agent: Agent, secret: str, model: ScriptedBidiModel, lines: list[str]) -> str:
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            session_id: str = (await client.start(secret))["session_id"]
            for n, line in enumerate(lines, start=1):
                await client.send_audio(speak(line) + silence(0.6))
                await client.until(partial(spoken, n))
            await client.end()
            await client.closed()
    return session_id


async def test_nova_sonic_runs_a_write_only_when_the_caller_confirmed_exactly_that_call(
    platform: Platform, world: World, service: ToolServer
) -> None:
    agent, secret = orders_agent(platform, world, service)
    model = ScriptedBidiModel(
        [
            BidiStep(heard="Cancel order A123, it is damaged", tool="cancel_order", tool_input=CANCEL, say=STATEMENT),
            BidiStep(heard="Yes please", tool="cancel_order", tool_input=CANCEL, say="It is cancelled."),
        ]
    )
    session_id = await nova_call(platform, agent, secret, model, ["Cancel order A123, it is damaged.", "Yes please."])
    assert "cancel_order" in model.started_with["tools"]
    held, ran = model.tool_results
    assert '"awaiting_confirmation"' in held.content[0]["text"] and STATEMENT in held.content[0]["text"]
    assert '"cancelled": true' in ran.content[0]["text"]
    assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
    found = platform.sessions.get(world.acme.principal, session_id)
    calls = [c for t in found.turns for c in t.tool_calls]
    assert [(c.status, c.confirmed) for c in calls] == [
        (ToolCallStatus.AWAITING_CONFIRMATION, False),
        (ToolCallStatus.OK, True),
    ]
    assert found.session.pending_action is None


async def test_nova_sonic_never_runs_a_write_the_caller_did_not_confirm(
    platform: Platform, world: World, service: ToolServer
) -> None:
    agent, secret = orders_agent(platform, world, service)
    other = {"order_id": "B456", "reason": "damaged"}
    model = ScriptedBidiModel(
        [
            BidiStep(heard="Cancel order A123", tool="cancel_order", tool_input=CANCEL, say=STATEMENT),
            # The caller says no; the model calls it anyway: held again, not run.
            BidiStep(heard="No", tool="cancel_order", tool_input=CANCEL, say="Shall I?"),
            # The caller says yes, the model calls with other arguments: a new confirmation, not run.
            BidiStep(heard="Yes", tool="cancel_order", tool_input=other, say="For B456?"),
        ]
    )
    session_id = await nova_call(platform, agent, secret, model, ["Cancel order A123.", "No.", "Yes."])
    assert cancels(service) == []
    found = platform.sessions.get(world.acme.principal, session_id)
    statuses = [c.status for t in found.turns for c in t.tool_calls]
    assert ToolCallStatus.DECLINED in statuses and ToolCallStatus.OK not in statuses
    # The last proposal is held on the session, for the caller's next words (or the next call).
    assert found.session.pending_action is not None and found.session.pending_action.arguments == other


async def test_nova_sonic_runs_a_confirmed_write_once_when_the_tool_call_follows_the_yes_at_once(
    platform: Platform, world: World, service: ToolServer
) -> None:
    """The model's repeated call comes straight after the caller's "yes", with no event between them, so strands
    starts the tool while the bridge is still storing that transcript: the call waits for the gate to hear the
    yes (it ran zero times before: held again, then lost). Asked once more in a later turn, it does not run again."""
    agent, secret = orders_agent(platform, world, service)
    model = ScriptedBidiModel(
        [
            BidiStep(heard="Cancel order A123, it is damaged", tool="cancel_order", tool_input=CANCEL, say=STATEMENT),
            BidiStep(
                heard="Yes please", tool="cancel_order", tool_input=CANCEL, say="It is cancelled.", response_start=False
            ),
            BidiStep(heard="Did it work", tool="cancel_order", tool_input=CANCEL, say="Shall I?", response_start=False),
        ]
    )
    lines = ["Cancel order A123, it is damaged.", "Yes please.", "Did it work?"]
    session_id = await nova_call(platform, agent, secret, model, lines)
    assert cancels(service) == [("/orders/A123/cancel", {"reason": "damaged"})]
    held, ran, again = model.tool_results
    assert '"cancelled": true' in ran.content[0]["text"]
    assert '"awaiting_confirmation"' in again.content[0]["text"]  # a new proposal, not a second run
    found = platform.sessions.get(world.acme.principal, session_id)
    calls = [c for t in found.turns for c in t.tool_calls]
    assert [(c.status, c.confirmed) for c in calls] == [
        (ToolCallStatus.AWAITING_CONFIRMATION, False),
        (ToolCallStatus.OK, True),
        (ToolCallStatus.AWAITING_CONFIRMATION, False),
    ]
