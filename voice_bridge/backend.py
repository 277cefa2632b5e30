"""The seam between the bridge (one WebSocket call) and a speech backend (cascade, Nova Sonic, scripted).

A backend runs one call: it reads the customer's PCM16 frames from `audio` until that stream ends
(the customer said `end` or hung up), and reports what happens through the `VoiceSink` the bridge
gives it. The bridge owns everything that is the same whatever the backend: the wire protocol,
pacing agent audio in real time, barge-in (flushing playback when the customer speaks over the
agent), the recording, and the session's status. So a backend only turns speech into agent turns
and agent turns into speech, and the decisions are always the deployed agent's (`platform.engine`
or, for Nova Sonic, the deployed plan's own tools and rules).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from anyio.abc import ObjectReceiveStream

from schemas import EndOfTurn

Speaker = Literal["customer", "agent"]

VOICE_SUBJECT = "oratio-voice"
"""The service principal's subject when the bridge reads a call's session (`service_principal`)."""


@dataclass(frozen=True)
class Call:
    """One call as a backend sees it. `before_turn` re-checks the caller's API key (raises if revoked)."""

    tenant_id: str
    agent_id: str
    session_id: str
    input_rate: int
    output_rate: int
    before_turn: Callable[[], Awaitable[None]]
    customer: dict[str, str] | None = None
    utterance_max_s: float = 30.0
    """A customer utterance longer than this is cut there and answered."""
    voice: SpeaksText | None = None
    """The call's own voice from `VoicesPerCall.new_voice` (Nova Sonic), for `run` to connect; else None."""
    ignore_backchannels: bool = True
    """The agent's `VoiceConfig.ignore_backchannels`: "mhmm" over agent audio does not interrupt it."""
    end_of_turn: EndOfTurn = EndOfTurn.SILENCE
    """The agent's `VoiceConfig.end_of_turn`: how the cascade decides the customer has finished."""
    record_latency: Callable[[float], Awaitable[None]] | None = None
    """Stores a reply's latency (ms, end of the customer's turn to its first audio) on its agent turn."""


class VoiceSink(Protocol):
    """What a backend tells the bridge. Each call returns once the bridge has taken the event in."""

    async def speech_started(self) -> bool:
        """The customer began speaking. True when that interrupted agent audio (barge-in): the bridge
        has already flushed playback, and the backend must stop producing the interrupted reply."""
        ...

    async def transcript(self, role: Speaker, text: str, *, final: bool) -> None:
        """Words said; `final=False` for a partial (a sentence of a reply still being spoken)."""
        ...

    async def agent_audio(self, pcm16: bytes) -> None:
        """Agent speech at `Call.output_rate`, queued for real-time playback (this may wait for room)."""
        ...

    async def agent_audio_end(self) -> None:
        """The current reply has no more audio."""
        ...

    async def handoff(self, reason: str) -> None:
        """A human was asked to take over (the session is already marked)."""
        ...

    async def ended(self, reason: str) -> None:
        """The agent ended the conversation (the session is already ended); the call closes after playback."""
        ...


@runtime_checkable
class PausesAgentAudio(Protocol):
    """A sink that can pause agent audio without dropping it (the bridge's): what lets a backend hear a
    backchannel ("mhmm") out before deciding it was not an interruption (voice_bridge.backchannel). With a
    sink without it, every customer speech over agent audio is a barge-in (`VoiceSink.speech_started`)."""

    async def pause_agent_audio(self) -> bool:
        """The customer began speaking: stop sending agent audio now and keep the rest. True when a reply
        was being spoken (between two of its sentences too); False, nothing paused, when none was (its
        last audio may still be playing: that is a barge-in as before)."""
        ...

    async def resume_agent_audio(self, heard: str) -> bool:
        """That speech was only `heard` (a backchannel): agent audio goes on where it paused. False when
        the reply had sent all its audio meanwhile: nothing goes on, and `heard` is an ordinary turn. A real
        interruption calls `speech_started` instead, which drops the paused audio."""
        ...


class SpeechBackend(Protocol):
    """Speech in, agent turns, speech out, for one call at a time (one backend object serves many calls)."""

    @property
    def name(self) -> str:
        """Shown to the client in `ready` and in logs: "cascade", "nova-sonic", "scripted"."""
        ...

    async def run(self, call: Call, audio: ObjectReceiveStream[bytes], sink: VoiceSink) -> None:
        """Serve the call until `audio` ends or the agent ends the conversation.

        OratioErrors (a revoked key, an ended session) propagate: the bridge closes with their code.
        """
        ...


@runtime_checkable
class SpeaksText(Protocol):
    """A backend with a text-to-speech voice of its own (the cascade): a person's typed words are spoken
    to the caller in the agent's voice when a call is taken over. Nova Sonic has none of its own: its calls
    speak through the call's model (`VoicesPerCall`)."""

    async def speak_text(self, text: str, rate: int) -> bytes:
        """`text` as PCM16 mono at `rate`."""
        ...


@runtime_checkable
class VoicesPerCall(Protocol):
    """A backend whose only voice is each call's own model connection (Nova Sonic, speech-to-speech): a
    person's typed words are spoken by that call's model, so each call gets its own voice."""

    def new_voice(self) -> SpeaksText:
        """A voice for one call, given to `run` as `Call.voice` (it speaks once `run` has connected it)."""
        ...


@runtime_checkable
class Greets(Protocol):
    """A call's own voice that can also say the plan's greeting (Nova Sonic's: the model is told it is the
    call's start, not a person speaking through it)."""

    def greeter(self) -> SpeaksText:
        """This voice, for the greeting's sentences."""
        ...


__all__ = ["Call", "Greets", "PausesAgentAudio", "Speaker", "SpeaksText", "SpeechBackend", "VoiceSink", "VoicesPerCall"]
