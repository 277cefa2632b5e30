"""Bad control messages end a voice call cleanly with 1008, never 1011 (issue 15, item 11).

Before: a `start` or `end` nested a few thousand levels deep made json.loads raise RecursionError,
and a `customer` value over the schema's limit made the session record refuse it; both closed with
1011, and a call in progress left its session `active` with no recording. Now nesting is measured
before parsing (a linear scan) and `customer` is checked against the session schema's own type:
1008 with a reason, the session settled, the recording saved.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from oratio.platform import Platform
from oratio.runtime import ModelFactory
from oratio.services.sessions import CUSTOMER_LIMITS
from schemas import Channel, Limits, Role, SessionStatus
from tests.reliability.voice_calls import ManualClock, assert_refused, recorded, serving
from tests.reliability.voice_door import utterance
from tests.support.models import voice_agent
from tests.support.worlds import World
from tests.voice_bridge.client import Heard, voice_client
from voice_bridge.protocol import CONTROL_MAX_BYTES, JSON_DEPTH_MAX

pytestmark = pytest.mark.anyio

DEEP = 5_000  # far past json.loads's recursion limit, well within the 16 KiB control message limit
NESTED_REASON = f"JSON nested deeper than {JSON_DEPTH_MAX} levels"
AUDIO = {"encoding": "pcm16", "sample_rate": 16_000, "channels": 1}


@pytest.fixture
def platform_models() -> ModelFactory:
    return voice_agent


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def start(secret: str, **extra: Any) -> str:
    return json.dumps({"type": "start", "api_key": secret, "audio": AUDIO, **extra})


async def first_message(platform: Platform, world: World, text: str) -> Heard:
    with serving(platform, ManualClock()) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.ws.send(text)
            return await client.closed()


async def after_one_exchange(platform: Platform, world: World, then: str) -> tuple[Heard, str]:
    """A call that says one thing and is answered, then sends `then`; what it heard, and its session."""
    with serving(platform, ManualClock()) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(utterance())
            await client.until(lambda h: bool(h.transcripts("agent")))
            await client.ws.send(then)
            return await client.closed(), session_id


async def test_a_deeply_nested_end_closes_1008_and_keeps_the_call(platform: Platform, world: World) -> None:
    then = '{"type": "end", "x": ' + nested(DEEP) + "}"
    assert len(then) < CONTROL_MAX_BYTES
    heard, session_id = await after_one_exchange(platform, world, then)
    assert_refused(heard, 1008, NESTED_REASON)
    found, seconds, _ = recorded(platform, world, session_id)
    assert found.session.status is SessionStatus.INTERRUPTED
    assert [t.role for t in found.turns] == [Role.CUSTOMER, Role.AGENT]
    assert seconds >= 1.0


async def test_a_deeply_nested_array_as_a_control_message(platform: Platform, world: World) -> None:
    heard, session_id = await after_one_exchange(platform, world, nested(DEEP))
    assert_refused(heard, 1008, NESTED_REASON)
    assert recorded(platform, world, session_id)[0].session.status is SessionStatus.INTERRUPTED


async def test_nesting_within_the_bound_is_an_ordinary_end(platform: Platform, world: World) -> None:
    heard, session_id = await after_one_exchange(platform, world, json.dumps({"type": "end", "x": [[[1]]]}))
    assert heard.close_code == 1000 and heard.of_type("ended"), heard
    assert recorded(platform, world, session_id)[0].session.status is SessionStatus.COMPLETED


async def test_a_deeply_nested_start_is_refused_with_1008(platform: Platform, world: World) -> None:
    heard = await first_message(platform, world, start(world.secret)[:-1] + ', "x": ' + nested(DEEP) + "}")
    assert_refused(heard, 1008, NESTED_REASON)


async def test_an_oversized_start_is_refused_with_1009(platform: Platform, world: World) -> None:
    heard = await first_message(platform, world, start(world.secret, customer={"note": "x" * CONTROL_MAX_BYTES}))
    assert_refused(heard, 1009, f"the start message is at most {CONTROL_MAX_BYTES} bytes")


async def test_an_over_long_customer_value_is_refused_with_1008(platform: Platform, world: World) -> None:
    too_long = "x" * (Limits.METADATA_VALUE_MAX + 1)
    heard = await first_message(platform, world, start(world.secret, customer={"name": too_long}))
    assert heard.close_code == 1008, heard
    assert heard.close_reason == CUSTOMER_LIMITS, heard  # the same words as every door
    assert not platform.sessions.list_live(world.acme.principal).items  # no session was started


async def test_an_over_long_customer_value_leaves_a_continued_session_as_it_was(
    platform: Platform, world: World
) -> None:
    first = await platform.engine.turn_async(world.acme.tenant_id, world.agent.id, None, "typed first", Channel.VOICE)
    too_long = "x" * (Limits.METADATA_VALUE_MAX + 1)
    text = start(world.secret, session_id=first.session_id, customer={"name": too_long})
    heard = await first_message(platform, world, text)
    assert heard.close_code == 1008 and heard.close_reason == CUSTOMER_LIMITS, heard
    found = platform.sessions.get(world.acme.principal, first.session_id)
    assert found.session.status is SessionStatus.ACTIVE and len(found.turns) == 2
