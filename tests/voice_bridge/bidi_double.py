"""A scripted bidirectional model: a real `strands.bidi` BidiModel that plays a script, as Nova Sonic would.

It listens to the audio it is sent (by energy: loud frames, then `quiet_bytes` of quiet, is an
utterance), and answers each utterance with the next step: the customer's transcript, then either
a spoken reply (an assistant transcript and a tone) or a tool call, which BidiAgent runs (the
deployed plan's real tools) and answers with a tool result. Loud audio while it is speaking is a
barge-in, reported the way Nova Sonic reports one. Text the application sends (`BidiAgent.send(str)`)
is an instruction it obeys by saying the text's last line, as Nova Sonic does with a text prompt.
Each `start` is a new connection: whatever the last one had queued is gone.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from strands.bidi.models import BidiModel
from strands.bidi.types.content import BidiContentDelta, BidiMessage
from strands.bidi.types.events import (
    BidiAudioDeltaEvent,
    BidiAudioStartEvent,
    BidiAudioStopEvent,
    BidiBargeInEvent,
    BidiOutputEvent,
    BidiResponseStartEvent,
    BidiResponseStopEvent,
    BidiToolUseBlocksEvent,
    BidiTranscriptDeltaEvent,
    BidiTranscriptStartEvent,
    BidiTranscriptStopEvent,
)
from strands.bidi.types.media import AudioDelta
from strands.types.content import Messages, TextBlock
from strands.types.tools import ToolResultBlock, ToolSpec

from voice_bridge.audio import rms

OUTPUT_RATE = 24_000


@dataclass(frozen=True)
class BidiStep:
    heard: str
    say: str | None = None
    tool: str | None = None
    tool_input: dict[str, Any] = field(default_factory=dict)
    say_seconds: float = 0.5
    delta_s: float | None = None
    """Send the reply's audio in pieces this long (as Nova Sonic does), not in one piece."""
    response_start: bool = True
    """False: the tool use follows the caller's transcript with no event between them (no response start),
    so strands starts the tool while the bridge is still handling the transcript."""


class ScriptedBidiModel(BidiModel):
    def __init__(self, script: Sequence[BidiStep], *, quiet_bytes: int = 16_000) -> None:
        self._script = list(script)
        self._quiet_bytes = quiet_bytes
        self._ids = itertools.count(1)
        self._events: asyncio.Queue[BidiOutputEvent | None] = asyncio.Queue()
        self._loud = False
        self._quiet = 0
        self._speaking = False
        self._pending_tool: BidiStep | None = None
        self.started_with: dict[str, Any] = {}
        self.tool_results: list[ToolResultBlock] = []
        self.instructions: list[str] = []
        self.connections = 0
        self.spoke = asyncio.Event()
        """Set once a reply's audio is all queued (its barge-in can come from then on)."""
        self.barged_in_at: list[float] = []
        """time.perf_counter() of each barge-in the model reported."""

    def update_config(self, **model_config: Any) -> None:
        return None

    def get_config(self) -> Any:
        return {"model_id": "scripted-bidi"}

    async def start(
        self,
        system_prompt: str | None = None,
        tools: list[ToolSpec] | None = None,
        messages: Messages | None = None,
        **kwargs: Any,
    ) -> None:
        self.connections += 1
        self._events = asyncio.Queue()
        self._loud, self._quiet, self._speaking, self._pending_tool = False, 0, False, None
        self.started_with = {
            "system_prompt": system_prompt,
            "tools": sorted(spec["name"] for spec in tools or []),
            "messages": list(messages or []),
        }

    async def stop(self) -> None:
        await self._events.put(None)

    async def receive(self) -> AsyncIterable[BidiOutputEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def send(self, content: BidiMessage | BidiContentDelta) -> None:
        if isinstance(content, AudioDelta):
            await self._hear(content.source.get("bytes", b""))
            return
        texts = [block.text for block in content.content if isinstance(block, TextBlock)]
        if texts:
            self.instructions.extend(texts)
            await self._events.put(BidiResponseStartEvent(response_id="r"))
            await self._say(BidiStep(heard="", say=texts[-1].splitlines()[-1]))
            await self._events.put(BidiResponseStopEvent(response_id="r"))
            return
        for block in content.content:
            if isinstance(block, ToolResultBlock):
                self.tool_results.append(block)
        step, self._pending_tool = self._pending_tool, None
        if step is not None and step.say is not None:
            await self._say(step)
        await self._events.put(BidiResponseStopEvent(response_id="r"))

    async def _hear(self, pcm: bytes) -> None:
        if rms(pcm) > 500:
            if not self._loud and self._speaking:
                self._speaking = False
                self.barged_in_at.append(time.perf_counter())
                await self._events.put(BidiBargeInEvent())
            self._loud, self._quiet = True, 0
            return
        if not self._loud:
            return
        self._quiet += len(pcm)
        if self._quiet >= self._quiet_bytes:
            self._loud, self._quiet = False, 0
            if self._script:
                await self._answer(self._script.pop(0))

    async def _answer(self, step: BidiStep) -> None:
        heard = f"u{next(self._ids)}"
        await self._events.put(BidiTranscriptStartEvent("user", heard))
        await self._events.put(BidiTranscriptDeltaEvent(step.heard, "user", heard))
        await self._events.put(BidiTranscriptStopEvent("user", heard))
        if step.response_start:
            await self._events.put(BidiResponseStartEvent(response_id="r"))
        if step.tool is not None:
            self._pending_tool = step
            use = {"toolUseId": f"t{next(self._ids)}", "name": step.tool, "input": step.tool_input}
            await self._events.put(BidiToolUseBlocksEvent([use]))  # type: ignore[list-item]
            return
        await self._say(step)
        await self._events.put(BidiResponseStopEvent(response_id="r"))

    async def _say(self, step: BidiStep) -> None:
        assert step.say is not None
        said = f"a{next(self._ids)}"
        await self._events.put(BidiTranscriptStartEvent("assistant", said))
        await self._events.put(BidiTranscriptDeltaEvent(step.say, "assistant", said))
        await self._events.put(BidiTranscriptStopEvent("assistant", said))
        audio = f"s{next(self._ids)}"
        await self._events.put(BidiAudioStartEvent(audio))
        t = np.arange(int(step.say_seconds * OUTPUT_RATE)) / OUTPUT_RATE
        tone = (3000 * np.sin(2 * np.pi * 330.0 * t)).astype("<i2").tobytes()
        piece = len(tone) if step.delta_s is None else int(step.delta_s * OUTPUT_RATE) * 2
        for start in range(0, len(tone), piece):
            encoded = base64.b64encode(tone[start : start + piece]).decode()
            await self._events.put(BidiAudioDeltaEvent(encoded, "pcm", OUTPUT_RATE, 1, audio))
        await self._events.put(BidiAudioStopEvent(audio))
        self._speaking = True
        self.spoke.set()
