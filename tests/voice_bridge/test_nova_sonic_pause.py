"""Nova Sonic pauses on handoff: the handoff message is spoken, the agent goes quiet, and speaks again on return.

The bridge, `BidiAgent`, the platform's tools and handoff service are real; only the speech model is
scripted (`ScriptedBidiModel`), and a person's moves (take over, return, close) go through
`HandoffService` as the dashboard and MCP make them. Events reach the bridge in order, so once the
caller hears a later reply, everything the model said before it has been dealt with: a reply that
should have been dropped and was not would be in the transcript.
"""

from __future__ import annotations

import anyio.to_thread
import pytest

from oratio.platform import Platform
from schemas import (
    Agent,
    AgentSpec,
    Channel,
    CreateAgent,
    HandoffConfig,
    HandoffRule,
    HandoffState,
    MintKeyRequest,
    Principal,
    Role,
    SessionStatus,
)
from tests.support.serving import serving_voice
from tests.support.tenants import PLAN, SOP, new_tenancy
from tests.support.worlds import World
from tests.voice_bridge.bidi_double import BidiStep, ScriptedBidiModel
from tests.voice_bridge.client import Heard, VoiceClient, voice_client
from tests.voice_bridge.doubles import silence, speak
from voice_bridge.nova_sonic import NovaSonicBackend

pytestmark = pytest.mark.anyio

HANDOFF_MESSAGE = PLAN.handoff_message
HUMAN_TOOL = BidiStep(heard="Get me a human", tool="request_handoff", tool_input={"reason": "asked for a human"})


async def say(client: VoiceClient, words: str) -> None:
    await client.send_audio(speak(words) + silence(0.6))


def agent_said(heard: Heard, text: str, replies: int = 1) -> bool:
    """The agent said `text`, and the audio of `replies` replies has been played out."""
    return text in heard.transcripts("agent") and len(heard.of_type("agent_audio_end")) >= replies


def turns(platform: Platform, world: World, session_id: str) -> list[tuple[Role, str]]:
    """Who said what (the handoff's lifecycle notes, system turns, left out)."""
    found = platform.sessions.get(world.acme.principal, session_id).turns
    return [(t.role, t.text) for t in found if t.role is not Role.SYSTEM]


async def test_the_handoff_tool_speaks_the_message_then_the_agent_is_quiet_until_returned(
    platform: Platform, world: World
) -> None:
    model = ScriptedBidiModel(
        [
            HUMAN_TOOL,
            BidiStep(heard="Hello? Is anyone there?", say="Here is the outage checklist."),
            BidiStep(heard="Are you back?", say="Yes, I can help again."),
        ]
    )
    principal = world.acme.principal
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await say(client, "Get me a human.")
            await client.until(lambda h: agent_said(h, HANDOFF_MESSAGE))
            # The model was told to say the plan's handoff message, on a new connection.
            assert model.instructions[-1].splitlines()[-1] == HANDOFF_MESSAGE
            assert model.connections == 2

            await anyio.to_thread.run_sync(lambda: platform.handoff.take_over(principal, session_id))
            await say(client, "Hello? Is anyone there?")
            await client.until(lambda h: "Hello? Is anyone there?" in h.transcripts("customer"))
            await anyio.to_thread.run_sync(lambda: platform.handoff.say(principal, session_id, "Hi, I'm Dana."))
            await anyio.to_thread.run_sync(lambda: platform.handoff.return_to_agent(principal, session_id))

            await say(client, "Are you back?")
            await client.until(lambda h: agent_said(h, "Yes, I can help again.", replies=2))
            await client.end()
            heard = await client.closed()

    assert heard.of_type("handoff")[0]["reason"] == "asked for a human"
    # The reply made while a person had the call was neither played nor shown nor stored.
    assert heard.transcripts("agent") == [HANDOFF_MESSAGE, "Yes, I can help again."]
    assert len(heard.of_type("agent_audio_start")) == 2
    assert turns(platform, world, session_id) == [
        (Role.CUSTOMER, "Get me a human"),
        (Role.AGENT, HANDOFF_MESSAGE),
        (Role.CUSTOMER, "Hello? Is anyone there?"),
        (Role.HUMAN, "Hi, I'm Dana."),
        (Role.CUSTOMER, "Are you back?"),
        (Role.AGENT, "Yes, I can help again."),
    ]


async def test_a_handoff_rule_drops_the_reply_being_composed_and_speaks_the_message(
    platform: Platform, world: World
) -> None:
    rule = HandoffRule(id="legal", description="The customer mentions a lawyer", kind="keywords", patterns=["lawyer"])
    platform.agents.deploy(world.acme.tenant_id, world.agent.id, PLAN.model_copy(update={"handoff_rules": [rule]}))
    model = ScriptedBidiModel(
        [
            BidiStep(heard="I will call my lawyer", say="Let me explain our legal terms."),
            BidiStep(heard="Hello?", say="Our legal terms say..."),
        ]
    )
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await say(client, "I will call my lawyer.")
            await client.until(lambda h: agent_said(h, HANDOFF_MESSAGE))
            await say(client, "Hello?")
            await client.until(lambda h: "Hello?" in h.transcripts("customer"))
            # A person closes the conversation: the call follows the session's events and ends (nothing more
            # is stored). (Before the takeover followed events, the caller's next words ended it: a race now.)
            await anyio.to_thread.run_sync(lambda: platform.handoff.take_over(world.acme.principal, session_id))
            await anyio.to_thread.run_sync(lambda: platform.handoff.close_session(world.acme.principal, session_id))
            heard = await client.closed()

    assert heard.of_type("handoff")[0]["reason"].startswith("handoff rule 'legal'")
    assert heard.transcripts("agent") == [HANDOFF_MESSAGE]
    assert (heard.close_code, heard.close_reason) == (1000, "a person closed the conversation")
    assert turns(platform, world, session_id) == [
        (Role.CUSTOMER, "I will call my lawyer"),
        (Role.AGENT, HANDOFF_MESSAGE),
        (Role.CUSTOMER, "Hello?"),
    ]
    session = platform.sessions.get(world.acme.principal, session_id).session
    assert session.status is SessionStatus.COMPLETED
    assert session.handoff is not None and session.handoff.state is HandoffState.CLOSED


async def test_a_person_taking_over_at_will_silences_the_agent_and_its_tools_without_the_handoff_message(
    platform: Platform, world: World
) -> None:
    model = ScriptedBidiModel(
        [
            BidiStep(heard="Hi", say="Hello, how can I help?"),
            BidiStep(heard="My order is late", say="Let me look at that."),
            BidiStep(heard="Bye then", tool="end_session"),
            BidiStep(heard="Still there?", say="I am still here."),
        ]
    )
    principal = world.acme.principal
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await say(client, "Hi.")
            await client.until(lambda h: agent_said(h, "Hello, how can I help?"))
            await anyio.to_thread.run_sync(lambda: platform.handoff.take_over(principal, session_id))
            await say(client, "My order is late.")
            await client.until(lambda h: "My order is late" in h.transcripts("customer"))
            # The model's end_session while a person has the call is refused: the session stays theirs.
            await say(client, "Bye then.")
            await client.until(lambda h: "Bye then" in h.transcripts("customer"))
            await anyio.to_thread.run_sync(lambda: platform.handoff.return_to_agent(principal, session_id))
            await say(client, "Still there?")
            await client.until(lambda h: "I am still here." in h.transcripts("agent"))
            await client.end()
            heard = await client.closed()

    # A person has the call: no "I'm transferring you" over them, and the reply being composed is dropped.
    assert heard.transcripts("agent") == ["Hello, how can I help?", "I am still here."]
    assert not any(HANDOFF_MESSAGE in line for line in model.instructions)
    assert model.connections == 2  # a new connection dropped the reply in progress at the take over
    [refused] = model.tool_results
    assert refused.status == "error"
    assert "member of staff" in str(refused.content)
    found = platform.sessions.get(principal, session_id)
    assert (Role.AGENT, "Let me look at that.") not in [(t.role, t.text) for t in found.turns]
    assert (Role.AGENT, HANDOFF_MESSAGE) not in [(t.role, t.text) for t in found.turns]
    assert found.session.handoff is not None and found.session.handoff.state is HandoffState.RETURNED
    assert found.session.status is SessionStatus.COMPLETED  # the caller hung up after the return


def agent_with(platform: Platform, name: str, handoff: HandoffConfig) -> tuple[Principal, Agent, str]:
    """A deployed agent of a new tenant with this handoff configuration, and an API key for it."""
    principal = new_tenancy(platform, name).principal
    spec = AgentSpec(name=name, sop=SOP, handoff=handoff)
    agent = platform.agents.create(principal, CreateAgent(spec=spec))
    platform.agents.deploy(principal.tenant_id, agent.id, PLAN)
    secret = platform.keys.mint(principal, MintKeyRequest(agent_id=agent.id, name="voice")).reveal()
    return principal, agent, secret


async def test_while_nobody_has_taken_over_the_message_is_repeated_every_few_turns(platform: Platform) -> None:
    principal, agent, secret = agent_with(platform, "Waiting", HandoffConfig(enabled=True, reminder_every=2))
    model = ScriptedBidiModel(
        [
            HUMAN_TOOL,
            BidiStep(heard="Hello?", say="Quiet reply one."),
            BidiStep(heard="Anyone?", say="Quiet reply two."),
        ]
    )
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{agent.id}") as client:
            session_id = (await client.start(secret))["session_id"]
            await say(client, "Get me a human.")
            await client.until(lambda h: agent_said(h, HANDOFF_MESSAGE))
            await say(client, "Hello?")
            await client.until(lambda h: "Hello?" in h.transcripts("customer"))
            await say(client, "Anyone?")
            await client.until(lambda h: h.transcripts("agent").count(HANDOFF_MESSAGE) == 2)
            await client.end()
            heard = await client.closed()

    assert heard.transcripts("agent") == [HANDOFF_MESSAGE, HANDOFF_MESSAGE]
    found = platform.sessions.get(principal, session_id).turns
    assert [(t.role, t.text) for t in found if t.role is not Role.SYSTEM] == [
        (Role.CUSTOMER, "Get me a human"),
        (Role.AGENT, HANDOFF_MESSAGE),
        (Role.CUSTOMER, "Hello?"),
        (Role.CUSTOMER, "Anyone?"),
        (Role.AGENT, HANDOFF_MESSAGE),
    ]


async def test_a_caller_rejoining_a_conversation_a_person_has_hears_the_agent_only_after_the_return(
    platform: Platform, world: World
) -> None:
    principal = world.acme.principal
    session = platform.sessions.start(world.acme.tenant_id, world.agent.id, Channel.VOICE)
    platform.handoff.take_over(principal, session.id)
    model = ScriptedBidiModel(
        [BidiStep(heard="Hello?", say="A reply nobody hears."), BidiStep(heard="Back?", say="I'm back.")]
    )
    with serving_voice(platform, NovaSonicBackend(platform, lambda: model)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret, session_id=session.id)
            await say(client, "Hello?")
            await client.until(lambda h: "Hello?" in h.transcripts("customer"))
            await anyio.to_thread.run_sync(lambda: platform.handoff.return_to_agent(principal, session.id))
            await say(client, "Back?")
            await client.until(lambda h: agent_said(h, "I'm back."))
            await client.end()
            heard = await client.closed()

    assert heard.transcripts("agent") == ["I'm back."]
    assert model.connections == 1  # quiet from the start: nothing to interrupt, nothing announced
    assert turns(platform, world, session.id) == [
        (Role.CUSTOMER, "Hello?"),
        (Role.CUSTOMER, "Back?"),
        (Role.AGENT, "I'm back."),
    ]
