"""The voice bridge (`WS /voice/{agent_id}`) fuzzed over a real socket, on the `scripted` speech backend.

Each connection draws: the path's agent (either tenant's, an unknown id, junk), upgrade headers
(keys, bearer junk), a first frame (a `start` generated from the bridge's own pydantic model,
valid-ish or bent, with real keys and session ids of both tenants mixed in; any JSON; any text;
audio before `start`) and a few more frames (random, odd-length and oversize binary, random and
oversize control messages, `end`). Every connection must end within a bound with a documented
close code that is not 1011 (user input never breaks Oratio) and not 1006 (never dropped without a
close), every refusal preceded by an `error` message carrying the same code, and the bridge must
still answer a plain call afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from schemas import Channel, Limits
from tests.reliability.ledger import unknown_id
from tests.reliability.strategies import from_schema, garbage
from tests.reliability.test_fuzz_http import header_text
from tests.reliability.voice_door import utterance
from tests.reliability.world import Side, new_side, reliability_platform, serving
from tests.voice_bridge.client import Heard, voice_client
from voice_bridge.protocol import CONTROL_MAX_BYTES, OUTPUT_RATES, SAMPLE_RATES, Close, StartMessage, VoiceLimits

CONNECTION_TIMEOUT_S = 20.0
FRAME_MAX = VoiceLimits().frame_max_bytes
DOCUMENTED = {int(code) for code in Close} - {int(Close.INTERNAL), int(Close.GOING_AWAY)}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class Target:
    portal: BlockingPortal
    ws_base: str
    acme: Side
    globex: Side
    sessions: tuple[str, str]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ORATIO_VOICE_BACKEND", "scripted")
        with reliability_platform(tmp_path_factory.mktemp("fuzz-voice")) as platform:
            acme, globex = new_side(platform, "Acme"), new_side(platform, "Globex")
            sessions = tuple(
                platform.engine.turn(side.tenant_id, side.agent.id, None, "hello", Channel.VOICE).session_id
                for side in (acme, globex)
            )
            with serving(platform) as served, start_blocking_portal(backend="asyncio") as portal:
                yield Target(portal, served.ws_base, acme, globex, (sessions[0], sessions[1]))


def starts(target: Target) -> st.SearchStrategy[dict[str, Any]]:
    """`start` messages from the model's schema: bent, or valid with a real key and audio format mixed in."""
    schema = StartMessage.model_json_schema()
    keys = st.sampled_from([target.acme.secret, target.globex.secret, "ora_sk_nope"]) | st.none() | st.text(max_size=30)
    formats = st.fixed_dictionaries(
        {"sample_rate": st.sampled_from(SAMPLE_RATES)},
        optional={"encoding": st.just("pcm16"), "channels": st.just(1)},
    )
    plain = st.fixed_dictionaries(
        {"type": st.just("start"), "api_key": keys, "audio": formats},
        optional={"output_sample_rate": st.sampled_from(OUTPUT_RATES), "session_id": st.sampled_from(target.sessions)},
    )
    valid = st.tuples(from_schema(schema, ids=target.sessions, valid=True), keys, formats).map(
        lambda t: {**t[0], "type": "start", "api_key": t[1], "audio": t[2]}
    )
    return st.one_of(plain, plain, valid, from_schema(schema, ids=target.sessions))


def deep(depth: int) -> str:
    """JSON arrays nested `depth` levels (json.loads recurses per level: deep input once meant 1011)."""
    return "[" * depth + "]" * depth


def bad_starts(target: Target) -> st.SearchStrategy[str]:
    """`start` messages that are valid but for deep nesting or an over-long `customer` value."""
    base = {"type": "start", "api_key": target.acme.secret, "audio": {"sample_rate": 16_000}}
    nested = st.integers(min_value=1, max_value=7_000).map(lambda n: json.dumps(base)[:-1] + f', "x": {deep(n)}}}')
    long_value = st.integers(min_value=Limits.METADATA_VALUE_MAX - 2, max_value=Limits.METADATA_VALUE_MAX + 50).map(
        lambda n: json.dumps({**base, "customer": {"name": "x" * n}})
    )
    continued = st.sampled_from(target.sessions).map(
        lambda session: json.dumps({**base, "session_id": session, "customer": {"k": "é" * 2_000}})
    )
    return nested | long_value | continued


def binary_frames() -> st.SearchStrategy[bytes]:
    return (
        st.binary(max_size=2_000)
        | st.integers(min_value=1, max_value=400).map(lambda n: utterance()[: n * 2 + 1])  # odd: not PCM16
        | st.integers(min_value=FRAME_MAX + 1, max_value=FRAME_MAX + 3_000).map(bytes)  # oversize
        | st.just(utterance()[:FRAME_MAX])
    )


def control_frames() -> st.SearchStrategy[str]:
    return (
        garbage.map(json.dumps)
        | st.text(max_size=60)
        | st.just(json.dumps({"type": "end"}))
        | st.just(json.dumps({"type": "start"}))
        | st.integers(min_value=1, max_value=7_000).map(lambda n: f'{{"type": "end", "x": {deep(n)}}}')
        | st.integers(min_value=1, max_value=7_000).map(deep)
        | st.integers(min_value=CONTROL_MAX_BYTES, max_value=CONTROL_MAX_BYTES + 100).map(
            lambda n: json.dumps({"type": "end", "pad": "x" * n})
        )
    )


@st.composite
def calls(draw: st.DrawFn, target: Target) -> tuple[str, dict[str, str], list[str | bytes]]:
    mine = target.acme.agent.id
    agent = draw(st.sampled_from([mine, mine, mine, target.globex.agent.id, unknown_id("agent"), "nope", "agt_"]))
    headers = draw(
        st.sampled_from([{}, {}, {"Authorization": "Bearer {}"}, {"X-Api-Key": "{}"}, {"Authorization": "Basic {}"}])
    )
    secret = draw(st.sampled_from([target.acme.secret, target.globex.secret]) | header_text(60))
    start = starts(target).map(json.dumps)
    junk = st.one_of(garbage.map(json.dumps), st.text(max_size=80), binary_frames())
    first = draw(st.one_of(start, start, start, bad_starts(target), junk))
    rest = draw(st.lists(binary_frames() | control_frames(), max_size=6))
    return agent, {name: value.format(secret) for name, value in headers.items()}, [first, *rest]


async def one_call(target: Target, agent: str, headers: dict[str, str], frames: list[str | bytes]) -> Heard:
    with anyio.fail_after(CONNECTION_TIMEOUT_S):
        async with voice_client(f"{target.ws_base}/voice/{agent}", headers) as client:
            try:
                for frame in [*frames, json.dumps({"type": "end"})]:
                    await client.ws.send(frame)
            except ConnectionClosed:
                pass  # the server closed first; what it said is read below
            return await client.closed(CONNECTION_TIMEOUT_S)


def assert_clear(heard: Heard, what: str) -> None:
    assert heard.close_code in DOCUMENTED, f"{what}: close {heard.close_code} {heard.close_reason!r} {heard.messages}"
    if heard.close_code == int(Close.NORMAL):
        assert heard.of_type("ended"), f"{what}: a normal close without `ended`: {heard.messages}"
        return
    errors = heard.of_type("error")
    assert errors, f"{what}: closed {heard.close_code} without an error message: {heard.messages}"
    assert errors[-1]["code"] == heard.close_code and errors[-1]["message"].strip(), f"{what}: {errors[-1]}"
    assert heard.close_reason.strip(), f"{what}: a close without a reason"


def test_every_voice_connection_ends_clearly(target: Target) -> None:
    seen: set[int] = set()

    @given(call=calls(target))
    @FUZZ
    def run(call: tuple[str, dict[str, str], list[str | bytes]]) -> None:
        agent, headers, frames = call
        heard = target.portal.call(one_call, target, agent, headers, frames)
        what = f"/voice/{agent} {headers} {[f[:80] for f in frames]}"
        assert_clear(heard, what)
        assert heard.close_code is not None
        seen.add(heard.close_code)

    run()
    print("close codes seen:", sorted(seen))
    # The run reached past the handshake: calls that were served, refused for their key and for their frames.
    assert {1000, 4401} <= seen and seen & {1003, 1008, 1009}, seen
    # And the bridge still serves a plain call.
    start = json.dumps({"type": "start", "api_key": target.acme.secret, "audio": {"sample_rate": 16_000}})
    frames: list[str | bytes] = [start, utterance()[:FRAME_MAX]]
    no_headers: dict[str, str] = {}
    heard = target.portal.call(one_call, target, target.acme.agent.id, no_headers, frames)
    assert heard.close_code == 1000 and heard.of_type("ready"), heard
