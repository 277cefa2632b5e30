"""The calls this bridge process is serving, and who is listening to each (listen-in, issue 19).

A call registers itself here once its session is open, and leaves when it ends. An admin's listen
socket (voice_bridge.listen) finds the call by session id, within the admin's own tenant only, and
becomes one of its listeners. The call hands every frame it receives from the caller and every frame
it sends to the caller to its `LiveCall`, which, when someone listens, resamples them to
`LISTEN_RATE` and offers them to each listener's queue without ever waiting: a listener whose queue is
full is dropped (its socket closes with 1013), so a slow admin can never slow the call down. With
nobody listening a frame costs one length check.

Listener frames are binary: one byte naming the channel (`CHANNELS`), one zero byte (so the PCM16
samples that follow start on an even offset, which `Int16Array` needs), then PCM16 mono at
`LISTEN_RATE`. Control messages (taken over, returned, ended) are JSON text frames.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from schemas import Principal, Turn
from voice_bridge.audio import Resampler

logger = logging.getLogger("oratio.voice")

LISTEN_RATE = 16_000
"""Listeners hear both sides at this rate, whatever rates the caller chose."""


class Channel(IntEnum):
    """The first byte of a listener's binary frame: whose audio it is."""

    CUSTOMER = 1  # the caller's microphone
    AGENT = 2  # what the caller hears from the agent (its TTS)
    HUMAN = 3  # what the caller hears from the person who took the call over


CHANNELS = {int(c): c.name.lower() for c in Channel}


@dataclass(frozen=True)
class MonitorLimits:
    """How much a listener may fall behind, and how many may listen to one call."""

    queue_frames: int = 200
    """Frames queued per listener (about 4-10 s of audio); one more and the listener is dropped."""
    listeners_max: int = 8
    """Listeners per call; one more is refused (4429)."""


Item = bytes | dict[str, Any]


@dataclass(eq=False)
class Listener:
    """One admin listening: frames (bytes) and control messages (dicts) in order, through a bounded queue."""

    subject: str
    send: MemoryObjectSendStream[Item]
    receive: MemoryObjectReceiveStream[Item]
    dropped: bool = False

    def offer(self, item: Item) -> bool:
        """Queue `item` without waiting; False (and the listener is closed) when the queue is full."""
        if self.dropped:
            return False
        try:
            self.send.send_nowait(item)
        except anyio.WouldBlock:
            self.drop()
            return False
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.dropped = True
            return False
        return True

    def drop(self) -> None:
        self.dropped = True
        self.send.close()


class CallControl(Protocol):
    """What a listen socket may do to the call once its admin holds sessions:write (voice_bridge.takeover)."""

    async def take_over(self, by: str) -> None: ...

    async def say(self, principal: Principal, text: str) -> Turn: ...

    async def talk(self, principal: Principal, rate: int) -> None: ...

    async def human_audio(self, pcm16: bytes) -> bool: ...


class TooManyListeners(Exception):
    """The call already has `MonitorLimits.listeners_max` listeners."""


@dataclass(eq=False)
class LiveCall:
    """What listeners and a person taking over need of a call in progress in this process."""

    tenant_id: str
    agent_id: str
    session_id: str
    input_rate: int
    output_rate: int
    limits: MonitorLimits = field(default_factory=MonitorLimits)
    taken_over: bool = False
    control: CallControl | None = None
    taken_over_now: anyio.Event = field(default_factory=anyio.Event)
    """Set while the call is taken over (a listen socket's `talk` waits on it for the event to arrive)."""
    listeners: set[Listener] = field(default_factory=set)
    _from_customer: Resampler | None = None
    _from_call: Resampler | None = None

    def __post_init__(self) -> None:
        self._from_customer = Resampler(self.input_rate, LISTEN_RATE)
        self._from_call = Resampler(self.output_rate, LISTEN_RATE)

    @contextmanager
    def listener(self, subject: str) -> Iterator[Listener]:
        """A new listener for as long as the block runs; TooManyListeners past the limit."""
        if len(self.listeners) >= self.limits.listeners_max:
            raise TooManyListeners(f"this call already has {self.limits.listeners_max} listeners")
        send, receive = anyio.create_memory_object_stream[Item](self.limits.queue_frames)
        listener = Listener(subject, send, receive)
        self.listeners.add(listener)
        logger.info("session_id=%s subject=%s | listening in", self.session_id, subject)
        try:
            yield listener
        finally:
            self.listeners.discard(listener)
            send.close()
            receive.close()

    def customer_audio(self, pcm16: bytes) -> None:
        """A frame the caller sent (at `input_rate`)."""
        if self.listeners and self._from_customer is not None:
            self._fan_out(Channel.CUSTOMER, self._from_customer.feed(pcm16))

    def call_audio(self, pcm16: bytes) -> None:
        """A frame the caller is sent (at `output_rate`): the agent's, or the person's once taken over."""
        if self.listeners and self._from_call is not None:
            self._fan_out(Channel.HUMAN if self.taken_over else Channel.AGENT, self._from_call.feed(pcm16))

    def tell(self, message: dict[str, Any]) -> None:
        """A control message for every listener (taken over, returned, ended)."""
        for listener in list(self.listeners):
            listener.offer(message)

    def end(self, reason: str) -> None:
        """The call ended: every listener is told and its queue closed."""
        self.tell({"type": "ended", "reason": reason})
        for listener in list(self.listeners):
            listener.send.close()

    def _fan_out(self, channel: Channel, pcm16: bytes) -> None:
        if not pcm16:
            return
        frame = bytes((int(channel), 0)) + pcm16
        for listener in list(self.listeners):
            if not listener.offer(frame):
                self.listeners.discard(listener)
                logger.info("session_id=%s subject=%s | slow listener dropped", self.session_id, listener.subject)


class CallRegistry:
    """The calls in progress in this bridge process, by session id."""

    def __init__(self, limits: MonitorLimits | None = None) -> None:
        self.limits = limits or MonitorLimits()
        self._calls: dict[str, LiveCall] = {}

    @contextmanager
    def serving(
        self, tenant_id: str, agent_id: str, session_id: str, input_rate: int, output_rate: int
    ) -> Iterator[LiveCall]:
        """Register a call while the block runs (a session resumed on a second socket replaces the first)."""
        call = LiveCall(tenant_id, agent_id, session_id, input_rate, output_rate, self.limits)
        self._calls[session_id] = call
        try:
            yield call
        finally:
            if self._calls.get(session_id) is call:
                del self._calls[session_id]

    def find(self, tenant_id: str, session_id: str) -> LiveCall | None:
        """The call of `session_id` if it is in progress here AND in `tenant_id` (never another tenant's)."""
        call = self._calls.get(session_id)
        return call if call is not None and call.tenant_id == tenant_id else None

    def __len__(self) -> int:
        return len(self._calls)
