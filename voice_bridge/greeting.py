"""The plan's greeting, spoken as soon as a call starts, so the caller hears the agent within a second.

Why a cache and sentences: synthesising a whole greeting takes longer than the caller should wait
(Piper took 2.4 s for a three-sentence greeting on a 2-core CPU, all before the first sample: bench/greeting.py).
So the greeting is synthesised sentence by sentence, the first played while the next is made, and the
audio of each sentence is kept in a bounded LRU cache keyed by (tenant, agent, deployed version, voice,
rate): the next call to the same agent version plays it at once. A new deploy is a new version, so a
changed greeting is never served stale; sentences are dropped oldest first past `GreetingCache.max_entries`,
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
    """Synthesised greeting sentences, least recently used dropped first past `max_entries` (0: off).

    By sentence, not whole greetings: a caller who hangs up (or talks) after the first sentence still
    leaves that sentence cached, and the first sentence is all the next caller's first audio needs.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[GreetingKey, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: GreetingKey, sentence: str) -> bytes | None:
        with self._lock:
            found = self._entries.get((key, sentence))
            if found is not None:
                self._entries.move_to_end((key, sentence))
            return found

    def put(self, key: GreetingKey, sentence: str, pcm16: bytes) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._entries[(key, sentence)] = pcm16
            self._entries.move_to_end((key, sentence))
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
    """Send the greeting's transcript, then its audio a sentence at a time: from the cache, or synthesised
    (and cached) while the sentence before it plays. Stops at the first barge-in."""
    await sink.transcript("agent", text, final=True)
    interruptions = sink.interruptions
    for sentence in greeting_sentences(text):
        pcm = cache.get(key, sentence) if cache is not None else None
        if pcm is None:
            pcm = await voice.speak_text(sentence, key.rate)
            if cache is not None and pcm:  # a voice that said nothing (a model not connected) is not kept
                cache.put(key, sentence, pcm)
        if sink.interruptions != interruptions:
            break  # the caller spoke over it: the rest is not played
        await sink.agent_audio(pcm)
    await sink.agent_audio_end()
