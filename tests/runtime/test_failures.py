"""When things go wrong: a failing or hanging model costs an apology and an `error` event, never a hung
or failed request; refused input is a typed error and leaves no trace in the store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio
import pytest

from oratio.errors import InvalidInput, InvalidState, ModelUnavailable, NotFound, OratioError
from oratio.models import Fail, Hang, Say
from oratio.runtime import APOLOGY, TurnResult
from schemas import Channel, EventType, Limits, Role, SessionStatus
from tests.support.engine import EngineWorld, deployed_agent, engine_over
from tests.support.tenants import events, new_principal

pytestmark = pytest.mark.anyio


async def test_a_model_error_gives_the_apology_and_an_error_event(world: EngineWorld) -> None:
    world.model.add(Fail(ConnectionError("provider unreachable")))

    result = await world.engine().turn_async(world.tenant_id, world.agent.id, None, "Hello?", Channel.TEXT)

    assert result.reply == APOLOGY
    assert (result.status, result.handoff, result.ended) == (SessionStatus.ACTIVE, False, False)
    turns = world.platform.sessions.get(world.principal, result.session_id).turns
    assert [(t.role, t.text) for t in turns] == [(Role.CUSTOMER, "Hello?"), (Role.AGENT, APOLOGY)]
    [error] = [e for e in world.events() if e.type is EventType.ERROR]
    assert error.subject == result.session_id
    assert error.data == {"agent_id": world.agent.id, "reason": "model_error", "detail": "ConnectionError"}


async def test_a_model_failing_mid_reply_keeps_what_was_said_and_apologises(world: EngineWorld) -> None:
    world.model.add(Fail(RuntimeError("stream reset"), text="Refunds are"))
    deltas: list[str] = []
    final: list[TurnResult] = []

    async for item in world.engine().stream_turn(world.tenant_id, world.agent.id, None, "Refunds?", Channel.TEXT):
        if isinstance(item, TurnResult):
            final.append(item)
        else:
            deltas.append(item)

    assert final[0].reply == f"Refunds are\n\n{APOLOGY}" == "".join(deltas)


async def test_a_hanging_model_is_cut_off_at_the_timeout(world: EngineWorld) -> None:
    world.model.add(Hang(text="Let me think"))
    engine = world.engine(turn_timeout_seconds=0.2)

    with anyio.fail_after(10):  # the engine's own timeout must fire long before this one
        result = await engine.turn_async(world.tenant_id, world.agent.id, None, "Still there?", Channel.TEXT)

    assert result.reply == f"Let me think\n\n{APOLOGY}"
    [error] = [e for e in world.events() if e.type is EventType.ERROR]
    assert error.data["reason"] == "model_timeout" and "0.2s" in error.data["detail"]
    # The session stays usable: the next turn is answered normally.
    world.model.add(Say("Yes, I'm here."))
    again = await engine.turn_async(world.tenant_id, world.agent.id, result.session_id, "Hello?", Channel.TEXT)
    assert again.reply == "Yes, I'm here."


@dataclass(frozen=True)
class Attempt:
    """A turn to try, after its case set the world up; `watch` adds another tenant whose log must not move."""

    text: str = "Hello"
    agent_id: str | None = None
    session_id: str | None = None
    customer: dict[str, str] | None = None
    watch: str | None = None


def other_tenants_session(world: EngineWorld) -> Attempt:
    rival = new_principal(world.platform, "Globex")
    agent = deployed_agent(world.platform, rival)
    session = world.platform.sessions.start(rival.tenant_id, agent.id, Channel.TEXT)
    return Attempt(session_id=session.id, watch=rival.tenant_id)


def ended_session(world: EngineWorld) -> Attempt:
    session = world.platform.sessions.start(world.tenant_id, world.agent.id, Channel.TEXT)
    return Attempt(session_id=world.platform.sessions.end(world.tenant_id, session.id).id)


def another_agents_session(world: EngineWorld) -> Attempt:
    other = deployed_agent(world.platform, world.principal, "Sales")
    return Attempt(session_id=world.platform.sessions.start(world.tenant_id, other.id, Channel.TEXT).id)


def paused(world: EngineWorld) -> Attempt:
    world.platform.agents.pause(world.principal, world.agent.id)
    return Attempt()


def paused_mid_session(world: EngineWorld) -> Attempt:
    session = world.platform.sessions.start(world.tenant_id, world.agent.id, Channel.TEXT)
    world.platform.agents.pause(world.principal, world.agent.id)
    return Attempt(session_id=session.id)


def given(attempt: Attempt) -> Callable[[EngineWorld], Attempt]:
    return lambda world: attempt


@pytest.mark.parametrize(
    ("prepare", "error", "message"),
    [
        pytest.param(given(Attempt(text="   \n ")), InvalidInput, "the message is empty", id="blank"),
        pytest.param(
            given(Attempt(text="x" * (Limits.TURN_TEXT_MAX + 1))), InvalidInput, "over 8000 characters", id="oversize"
        ),
        pytest.param(
            given(Attempt(customer={f"k{n}": "v" for n in range(Limits.METADATA_KEYS_MAX + 1)})),
            InvalidInput,
            "customer details",
            id="customer-metadata",
        ),
        pytest.param(given(Attempt(agent_id="agt_0unknown")), NotFound, "agent 'agt_0unknown'", id="unknown-agent"),
        pytest.param(given(Attempt(session_id="ses_0unknown")), NotFound, "'ses_0unknown'", id="unknown-session"),
        pytest.param(other_tenants_session, NotFound, "was not found", id="other-tenant"),
        pytest.param(another_agents_session, NotFound, "was not found", id="other-agent"),
        pytest.param(ended_session, InvalidState, "has ended", id="ended"),
        pytest.param(paused, InvalidState, "is paused", id="paused"),
        pytest.param(paused_mid_session, InvalidState, "is paused", id="paused-mid-session"),
    ],
)
async def test_refused_turns_raise_typed_errors_and_store_nothing(
    world: EngineWorld, prepare: Callable[[EngineWorld], Attempt], error: type[OratioError], message: str
) -> None:
    world.model.add(Say("never said"))
    attempt = prepare(world)
    watched = [world.tenant_id] + ([attempt.watch] if attempt.watch else [])
    # Every stored change emits an event, so unmoved logs mean nothing was written.
    before = [len(events(world.platform, tenant_id)) for tenant_id in watched]

    with pytest.raises(error, match=message):
        await world.engine().turn_async(
            world.tenant_id,
            attempt.agent_id or world.agent.id,
            attempt.session_id,
            attempt.text,
            Channel.TEXT,
            attempt.customer,
        )

    assert [len(events(world.platform, tenant_id)) for tenant_id in watched] == before
    assert world.model.prompts == []


async def test_no_configured_model_is_a_503_before_anything_is_stored(world: EngineWorld) -> None:
    engine = engine_over(world.platform, lambda spec: world.model, model=None)
    before = len(world.events())

    with pytest.raises(ModelUnavailable, match="ORATIO_MODEL") as refused:
        await engine.turn_async(world.tenant_id, world.agent.id, None, "Hello", Channel.TEXT)

    assert refused.value.http_status == 503

    assert len(world.events()) == before
