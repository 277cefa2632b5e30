"""The plan's greeting, spoken as soon as a call starts, so the caller hears the agent within a second.

Why a cache and sentences: synthesising a whole greeting takes longer than the caller should wait
(Piper needs ~1 s for three sentences on a 2-core CPU, and the whole of it before the first sample).
So the greeting is synthesised sentence by sentence, the first played while the next is made, and the
audio is kept in a bounded LRU cache keyed by (tenant, agent, deployed version, voice, rate): the
second call to the same agent version plays it at once. A new deploy is a new version, so a changed
greeting is never served stale; entries are dropped oldest first past `GreetingCache.max_entries`,
and the greeting itself is at most 500 characters (schemas.plan), so memory is bounded.

Barge-in: the greeting goes through the call's sink like any reply; a customer who talks over it
flushes playback, and the sentences not yet played are dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from voice_bridge.backend import SpeaksText
from voice_bridge.sentences import SentenceSplitter
from voice_bridge.sink import BridgeSink


@dataclass(frozen=True)
class GreetingKey:
    tenant_id: str
    agent_id: str
    version: int
    voice: str
    rate: int


class GreetingCache:
    """Synthesised greetings, least recently used dropped first past `max_entries` (0 disables it)."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[GreetingKey, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: GreetingKey, text: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != text:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: GreetingKey, text: str, pcm16: bytes) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = (text, pcm16)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def greeting_sentences(text: str) -> list[str]:
    splitter = SentenceSplitter()
    return [*splitter.add(text), *splitter.flush()]


async def speak_greeting(
    text: str, key: GreetingKey, voice: SpeaksText, sink: BridgeSink, cache: GreetingCache | None
) -> None:
    """Send the greeting's transcript, then its audio: cached whole, or synthesised sentence by sentence."""
    await sink.transcript("agent", text, final=True)
    cached = cache.get(key, text) if cache is not None else None
    interruptions = sink.interruptions
    if cached is not None:
        await sink.agent_audio(cached)
    else:
        parts: list[bytes] = []
        for sentence in greeting_sentences(text):
            pcm = await voice.speak_text(sentence, key.rate)
            parts.append(pcm)
            if sink.interruptions != interruptions:
                break  # the caller spoke over it: the rest is not played (and not cached half-made)
            await sink.agent_audio(pcm)
        else:
            if cache is not None:
                cache.put(key, text, b"".join(parts))
    await sink.agent_audio_end()
