"""One voice call over one WebSocket: the protocol, the session, the backend, the recording, the close.

The order of a call: accept; read `start` (within `start_timeout_s`); check the key; start (or
resume) the session; answer `ready`; then run three things until the first of them finishes: the
receiver (customer frames and `end`), the backend, and a watchdog (idle, silence, call length).
Whatever ended the call decides the close code and the session's status; the recording is saved
on every way out, so nothing already said is lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from anyio.streams.memory import MemoryObjectSendStream
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected

from oratio.errors import InvalidState, OratioError, Unauthenticated
from oratio.http_json import close_reason
from oratio.recordings import new_call_id
from schemas import Channel, EndOfTurn, HandoffState, Role, SessionStatus
from voice_bridge.auth import authenticate, close_for, key_from
from voice_bridge.backend import Call, Greets, SpeaksText, SpeechBackend, VoicesPerCall
from voice_bridge.context import VoiceServices
from voice_bridge.greeting import GreetingCache, GreetingKey, speak_greeting
from voice_bridge.monitor import CallRegistry, LiveCall
from voice_bridge.outcome import Ended, Outcome, backend_outcome, first_outcome
from voice_bridge.pacing import AudioPacer, Clock
from voice_bridge.playback import Player
from voice_bridge.protocol import (
    Close,
    ProtocolError,
    StartMessage,
    VoiceLimits,
    check_frame,
    parse_control,
    parse_start,
)
from voice_bridge.recording import Recording
from voice_bridge.sink import BridgeSink
from voice_bridge.takeover import Takeover

logger = logging.getLogger("oratio.voice")

AUDIO_QUEUE = 64
"""Frames waiting for the backend (at most 64 x frame_max_bytes); when full, the socket waits (TCP backpressure)."""
WATCH_S = 0.25
_TRANSPORT_GONE = (WebSocketDisconnect, WebSocketDisconnected)


@dataclass(frozen=True)
class Admitted:
    """Who a call is for, and the check run before each of its turns (raises to stop the call)."""

    tenant_id: str
    agent_id: str
    before_turn: Callable[[], Awaitable[None]]


class CallSocket(Protocol):
    """What a call reads and writes: a Starlette WebSocket, or a transport adapter that speaks another
    protocol on one (voice_bridge.twilio_stream.TwilioTransport)."""

    @property
    def headers(self) -> Headers: ...

    async def accept(self) -> None: ...

    async def receive(self) -> MutableMapping[str, Any]: ...

    async def send(self, message: MutableMapping[str, Any]) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Admission(Protocol):
    """How a call is admitted from its `start`: an API key (the default), or a signed ticket (the phone door,
    voice_bridge.twilio_stream). Raises ProtocolError or OratioError to refuse the call."""

    async def __call__(self, start: StartMessage) -> Admitted: ...


class VoiceCall:
    def __init__(
        self,
        websocket: CallSocket,
        platform: VoiceServices,
        backend: SpeechBackend,
        limits: VoiceLimits,
        agent_id: str,
        clock: Clock = anyio.current_time,
        registry: CallRegistry | None = None,
        greetings: GreetingCache | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._ws = websocket
        self._admission: Admission = admission or self._key_admission
        self._greetings = greetings
        self._greeting: tuple[int, str] | None = None
        self._greeter: SpeaksText | None = None
        """The voice that says the greeting: the backend's own (cascade), or the call's (Nova Sonic)."""
        self._ignore_backchannels = True
        """The agent's `VoiceConfig.ignore_backchannels`, read at `start`."""
        self._end_of_turn = EndOfTurn.SILENCE
        """The agent's `VoiceConfig.end_of_turn`, read at `start` with its deployed plan."""
        """The deployed version and its plan's greeting, read at `start` (voice_bridge.greeting)."""
        self._registry = registry if registry is not None else CallRegistry()
        self._live: LiveCall | None = None
        self._takeover: Takeover | None = None
        self._clock = clock
        self._platform = platform
        self._backend = backend
        self._limits = limits
        self._agent_id = agent_id
        # Uncontended (the usual case), taking the lock does not yield to the loop: every message the call sends
        # (20 a second while the agent speaks) cost an extra loop pass with the default lock.
        self._send_lock = anyio.Lock(fast_acquire=True)
        self._closed = False
        self._last_frame_at = 0.0
        self._last_speech_at = 0.0
        self._in_reply = False
        self._call_id = new_call_id()

    # -- sending ---------------------------------------------------------------------------------

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._send({"type": "websocket.send", "text": json.dumps(message)})

    async def send_audio(self, pcm16: bytes) -> None:
        if self._live is not None:
            self._live.call_audio(pcm16)
        await self._send({"type": "websocket.send", "bytes": pcm16})

    async def _send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            if self._closed:
                return
            try:
                await self._ws.send(message)
            except _TRANSPORT_GONE:
                self._closed = True

    async def close(self, code: Close, reason: str) -> None:
        async with self._send_lock:
            if self._closed:
                return
            self._closed = True
            try:
                await self._ws.close(code=int(code), reason=close_reason(reason))
            except _TRANSPORT_GONE:
                pass

    # -- the call --------------------------------------------------------------------------------

    async def serve(self) -> None:
        await self._ws.accept()
        try:
            start = await self._read_start()
            grant = await self._admission(start)
            session_id, taken_over = await anyio.to_thread.run_sync(self._open_session, grant, start)
        except ProtocolError as exc:
            await self._refuse(exc.code, exc.reason)
            return
        except OratioError as exc:
            await self._refuse(close_for(exc), exc.message)
            return
        except ValidationError as exc:
            # A value the stored session refuses (a `customer` value over the schema's limit): the
            # start message is bad, not Oratio.
            await self._refuse(Close.POLICY, f"bad start message: {_first_error(exc)}")
            return
        except _TRANSPORT_GONE:
            return
        await self._run(grant, start, session_id, taken_over)

    async def _key_admission(self, start: StartMessage) -> Admitted:
        """The agent's API key (a header, or `api_key` in `start`), re-checked before every turn."""
        secret = key_from(self._ws.headers, start.api_key)
        grant = await authenticate(self._platform, secret, self._agent_id)

        async def before_turn() -> None:
            try:
                await authenticate(self._platform, secret, self._agent_id)
            except Unauthenticated:
                raise ProtocolError(Close.FORBIDDEN, "the API key was revoked during the call") from None

        return Admitted(grant.tenant_id, grant.agent_id, before_turn)

    async def _refuse(self, code: Close, reason: str) -> None:
        logger.info("agent_id=%s code=%d | voice call refused: %s", self._agent_id, code, reason)
        await self.send_json({"type": "error", "code": int(code), "message": reason})
        await self.close(code, reason)

    async def _read_start(self) -> StartMessage:
        with anyio.move_on_after(self._limits.start_timeout_s):
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1006))
            if message.get("text") is None:
                raise ProtocolError(Close.UNSUPPORTED, "send the JSON start message before any audio")
            return parse_start(message["text"])
        raise ProtocolError(Close.IDLE, f"no start message within {self._limits.start_timeout_s:g}s")

    def _open_session(self, grant: Admitted, start: StartMessage) -> tuple[str, bool]:
        """The session's id, and whether a person has it taken over already (a call resumed mid-takeover)."""
        # The deployed plan is loaded (and its sha256 checked) before a session exists: a call to an agent
        # whose plan is not the reviewed one is refused at `start`, not after the customer has spoken.
        agent, artifact = self._platform.agents.artifact(grant.tenant_id, grant.agent_id)
        self._ignore_backchannels = agent.spec.voice.ignore_backchannels
        self._end_of_turn = agent.spec.voice.end_of_turn
        # The same path and rules as the text runtime: an admin's test chat reads as unknown to a key.
        found = self._platform.sessions.open_or_continue(
            grant.tenant_id, grant.agent_id, start.session_id, Channel.VOICE, start.customer
        )
        if artifact.plan.greeting and not found.turns:
            # A new conversation is greeted; a call resumed after some words were said is not, again.
            self._greeting = (artifact.version, artifact.plan.greeting)
        handoff = found.session.handoff
        return found.session.id, handoff is not None and handoff.state is HandoffState.TAKEN_OVER

    async def _run(self, grant: Admitted, start: StartMessage, session_id: str, taken_over: bool) -> None:
        # Registered before `ready`: an admin told the session id finds the call at once.
        rates = (start.audio.sample_rate, start.output_sample_rate)
        with self._registry.serving(grant.tenant_id, grant.agent_id, session_id, *rates) as live:
            self._live = live
            await self._run_call(grant, start, session_id, taken_over, live)

    async def _record_latency(self, tenant_id: str, session_id: str, latency_ms: float) -> None:
        """One reply's latency onto its agent turn, off the loop (a store write)."""
        record = self._platform.stats.record_latency
        await anyio.to_thread.run_sync(record, tenant_id, session_id, latency_ms)

    async def _run_call(
        self, grant: Admitted, start: StartMessage, session_id: str, taken_over: bool, live: LiveCall
    ) -> None:
        limits = self._limits
        output_rate = start.output_sample_rate
        recording = Recording(start.audio.sample_rate, output_rate, limits.call_max_s, limits.recording_max_bytes)
        # Started before `ready`: the client's audio cannot arrive before its pacing clock starts.
        pacer = AudioPacer(start.audio.sample_rate, limits.burst_s, self._clock)
        player = Player(self.send_audio, output_rate, limits.playback_lead_s, recording)
        sink = BridgeSink(self, player)
        own_voice = self._backend.new_voice() if isinstance(self._backend, VoicesPerCall) else None
        voice: SpeaksText | None = self._backend if isinstance(self._backend, SpeaksText) else own_voice
        self._greeter = own_voice.greeter() if isinstance(own_voice, Greets) else voice
        self._takeover = live.control = Takeover(live, player, sink, self.send_json, voice, self._platform.handoff.say)

        call = Call(
            tenant_id=grant.tenant_id,
            agent_id=grant.agent_id,
            session_id=session_id,
            input_rate=start.audio.sample_rate,
            output_rate=output_rate,
            before_turn=grant.before_turn,
            customer=start.customer,
            utterance_max_s=limits.utterance_max_s,
            voice=own_voice,
            ignore_backchannels=self._ignore_backchannels,
            end_of_turn=self._end_of_turn,
            record_latency=partial(self._record_latency, grant.tenant_id, session_id),
        )
        await self.send_json(
            {
                "type": "ready",
                "session_id": session_id,
                "backend": self._backend.name,
                "audio": {"encoding": "pcm16", "sample_rate": output_rate, "channels": 1},
                "limits": {
                    "frame_max_bytes": limits.frame_max_bytes,
                    "idle_timeout_s": limits.idle_timeout_s,
                    "silence_timeout_s": limits.silence_timeout_s,
                    "utterance_max_s": limits.utterance_max_s,
                    "call_max_s": limits.call_max_s,
                    "burst_s": limits.burst_s,
                    "recording_max_bytes": recording.max_bytes,
                },
            }
        )
        logger.info("session_id=%s backend=%s | voice call started", session_id, self._backend.name)
        # Whatever happens below, the recording so far is saved and the session settled.
        outcome = Outcome(Close.INTERNAL, "the voice service failed; try again", SessionStatus.ERROR)
        if taken_over:
            await self._takeover.take_over("a person")
        try:
            outcome = await self._converse(call, recording, pacer, player, sink, greet=not taken_over)
        finally:
            live.end(outcome.reason)
            await self._finish(call, recording, outcome)
        # Closed once the session is settled: a caller who reconnects at once, or an admin who returns the
        # session the moment the socket closes, never races the ended call's status write.
        await self.close(outcome.code, outcome.reason)

    async def _converse(
        self, call: Call, recording: Recording, pacer: AudioPacer, player: Player, sink: BridgeSink, *, greet: bool
    ) -> Outcome:
        now = anyio.current_time()
        self._last_frame_at = self._last_speech_at = now
        audio_in, audio_out = anyio.create_memory_object_stream[bytes](AUDIO_QUEUE)
        outcome: Outcome | None = None
        try:
            with anyio.move_on_after(self._limits.call_max_s) as overall:
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(self._receive, recording, pacer, audio_in)
                    tasks.start_soon(self._watch, player)
                    tasks.start_soon(self._converse_backend, call, audio_out, sink, player)
                    tasks.start_soon(self._follow_handoff)
                    if greet and self._greeting is not None:
                        tasks.start_soon(self._greet, call, sink)
        except* Ended as group:
            outcome = first_outcome(group)
        if outcome is None:
            assert overall.cancelled_caught
            reason = f"the call reached its limit of {self._limits.call_max_s:g}s"
            outcome = Outcome(Close.TOO_LONG, reason, SessionStatus.INTERRUPTED)
        if outcome.normal:
            await self.send_json({"type": "ended", "reason": outcome.reason})
        elif not outcome.client_gone:
            await self.send_json({"type": "error", "code": int(outcome.code), "message": outcome.reason})
        return outcome

    async def _converse_backend(
        self, call: Call, audio: ObjectReceiveStream[bytes], sink: BridgeSink, player: Player
    ) -> None:
        try:
            await self._backend.run(call, audio, sink)
        except Exception as exc:
            raise Ended(backend_outcome(call, exc)) from None
        if sink.ended_reason is not None:
            await player.drain()
            raise Ended(Outcome(Close.NORMAL, sink.ended_reason))
        # The backend stopped because the audio ended: the receiver decides the outcome.
        await anyio.sleep_forever()

    async def _greet(self, call: Call, sink: BridgeSink) -> None:
        """The plan's greeting, at once (voice_bridge.greeting), cached alike for every backend: said by the
        backend's voice (cascade), or by the call's own model (Nova Sonic, `Greets`)."""
        voice = self._greeter
        if self._greeting is None or voice is None:
            return
        version, text = self._greeting
        key = GreetingKey(call.tenant_id, call.agent_id, version, self._backend.name, call.output_rate)
        try:
            # Stored as the agent's first turn: the transcript, the dashboard and the model all see it.
            append = self._platform.sessions.append_turn
            await anyio.to_thread.run_sync(append, call.tenant_id, call.session_id, Role.AGENT, text)
            await speak_greeting(text, key, voice, sink, self._greetings)
        except Exception:
            # A voice that fails on the greeting must not end the call: the caller can still speak.
            logger.exception("session_id=%s | the greeting could not be spoken", call.session_id)

    async def _follow_handoff(self) -> None:
        """Take overs, returns and a person's messages, from the session's events (voice_bridge.takeover)."""
        assert self._takeover is not None
        await self._takeover.follow(self._platform.tailer())

    async def _receive(self, recording: Recording, pacer: AudioPacer, audio: ObjectSendStream[bytes]) -> None:
        async with audio:
            while True:
                try:
                    message = await self._ws.receive()
                except _TRANSPORT_GONE:
                    message = {"type": "websocket.disconnect", "code": 1006}
                except ProtocolError as exc:  # a transport adapter's own refusal (voice_bridge.twilio_stream)
                    raise Ended(Outcome(exc.code, exc.reason, SessionStatus.INTERRUPTED)) from None
                if message["type"] == "websocket.disconnect":
                    outcome = Outcome(
                        Close.NORMAL, "the customer hung up without end", SessionStatus.INTERRUPTED, client_gone=True
                    )
                    raise Ended(outcome)
                try:
                    if (frame := message.get("bytes")) is not None:
                        check_frame(frame, self._limits)
                        pacer.admit(frame)
                        self._last_frame_at = anyio.current_time()
                        recording.customer(frame)
                        if self._live is not None:
                            self._live.customer_audio(frame)
                        await _hand_over(audio, frame)
                        if recording.full:
                            reason = f"the call reached its recording limit of {recording.max_bytes} bytes"
                            raise Ended(Outcome(Close.TOO_LONG, reason, SessionStatus.INTERRUPTED))
                    else:
                        parse_control(message.get("text") or "")
                        raise Ended(Outcome(Close.NORMAL, "the customer ended the call", SessionStatus.COMPLETED))
                except ProtocolError as exc:
                    raise Ended(Outcome(exc.code, exc.reason, SessionStatus.INTERRUPTED)) from None

    async def _watch(self, player: Player) -> None:
        """Idle (no frames) and silence (frames, but nobody speaking) limits.

        Neither runs while the agent is thinking or speaking: a half-duplex client may stop sending
        audio while it listens, and a long reply is not the customer's silence.
        """
        limits = self._limits
        busy_at = anyio.current_time()
        while True:
            now = anyio.current_time()
            if player.playing() or self._in_reply or (self._takeover is not None and self._takeover.active):
                busy_at = now
            frames = max(self._last_frame_at, busy_at)
            if now - frames >= limits.idle_timeout_s:
                reason = f"no audio for {limits.idle_timeout_s:g}s"
                raise Ended(Outcome(Close.IDLE, reason, SessionStatus.INTERRUPTED))
            active = max(self._last_speech_at, busy_at)
            if now - active >= limits.silence_timeout_s:
                reason = f"nobody spoke for {limits.silence_timeout_s:g}s"
                raise Ended(Outcome(Close.IDLE, reason, SessionStatus.INTERRUPTED))
            next_check = min(frames + limits.idle_timeout_s, active + limits.silence_timeout_s)
            # Woken at least every WATCH_S, so a reply that starts and ends between checks still counts.
            await anyio.sleep(min(max(next_check - now, 0.01), WATCH_S))

    def heard_speech(self) -> None:
        self._last_speech_at = anyio.current_time()

    def replying(self, value: bool) -> None:
        self._in_reply = value
        self._last_speech_at = anyio.current_time()

    async def _finish(self, call: Call, recording: Recording, outcome: Outcome) -> None:
        """Save the recording and settle the session's status, whatever ended the call."""
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(self._settle, call, recording, outcome)
            except OratioError as exc:
                logger.error("session_id=%s | could not save the call: %s", call.session_id, exc.message)
            finally:
                recording.close()
        logger.info("session_id=%s code=%d | voice call ended: %s", call.session_id, outcome.code, outcome.reason)

    def _settle(self, call: Call, recording: Recording, outcome: Outcome) -> None:
        sessions = self._platform.sessions
        with recording.wav_file() as wav:
            key = sessions.save_recording(
                call.tenant_id, call.agent_id, call.session_id, self._call_id, wav, seconds=recording.seconds
            )
        if outcome.status is None:
            return
        # The status alone: one record read, not the whole transcript (a long call has hundreds of turns).
        if sessions.status(call.tenant_id, call.session_id) is not SessionStatus.ACTIVE:
            return  # handoff stays handoff_requested; an ended session stays ended
        try:
            sessions.set_status(call.tenant_id, call.session_id, outcome.status, f"{outcome.reason}; recording {key}")
        except InvalidState:
            pass  # ended meanwhile (the agent, an admin): its status stands


async def _hand_over(audio: ObjectSendStream[bytes], frame: bytes) -> None:
    """`frame` to the backend: at once while the queue has room (no loop pass a frame; the frames a busy loop
    finds waiting then reach the listener together: voice_bridge.detection.take_waiting), else waiting for room."""
    if isinstance(audio, MemoryObjectSendStream):
        try:
            audio.send_nowait(frame)
            return
        except anyio.WouldBlock:
            pass
    await audio.send(frame)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "start"
    return f"{where}: {first['msg']}"
