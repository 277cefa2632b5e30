"""The listen socket (`WS /voice/calls/{session_id}/listen`) against hostile and careless admins (issue 19, item 2).

Who may hear a call: an admin token of the call's own tenant with sessions:read; who may speak into
it: sessions:write as well. Everything else is a close code with a reason, or (for a refused
`say`/`talk`) an error message on a socket that stays open. Another tenant's call is
indistinguishable from no call. A listener that does not keep up is dropped; the call never waits.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct

import anyio
import anyio.to_thread
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as sync_connect

from oratio.auth.tokens import JwtSettings, issue_token
from oratio.platform import Platform
from oratio.runtime import ModelFactory
from schemas import Limits, Scope
from tests.reliability.strategies import garbage
from tests.support.models import voice_agent
from tests.support.platforms import JWT_SECRET
from tests.support.serving import limits_with, serving_voice
from tests.support.tenants import narrow, token_for
from tests.support.worlds import World
from tests.voice_bridge.client import Overheard, listen_client, voice_client
from voice_bridge.listen import ListenSettings
from voice_bridge.monitor import LiveCall, MonitorLimits
from voice_bridge.protocol import CONTROL_MAX_BYTES
from voice_bridge.scripted import scripted_backend

pytestmark = pytest.mark.anyio

RATE = 16_000


@pytest.fixture
def platform_models() -> ModelFactory:
    return voice_agent


def scoped_token(platform: Platform, world: World, *scopes: Scope) -> str:
    settings = platform.settings
    jwt = JwtSettings(secret=JWT_SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return issue_token(jwt, narrow(world.acme, *scopes), ttl_seconds=600)


def utterance() -> bytes:
    t = np.arange(int(0.4 * RATE)) / RATE
    return (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes() + bytes(RATE * 2)


async def refused_with(base: str, session_id: str, first: str | bytes | None) -> Overheard:
    async with listen_client(f"{base}/voice/calls/{session_id}/listen") as admin:
        if first is not None:
            await admin.ws.send(first)
        return await admin.closed()


def listen(token: str) -> str:
    return json.dumps({"type": "listen", "token": token})


async def test_who_may_listen(platform: Platform, world: World) -> None:
    acme = token_for(platform, world.acme.principal)
    globex = token_for(platform, world.globex.principal)
    expired = token_for(platform, world.acme.principal, expired=True)
    agents_only = scoped_token(platform, world, Scope.AGENTS_READ)
    unknown = "ses_" + "0" * 26
    with serving_voice(platform, scripted_backend(platform.engine), listen=ListenSettings(auth_timeout_s=0.3)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            cases: dict[str, tuple[str, str | bytes | None]] = {
                "silent": (session_id, None),
                "binary": (session_id, b"\x00\x01"),
                "not json": (session_id, "hello"),
                "wrong type": (session_id, json.dumps({"type": "start", "token": acme})),
                "bad token": (session_id, listen("not-a-token")),
                "expired": (session_id, listen(expired)),
                "no sessions:read": (session_id, listen(agents_only)),
                "other tenant": (session_id, listen(globex)),
                "no such call": (unknown, listen(acme)),
            }
            got = {name: await refused_with(base, sid, first) for name, (sid, first) in cases.items()}
            await caller.end()
            await caller.closed()
    codes = {name: heard.close_code for name, heard in got.items()}
    assert codes == {
        "silent": 4408,
        "binary": 4422,
        "not json": 4422,
        "wrong type": 4422,
        "bad token": 4401,
        "expired": 4401,
        "no sessions:read": 4403,
        "other tenant": 4404,
        "no such call": 4404,
    }
    for heard in got.values():
        assert heard.messages == []  # not one frame of the call before the close
        assert heard.close_reason and len(heard.close_reason.encode()) <= 123
    # Another tenant's call reads exactly like no call at all.
    assert got["other tenant"].close_reason == f"no call in progress for session '{session_id}'"
    assert got["no such call"].close_reason == f"no call in progress for session '{unknown}'"


async def test_a_reader_listens_but_may_not_speak(platform: Platform, world: World) -> None:
    reader = scoped_token(platform, world, Scope.SESSIONS_READ)
    with serving_voice(platform, scripted_backend(platform.engine)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            await anyio.to_thread.run_sync(platform.handoff.take_over, world.acme.principal, session_id)
            await caller.until(lambda h: bool(h.of_type("taken_over")))
            async with listen_client(f"{base}/voice/calls/{session_id}/listen") as admin:
                hello = await admin.listen(reader)
                assert hello["can_talk"] is False and hello["taken_over"] is True
                await admin.send_json({"type": "say", "text": "hello"})
                await admin.send_json({"type": "talk", "sample_rate": RATE})
                await admin.until(lambda h: len(h.of_type("error")) == 2)
                # Still listening: the socket stays open and hears the call end.
                await caller.end()
                overheard = await admin.closed()
    assert [e["code"] for e in overheard.of_type("error")] == [4403, 4403]
    assert overheard.of_type("error")[1]["message"] == "talking to the caller needs the 'sessions:write' scope"
    assert overheard.close_code == 1000
    human = [t for t in platform.sessions.get(world.acme.principal, session_id).turns if t.role.value == "human"]
    assert human == []


async def test_bad_messages_on_the_listen_socket(platform: Platform, world: World) -> None:
    token = token_for(platform, world.acme.principal)
    too_long = "x" * (Limits.TURN_TEXT_MAX + 1)
    with serving_voice(platform, scripted_backend(platform.engine), listen=ListenSettings(talk_wait_s=5)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            await anyio.to_thread.run_sync(platform.handoff.take_over, world.acme.principal, session_id)
            url = f"{base}/voice/calls/{session_id}/listen"

            async def session(*sent: str | bytes, talk: bool = False) -> Overheard:
                async with listen_client(url) as admin:
                    await admin.listen(token)
                    if talk:
                        await admin.send_json({"type": "talk", "sample_rate": RATE})
                        await admin.until(lambda h: bool(h.of_type("talking")))
                    for message in sent:
                        await admin.ws.send(message)
                    return await admin.closed()

            unknown = await session(json.dumps({"type": "hangup"}))
            nested = await session("[" * 5000 + "]" * 5000)
            huge = await session(json.dumps({"type": "say", "text": "x" * CONTROL_MAX_BYTES}))
            odd = await session(b"\x00" * 641, talk=True)
            big = await session(b"\x00" * 64_000, talk=True)
            async with listen_client(url) as admin:
                await admin.listen(token)
                await admin.send_json({"type": "say", "text": too_long})
                await admin.send_json({"type": "say", "text": ["not", "text"]})
                await admin.send_json({"type": "say", "text": "   "})
                await admin.until(lambda h: len(h.of_type("error")) == 3)
                errors = admin.heard.of_type("error")
            await caller.end()
            heard = await caller.closed()
    assert (unknown.close_code, unknown.close_reason) == (1008, "unknown message type 'hangup'; send say or talk")
    assert nested.close_code == 1008
    assert huge.close_code == 1009
    assert odd.close_code == 1003
    assert big.close_code == 1009
    assert [e["code"] for e in errors] == [4422, 4422, 4422]
    # None of it reached the caller, and the call ended as the customer ended it.
    assert heard.transcripts("human") == []
    assert heard.close_code == 1000


def test_a_full_listener_is_dropped_and_the_others_go_on() -> None:
    async def main() -> None:
        call = LiveCall("ten_x", "agt_x", "ses_x", RATE, 24_000, MonitorLimits(queue_frames=5))
        with call.listener("adm_slow") as slow, call.listener("adm_fast") as fast:
            got: list[object] = []
            for _ in range(20):
                call.customer_audio(bytes(640))  # never waits, whoever listens
                got.append(fast.receive.receive_nowait())
            assert slow.dropped and slow not in call.listeners
            assert not fast.dropped and fast in call.listeners
            assert len(got) == 20
            # What the slow one had queued is still readable, then its stream ends.
            drained = [item async for item in slow.receive]
            assert len(drained) == 5

    anyio.run(main)


def test_too_many_listeners_is_refused(platform: Platform, world: World) -> None:
    async def main() -> tuple[Overheard, Overheard]:
        token = token_for(platform, world.acme.principal)
        with serving_voice(platform, scripted_backend(platform.engine), monitor=MonitorLimits(listeners_max=1)) as base:
            async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
                session_id = (await caller.start(world.secret))["session_id"]
                url = f"{base}/voice/calls/{session_id}/listen"
                async with listen_client(url) as first:
                    await first.listen(token)
                    async with listen_client(url) as second:
                        await second.listen(token)
                        refused = await second.closed()
                    await caller.end()
                    return refused, await first.closed()

    refused, first = anyio.run(main)
    assert (refused.close_code, refused.close_reason) == (4429, "this call already has 1 listeners")
    assert first.close_code == 1000


class StalledListener:
    """A listen socket spoken by hand over a plain TCP socket with a tiny receive buffer, which stops
    reading after the `listen` message: the server's buffers towards it fill up, as with an admin on
    a dead network. (A websockets client keeps reading into its own memory whatever `max_queue` says.)"""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")

    def send_text(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        size = len(payload)
        header = bytes((0x81, 0x80 | size)) if size < 126 else bytes((0x81, 0x80 | 126)) + struct.pack("!H", size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_until_close(self) -> tuple[int, str, int]:
        """Read every frame until the close frame: (code, reason, audio bytes read before it)."""
        audio = 0
        while True:
            first, second = self._read(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(size)
            if first & 0x0F == 0x8:
                return struct.unpack("!H", payload[:2])[0], payload[2:].decode(), audio
            if first & 0x0F == 0x2:
                audio += size

    def close(self) -> None:
        self.sock.close()


async def test_a_listener_that_stops_reading_never_slows_the_call(platform: Platform, world: World) -> None:
    token = token_for(platform, world.acme.principal)
    monitor = MonitorLimits(queue_frames=10)
    # The close frame waits behind what the stalled listener has not read, until the test reads it.
    settings = ListenSettings(send_timeout_s=0.5, close_timeout_s=60.0)
    backend = scripted_backend(platform.engine, ["Hello"])
    limits = limits_with(call_max_s=600.0)  # room in the recording for 150 s of audio
    with serving_voice(platform, backend, limits, monitor=monitor, listen=settings) as base:
        port = int(base.rsplit(":", 1)[1])
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            stalled = StalledListener(port, f"/voice/calls/{session_id}/listen")
            try:
                stalled.send_text(json.dumps({"type": "listen", "token": token}))
                # The listener reads nothing more while the caller talks and is answered: 150 s of audio
                # at once (4.8 MB, more than the kernel buffers of the listener's connection hold).
                await caller.send_audio(bytes(RATE * 2 * 150) + utterance(), frame_bytes=32_000)
                await caller.until(lambda h: h.transcripts("agent") == ["You said: Hello. Anything else?"])
                await caller.end()
                heard = await caller.closed()
                code, reason, audio = await anyio.to_thread.run_sync(stalled.read_until_close)
            finally:
                stalled.close()
    assert heard.close_code == 1000
    assert (code, reason) == (1013, "too slow to keep up with the call's audio; listen again")
    assert audio < RATE * 2 * 150  # it was dropped before it had the call's audio


async def test_a_revoked_admin_stops_hearing_the_call(platform: Platform, world: World) -> None:
    bob = platform.tenants.create_admin(world.acme.tenant_id, "bob@acme.example", "Bob")
    token, other = platform.access.token_for(bob), platform.access.token_for(bob)
    with serving_voice(platform, scripted_backend(platform.engine), listen=ListenSettings(recheck_s=0.2)) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as caller:
            session_id = (await caller.start(world.secret))["session_id"]
            url = f"{base}/voice/calls/{session_id}/listen"
            async with listen_client(url) as idle, listen_client(url) as speaking:
                await idle.listen(token)
                await speaking.listen(other)
                await anyio.to_thread.run_sync(platform.tenants.revoke_admin_tokens, world.acme.principal, bob.id)
                try:  # checked again before it is said; the periodic re-check may have closed it first
                    await speaking.send_json({"type": "say", "text": "hello"})
                except ConnectionClosed:
                    pass
                cut_off = await idle.closed()
                refused = await speaking.closed()
            await caller.end()
            await caller.closed()
    for heard in (cut_off, refused):
        assert (heard.close_code, heard.close_reason) == (4401, "token was revoked; ask for a new one")
    assert [t for t in platform.sessions.get(world.acme.principal, session_id).turns if t.role.value == "human"] == []


LISTEN_CODES = {1000, 1003, 1008, 1009, 4401, 4403, 4404, 4408, 4409, 4422, 4429}


def listen_frames() -> st.SearchStrategy[str | bytes]:
    kinds = st.sampled_from(["say", "talk", "listen", "end", "hangup"])
    text = st.text(max_size=40) | st.integers(min_value=0, max_value=5_000).map(lambda n: "x" * n)
    return (
        st.builds(lambda k, t: json.dumps({"type": k, "text": t}), kinds, text)
        | st.builds(lambda r: json.dumps({"type": "talk", "sample_rate": r}), garbage)
        | garbage.map(json.dumps)
        | st.text(max_size=60)
        | st.integers(min_value=1, max_value=7_000).map(lambda n: "[" * n + "]" * n)
        | st.binary(max_size=2_000)
        | st.integers(min_value=1, max_value=40_000).map(bytes)
    )


def test_every_listen_connection_ends_clearly_and_the_call_goes_on(platform: Platform, world: World) -> None:
    """Fuzzed: an admin's listen socket with any first message and any frames after it, on one live call
    (taken over, so `say` and `talk` really act). Each connection is refused or closed with a documented
    code (never 1011, never dropped), and the call is alive and answered after all of them."""
    token = token_for(platform, world.acme.principal)
    limits = limits_with(idle_timeout_s=600.0, silence_timeout_s=600.0)
    listen = ListenSettings(auth_timeout_s=1.0, talk_wait_s=0.1)
    with serving_voice(platform, scripted_backend(platform.engine), limits, listen=listen) as base:
        with sync_connect(f"{base}/voice/{world.agent.id}", open_timeout=10, max_size=2**24) as caller:
            caller.send(json.dumps({"type": "start", "api_key": world.secret, "audio": {"sample_rate": RATE}}))
            session_id = json.loads(caller.recv(timeout=10))["session_id"]
            platform.handoff.take_over(world.acme.principal, session_id)
            url = f"{base}/voice/calls/{session_id}/listen"
            first = st.just(json.dumps({"type": "listen", "token": token})) | listen_frames()

            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
            @given(first=first, frames=st.lists(listen_frames(), max_size=4))
            def one(first: str | bytes, frames: list[str | bytes]) -> None:
                with sync_connect(url, open_timeout=10, max_size=2**24) as admin:
                    code: int | None = None
                    try:
                        admin.send(first)
                        for frame in frames:
                            admin.send(frame)
                        admin.send(json.dumps({"type": "say", "text": ""}))  # answered if still open
                        while True:
                            message = admin.recv(timeout=10)
                            if isinstance(message, str) and json.loads(message)["type"] in ("said", "error"):
                                break
                    except ConnectionClosed as closed:
                        assert closed.rcvd is not None, "dropped without a close frame"
                        code = closed.rcvd.code
                        assert len(closed.rcvd.reason.encode()) <= 123
                    assert code is None or code in LISTEN_CODES, (code, first, frames)

            one()
            # The call is still up: the customer speaks and is heard (paused, so no agent reply).
            for at in range(0, len(utterance()), 640):
                caller.send(utterance()[at : at + 640])
            while True:
                message = caller.recv(timeout=20)
                if isinstance(message, str) and json.loads(message).get("role") == "customer":
                    break
            caller.send(json.dumps({"type": "end"}))
