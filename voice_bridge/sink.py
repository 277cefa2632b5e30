"""The bridge's side of `VoiceSink`: a backend's events become control messages, its audio goes to the player."""

from __future__ import annotations

from typing import Any, Protocol

from voice_bridge.audio import SAMPLE_BYTES
from voice_bridge.backend import Speaker
from voice_bridge.playback import Player


class CallSide(Protocol):
    """What the sink needs of the call: sending, and noting activity for the silence limit."""

    async def send_json(self, message: dict[str, Any]) -> None: ...

    def heard_speech(self) -> None: ...

    def replying(self, value: bool) -> None: ...


class BridgeSink:
    """The bridge's side of `VoiceSink`: events to the client, audio through the player."""

    def __init__(self, call: CallSide, player: Player) -> None:
        self._call = call
        self._player = player
        self._speaking = False
        self.ended_reason: str | None = None
        self.interruptions = 0
        """Barge-ins so far: a greeting being synthesised stops when this changes (voice_bridge.greeting)."""
        self.held = False
        """A person took the call over: the agent's words and audio are not sent (voice_bridge.takeover)."""

    async def speech_started(self) -> bool:
        self._call.heard_speech()
        if not self._player.flush():
            return False
        self.interruptions += 1
        self._speaking = False
        await self._call.send_json({"type": "interrupted"})
        return True

    async def pause_agent_audio(self) -> bool:
        """Customer speech over agent audio that may be a backchannel: the player stops sending, keeps the rest."""
        self._call.heard_speech()
        if not self._speaking:
            return False  # no reply mid-way (its last sentence may still play): a barge-in as ever
        self._player.pause()
        return True

    async def resume_agent_audio(self, heard: str) -> bool:
        """It was a backchannel: the client is told (it is not a turn) and agent audio goes on."""
        self._player.resume()
        if not self._speaking:
            return False  # the reply had sent all its audio: nothing goes on, the words are a turn
        await self._call.send_json({"type": "backchannel", "text": heard})
        return True

    async def transcript(self, role: Speaker, text: str, *, final: bool) -> None:
        if role == "customer" and final:
            self._call.replying(True)
        if role == "agent" and final:
            self._call.replying(False)
        if role == "agent" and self.held:
            return
        await self._call.send_json({"type": "transcript", "role": role, "text": text, "final": final})

    async def agent_audio(self, pcm16: bytes) -> None:
        if self.held:
            return
        if not self._speaking:
            self._speaking = True
            await self._call.send_json({"type": "agent_audio_start"})
        await self._player.play(pcm16[: len(pcm16) - len(pcm16) % SAMPLE_BYTES])

    async def agent_audio_end(self) -> None:
        if self._speaking:
            self._speaking = False
            await self._call.send_json({"type": "agent_audio_end"})

    async def handoff(self, reason: str) -> None:
        await self._call.send_json({"type": "handoff", "reason": reason})

    async def ended(self, reason: str) -> None:
        self.ended_reason = reason
