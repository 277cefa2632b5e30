"""A person's typed words spoken on a Nova Sonic call, by the call's own model ("say exactly").

Nova Sonic is speech-to-speech: the process has no text-to-speech voice for its calls. The cascade's
TTS (Piper, eSpeak) is built only when the cascade is the backend, would need its voice models on
a Nova Sonic deployment, and would speak in another voice than the one the caller has heard all along.
So while a person has the call, each sentence of their message (`voice_bridge.takeover` splits it) is
sent on the call's open model connection as the same "say exactly" instruction the pause uses for the
handoff message, and the audio of the model's answer is collected here: the backend neither plays it
nor stores it as the agent's turn (the person's turn is already stored, with their exact text), and
the takeover plays it as the person's words (`human_audio_start`, the listeners' channel 3, the
recording). The model may not say it word for word: the transcript shows what the person typed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from voice_bridge.audio import resample
from voice_bridge.nova_prompts import GREET, RELAY, say_exactly

RELAY_TIMEOUT_S = 15.0
"""A sentence the model has not finished saying by then is played as far as it got (a stuck model
must not hold the person's later messages forever)."""

Send = Callable[[str], Awaitable[None]]


@dataclass
class Relayed:
    """The model's audio for one sentence, at the rate the call plays."""

    rate: int
    pcm: bytearray = field(default_factory=bytearray)
    done: anyio.Event = field(default_factory=anyio.Event)

    def add(self, pcm16: bytes, sample_rate: int) -> None:
        self.pcm += resample(pcm16, sample_rate, self.rate)


class SaysExactly:
    """One Nova Sonic call's voice (`SpeaksText`): connected by the backend while the model's connection runs."""

    def __init__(self) -> None:
        self._send: Send | None = None
        self._connected = anyio.Event()
        self._lock = anyio.Lock()
        self.current: Relayed | None = None
        """The sentence being said: the backend routes the model's audio here instead of to the caller."""

    def connect(self, send: Send) -> None:
        self._send = send
        self._connected.set()

    def disconnect(self) -> None:
        self._send = None
        self._connected = anyio.Event()
        self.finish()

    def greeter(self) -> Saying:
        """This voice saying the plan's greeting (the call's first words), a sentence at a time."""
        return Saying(self, GREET)

    def finish(self) -> None:
        """The model's answer ended (or its connection did): hand over what was collected."""
        if self.current is not None:
            self.current.done.set()

    async def speak_text(self, text: str, rate: int) -> bytes:
        """`text` said by the call's model, as PCM16 at `rate`; empty when the model is not connected."""
        return await self.say(text, rate, RELAY)

    async def say(self, text: str, rate: int, template: str) -> bytes:
        """`text` said by the call's model on `template`'s instruction; waits (bounded) for the connection,
        which a call's first words (the greeting) may come before."""
        async with self._lock:  # one sentence at a time: each answer is told apart by order
            with anyio.move_on_after(RELAY_TIMEOUT_S):
                await self._connected.wait()
            send = self._send
            if send is None or not text.strip():
                return b""
            relayed = self.current = Relayed(rate)
            try:
                await send(say_exactly(template, text))
                with anyio.move_on_after(RELAY_TIMEOUT_S):
                    await relayed.done.wait()
            finally:
                self.current = None
            return bytes(relayed.pcm)


@dataclass(frozen=True)
class Saying:
    """A `SpeaksText` that has the call's model say text on one instruction (the greeting's)."""

    says: SaysExactly
    template: str

    async def speak_text(self, text: str, rate: int) -> bytes:
        return await self.says.say(text, rate, self.template)


__all__ = ["RELAY_TIMEOUT_S", "Relayed", "SaysExactly", "Saying"]
