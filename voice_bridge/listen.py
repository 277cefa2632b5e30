"""`WS /voice/calls/{session_id}/listen`: an admin hears a live call, and may take it over by voice.

Protocol (docs/handoff.md, "Voice: listen-in and takeover"):

    client -> {"type": "listen", "token": "<admin JWT>"}            first, within `auth_timeout_s`
    server -> {"type": "listening", "session_id", "audio": {pcm16 @ 16 kHz}, "channels", "taken_over", "can_talk"}
    server -> binary: [channel byte, 0, PCM16 ...]  (1 customer, 2 agent, 3 human: voice_bridge.monitor)
    server -> {"type": "taken_over", "by"} | {"type": "returned"} | {"type": "ended", "reason"}
    client -> {"type": "say", "text": "..."}          sessions:write, call taken over: stored and spoken
    client -> {"type": "talk", "sample_rate": 16000}   sessions:write, call taken over: then binary PCM16 frames
    server -> {"type": "said", "seq"} | {"type": "talking"} | {"type": "error", "code", "message"}

The token travels in the first message, as on the dashboard's own socket, and is checked by the same
`AccessService.admin_principal` (4401 bad or expired, 4403 without sessions:read). The call is looked up
in the admin's tenant only: another tenant's call and no call at all are the same 4404. A refused
`say` / `talk` (no sessions:write, not taken over) is an `error` message and the socket stays open;
a broken protocol (not JSON, an unknown type, audio before `talk`, a frame too big) closes it with a
reason. A listener that does not take its audio in time is dropped (1013) without the call noticing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from pydantic import Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from oratio.errors import InvalidInput, OratioError
from oratio.http_json import Closing, close_websocket, receive_text, recheck_admin
from schemas import Model, Principal, Scope
from voice_bridge.context import VoiceServices
from voice_bridge.monitor import CHANNELS, LISTEN_RATE, CallRegistry, Listener, LiveCall, TooManyListeners
from voice_bridge.protocol import (
    CONTROL_MAX_BYTES,
    SAMPLE_RATES,
    Close,
    ProtocolError,
    VoiceLimits,
    check_frame,
    parse_control_object,
)

logger = logging.getLogger("oratio.voice")

CLOSE_TOO_SLOW = 1013


@dataclass(frozen=True)
class ListenSettings:
    auth_timeout_s: float = 10.0
    """Time to send the `listen` message after connecting (4408 after)."""
    send_timeout_s: float = 5.0
    """A listener that does not take one frame within this is dropped (1013)."""
    talk_wait_s: float = 3.0
    """How long `talk` waits for the take over's event to reach this call (the dashboard's button just moved it)."""
    recheck_s: float = 30.0
    """The token is checked again this often (and before every `say` and `talk`): a disabled admin, or one
    whose tokens were revoked, stops hearing the call within this bound (4401)."""
    close_timeout_s: float = 5.0
    """How long the close frame may wait behind audio a stalled listener has not read; then the socket is dropped."""


class ListenMessage(Model):
    type: str
    token: str = Field(min_length=1, max_length=8192)


class ListenDoor:
    """The listen socket's handler; one instance serves every listener of the bridge."""

    def __init__(
        self,
        services: VoiceServices,
        registry: CallRegistry,
        limits: VoiceLimits,
        settings: ListenSettings | None = None,
    ) -> None:
        self._p = services
        self._calls = registry
        self._limits = limits
        self._s = settings or ListenSettings()

    async def endpoint(self, websocket: WebSocket) -> None:
        session_id = websocket.path_params["session_id"]
        await websocket.accept()
        try:
            token, principal = await self._authenticate(websocket)
            call = self._calls.find(principal.tenant_id, session_id)
            if call is None:
                raise Closing(int(Close.NOT_FOUND), f"no call in progress for session '{session_id[:64]}'")
            try:
                with call.listener(principal.subject) as listener:
                    await self._serve(websocket, token, principal, call, listener)
            except TooManyListeners as exc:
                raise Closing(int(Close.RATE_LIMITED), str(exc)) from None
        except Closing as closing:
            await _close(websocket, closing.code, closing.reason, self._s.close_timeout_s)
        except ProtocolError as exc:
            await _close(websocket, int(exc.code), exc.reason, self._s.close_timeout_s)
        except WebSocketDisconnect:
            return

    async def _authenticate(self, websocket: WebSocket) -> tuple[str, Principal]:
        with anyio.move_on_after(self._s.auth_timeout_s):
            text = await receive_text(
                websocket, max_chars=CONTROL_MAX_BYTES, binary_advice="send the JSON listen message first, not binary"
            )
            try:
                hello = ListenMessage.model_validate_json(text)
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(p) for p in problem["loc"]) or "message"
                raise Closing.of(InvalidInput(f"first message must be listen: {where}: {problem['msg']}")) from None
            if hello.type != "listen":
                raise Closing.of(InvalidInput('first message must be {"type": "listen", "token": ...}'))
            try:
                principal: Principal = await anyio.to_thread.run_sync(self._p.access.admin_principal, hello.token)
            except OratioError as exc:
                raise Closing.of(exc) from None
            if not principal.allows(Scope.SESSIONS_READ):
                raise Closing(4403, "listening to a call needs the 'sessions:read' scope")
            return hello.token, principal
        raise Closing(int(Close.IDLE), f"send the listen message within {self._s.auth_timeout_s:g}s")

    async def _serve(
        self, websocket: WebSocket, token: str, principal: Principal, call: LiveCall, listener: Listener
    ) -> None:
        await websocket.send_json(
            {
                "type": "listening",
                "session_id": call.session_id,
                "agent_id": call.agent_id,
                "audio": {"encoding": "pcm16", "sample_rate": LISTEN_RATE, "channels": 1},
                "channels": CHANNELS,
                "taken_over": call.taken_over,
                "can_talk": principal.allows(Scope.SESSIONS_WRITE),
            }
        )
        ended: list[Exception] = []

        async def run(task: Callable[[], Awaitable[None]]) -> None:
            # The first of the two to finish decides how the socket closes; the other is cancelled.
            try:
                await task()
            except (Closing, ProtocolError, WebSocketDisconnect) as exc:
                ended.append(exc)
            tasks.cancel_scope.cancel()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run, lambda: self._pump(websocket, listener))
            tasks.start_soon(run, lambda: self._read(websocket, token, principal, call))
            tasks.start_soon(run, lambda: self._recheck_every(token))
        if ended:
            raise ended[0]

    async def _pump(self, websocket: WebSocket, listener: Listener) -> None:
        """The call's audio and news to the admin, until the call ends or the admin falls behind."""
        ended = "the call ended"
        async for item in listener.receive:
            try:
                with anyio.fail_after(self._s.send_timeout_s):
                    if isinstance(item, bytes):
                        await websocket.send_bytes(item)
                    else:
                        await websocket.send_json(item)
                        if item.get("type") == "ended":
                            ended = f"the call ended: {item.get('reason', '')}"
            except TimeoutError:
                listener.drop()
                break
        if listener.dropped:
            raise Closing(CLOSE_TOO_SLOW, "too slow to keep up with the call's audio; listen again")
        raise Closing(int(Close.NORMAL), ended)

    async def _recheck_every(self, token: str) -> None:
        while True:
            await anyio.sleep(self._s.recheck_s)
            await recheck_admin(self._p, token)

    async def _read(self, websocket: WebSocket, token: str, principal: Principal, call: LiveCall) -> None:
        talking = False
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(int(message.get("code", 1000)))
            frame = message.get("bytes")
            if frame is not None:
                if not talking:
                    raise Closing(int(Close.POLICY), 'send {"type": "talk"} (after taking the call over) before audio')
                check_frame(frame, self._limits)
                if call.control is None or not await call.control.human_audio(frame):
                    talking = False
                    await websocket.send_json({"type": "talk_ended", "reason": "the call is not taken over"})
                continue
            data = parse_control_object(message.get("text") or "")
            kind = data.get("type")
            if kind in ("say", "talk"):
                await recheck_admin(self._p, token)
            if kind == "say":
                await websocket.send_json(await self._say(principal, call, data))
            elif kind == "talk":
                reply = await self._talk(principal, call, data)
                talking = reply["type"] == "talking"
                await websocket.send_json(reply)
            else:
                raise Closing(int(Close.POLICY), f"unknown message type {str(kind)[:40]!r}; send say or talk")

    async def _say(self, principal: Principal, call: LiveCall, data: dict[str, Any]) -> dict[str, Any]:
        text = data.get("text")
        if not isinstance(text, str):
            return _error(4422, "say needs a text string")
        if call.control is None:
            return _error(4409, "the call is not ready for a person yet")
        try:
            turn = await call.control.say(principal, text)
        except OratioError as exc:
            return _error(4000 + exc.http_status, exc.message)
        return {"type": "said", "seq": turn.seq}

    async def _talk(self, principal: Principal, call: LiveCall, data: dict[str, Any]) -> dict[str, Any]:
        if not principal.allows(Scope.SESSIONS_WRITE):
            return _error(4403, "talking to the caller needs the 'sessions:write' scope")
        rate = data.get("sample_rate", LISTEN_RATE)
        if rate not in SAMPLE_RATES:
            return _error(4422, f"sample_rate must be one of {', '.join(str(r) for r in SAMPLE_RATES)}")
        with anyio.move_on_after(self._s.talk_wait_s):
            await call.taken_over_now.wait()
        if not call.taken_over or call.control is None:
            return _error(4409, "take the call over before talking")
        await call.control.talk(principal, int(rate))
        logger.info("session_id=%s subject=%s | talking to the caller", call.session_id, principal.subject)
        return {"type": "talking", "sample_rate": rate}


def _error(code: int, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}


async def _close(websocket: WebSocket, code: int, reason: str, within_s: float) -> None:
    await close_websocket(websocket, code, reason, within_s=within_s, log=logger, what="listen socket")
