"""A session's turns run one at a time: the turn lock on the session row (`Session.turn_lock`).

What another process's running turn looks like here is exactly what it leaves in the store: a lock on
the session row. A message that finds one waits up to `turn_wait_seconds`, then is refused with Busy
(409, Retry-After) and nothing of it stored; a lock past its `until` (its process died) is taken over;
the lock is cleared with the agent's reply, and by a turn that ends without one.
"""

from __future__ import annotations

from datetime import timedelta

import anyio
import pytest

from oratio.config import load_settings
from oratio.errors import Busy, ConfigError
from oratio.http_json import error_response
from oratio.ids import new_id
from oratio.models import Hang, Say
from oratio.store.tables import SESSIONS
from schemas import Channel, Role, Session, TurnLock
from tests.support.engine import EngineWorld

pytestmark = pytest.mark.anyio


async def opened(world: EngineWorld) -> Session:
    world.model.add(Say("Hello, how can I help?"))
    result = await world.engine().turn_async(world.tenant_id, world.agent.id, None, "hi", Channel.TEXT)
    return world.platform.sessions.record(world.tenant_id, result.session_id)


def locked_elsewhere(world: EngineWorld, session: Session, *, lapses_in: timedelta) -> TurnLock:
    """The lock another replica's running turn holds (or, in the past, left when it was killed)."""
    lock = TurnLock(owner="own_elsewhere", token=new_id("turn"), until=world.platform.backends.clock() + lapses_in)
    world.platform.backends.store.replace(SESSIONS, session.model_copy(update={"turn_lock": lock}))
    return lock


def texts(world: EngineWorld, session_id: str) -> list[str]:
    return [turn.text for turn in world.platform.sessions.get(world.principal, session_id).turns]


async def test_a_session_whose_turn_runs_elsewhere_answers_busy_after_the_wait_and_stores_nothing(
    world: EngineWorld,
) -> None:
    session = await opened(world)
    locked_elsewhere(world, session, lapses_in=timedelta(minutes=1))

    with pytest.raises(Busy) as refused:
        await world.engine(turn_wait_seconds=0.0).turn_async(
            world.tenant_id, world.agent.id, session.id, "are you there?", Channel.TEXT
        )

    assert texts(world, session.id) == ["hi", "Hello, how can I help?"]
    response = error_response(refused.value)
    assert (response.status_code, response.headers["Retry-After"]) == (409, "1")
    assert b'"error":"session_busy"' in response.body


async def test_a_lock_left_by_a_killed_process_lapses_and_the_next_turn_takes_it_over(world: EngineWorld) -> None:
    session = await opened(world)
    locked_elsewhere(world, session, lapses_in=timedelta(seconds=-1))
    world.model.add(Say("Yes, still here."))

    result = await world.engine(turn_wait_seconds=0.0).turn_async(
        world.tenant_id, world.agent.id, session.id, "are you there?", Channel.TEXT
    )

    assert result.reply == "Yes, still here."
    assert world.platform.sessions.record(world.tenant_id, session.id).turn_lock is None


async def test_a_second_message_waits_for_the_running_turn_and_runs_after_it(world: EngineWorld) -> None:
    session = await opened(world)
    world.model.add(Hang("Let me check"), Say("Second answer."))  # the first times out: an apology, then the lock
    engine = world.engine(turn_timeout_seconds=1.0, turn_wait_seconds=30.0)
    replies: dict[str, str] = {}

    async def send(text: str) -> None:
        result = await engine.turn_async(world.tenant_id, world.agent.id, session.id, text, Channel.TEXT)
        replies[text] = result.reply

    async with anyio.create_task_group() as group:
        group.start_soon(send, "first")
        await anyio.wait_all_tasks_blocked()  # the first turn hangs in its model, holding the lock
        group.start_soon(send, "second")
        await anyio.wait_all_tasks_blocked()  # the second found the lock and waits
        assert texts(world, session.id)[2:] == ["first"]

    turns = world.platform.sessions.get(world.principal, session.id).turns
    assert [(t.role, t.text) for t in turns[2:]] == [
        (Role.CUSTOMER, "first"),
        (Role.AGENT, replies["first"]),
        (Role.CUSTOMER, "second"),
        (Role.AGENT, "Second answer."),
    ]
    assert world.platform.sessions.record(world.tenant_id, session.id).turn_lock is None


async def test_a_turn_that_stores_no_reply_still_frees_its_session(world: EngineWorld) -> None:
    session = await opened(world)
    world.model.add(Say("never heard"))
    engine = world.engine(turn_wait_seconds=0.0)
    stream = engine.stream_turn(world.tenant_id, world.agent.id, session.id, "tell me more", Channel.TEXT)
    await anext(aiter(stream))  # the client goes after the first delta
    await stream.aclose()  # type: ignore[attr-defined]  # an async generator

    assert world.platform.sessions.record(world.tenant_id, session.id).turn_lock is None
    world.model.add(Say("Sure."))
    result = await engine.turn_async(world.tenant_id, world.agent.id, session.id, "hello?", Channel.TEXT)
    assert result.reply == "Sure."


def test_the_turn_lock_must_outlast_the_turn_timeout() -> None:
    with pytest.raises(ConfigError, match="ORATIO_TURN_LOCK_SECONDS must be greater than ORATIO_TURN_TIMEOUT"):
        load_settings({"ORATIO_TURN_TIMEOUT_SECONDS": "30", "ORATIO_TURN_LOCK_SECONDS": "30"})
    assert load_settings({"ORATIO_TURN_TIMEOUT_SECONDS": "20"}).turn_lock_s == 50.0
