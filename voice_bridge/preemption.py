"""Preemptive reply: draft and synthesise the agent's first sentence while the endpointer is still waiting.

Speculative transcription (`voice_bridge.speculation`) has the customer's words at the first short pause
(0.2 s), ~0.4 s before the hangover ends the turn. With preemption the cascade then asks the engine for a
draft of the reply (`ConversationEngine.draft_reply`: nothing stored, sent or done) and synthesises its
first sentence in a worker thread, holding the audio. Then:

- the turn ends with no speech after that pause and its words are the speculative ones: the responder
  `claim`s the job and runs the turn as always (`stream_turn`, which stores both sides once); when the
  committed turn's first sentence is the drafted one, the speaker plays the held audio instead of
  synthesising it again, so TTS has already been paid during the hangover;
- speech resumes (or another utterance starts, or the words differ): the job is dropped, its synthesis
  cancelled or its audio thrown away. Nothing of it was stored or sent, so it leaves no trace.

The held audio is only ever played for the exact sentence the committed turn said, so a draft that guessed
wrong (a model that samples, history that moved on) costs a synthesis, never a wrong word.

Bounds: one job per call at a time (a newer pause replaces it), a job holds one sentence of audio, and a
job is only started while nothing else is being answered, so a draft never races a turn of the same call.
Counters (`PreemptionStats`, shared by the backend's calls) say which path each turn took.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from voice_bridge.endpointing import Utterance
from voice_bridge.sentences import SentenceSplitter

logger = logging.getLogger("oratio.voice")

Drafter = Callable[[str], Awaitable[str | None]]
"""The customer's words -> the agent's drafted reply, or None when none may be drafted."""
Synthesiser = Callable[[str], Awaitable[bytes]]
"""A sentence -> its audio at the TTS rate, computed off the event loop."""


@dataclass
class PreemptionStats:
    """What preemption did, summed over a backend's calls."""

    started: int = 0  # drafts started on a speculative transcript
    declined: int = 0  # no draft: the engine would not draft this turn, or it came out empty or not clean
    held: int = 0  # first sentences synthesised and held
    played: int = 0  # held audio played for a confirmed turn
    missed: int = 0  # confirmed, but the committed turn's first sentence was not the drafted one
    discarded: int = 0  # dropped: speech resumed, another utterance, other words


@dataclass
class HeldReply:
    """A drafted first sentence and, once synthesised, its audio (at the TTS rate)."""

    seq: int
    length: int
    text: str
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    sentence: str | None = None
    pcm: bytes | None = None

    async def audio_for(self, sentence: str) -> bytes | None:
        """The held audio if `sentence` is the drafted one (waiting for a draft or synthesis still under way);
        None when it is another sentence or the job failed."""
        if self.sentence is not None and self.sentence != sentence:
            return None  # known to differ: not worth waiting for
        await self.done.wait()
        return self.pcm if self.sentence == sentence else None


def settle(stats: PreemptionStats, job: HeldReply, played: bool) -> None:
    """Count how a claimed job ended (its audio played, or the committed turn said something else), and
    stop what is left of it."""
    if played:
        stats.played += 1
    else:
        stats.missed += 1
        job.scope.cancel()


def first_sentence(reply: str) -> str | None:
    """The reply's first sentence as the speaker will see it (the same splitter, fed the whole reply)."""
    splitter = SentenceSplitter()
    sentences = splitter.add(reply) or splitter.flush()
    return sentences[0] if sentences else None


class Preemptor:
    """One call's preemptive reply; its jobs run in `tasks` (the call's background group)."""

    def __init__(
        self,
        tasks: TaskGroup,
        draft: Drafter,
        synthesise: Synthesiser,
        stats: PreemptionStats,
        on_held: Callable[[], None] = lambda: None,
    ) -> None:
        self._tasks = tasks
        self._draft = draft
        self._synthesise = synthesise
        self._stats = stats
        self._on_held = on_held
        self._job: HeldReply | None = None

    @property
    def job(self) -> HeldReply | None:
        """The job in progress or held, if any (the listener drops it when speech resumes)."""
        return self._job

    def start(self, seq: int, length: int, text: str) -> None:
        """Draft a reply to `text`, the speculative words of utterance `seq` at its pause of `length` bytes."""
        self.drop()
        if not text:
            return
        job = self._job = HeldReply(seq, length, text)
        self._stats.started += 1
        self._tasks.start_soon(self._run, job)

    async def _run(self, job: HeldReply) -> None:
        with job.scope:
            try:
                reply = await self._draft(job.text)
                sentence = first_sentence(reply) if reply else None
                if sentence is None:
                    self._stats.declined += 1
                    return
                job.sentence = sentence
                pcm = await self._synthesise(sentence)
                if not pcm:
                    self._stats.declined += 1  # nothing to say aloud in it (a citation): nothing to hold
                    return
                job.pcm = pcm
                self._stats.held += 1
                self._on_held()
            except Exception:  # a guess that failed costs nothing: the committed turn runs as always
                logger.exception("preemptive reply failed; the turn is answered as usual")
            finally:
                job.done.set()  # also when dropped (cancelled): a speaker waiting on it goes on

    def drop(self) -> None:
        """Throw the job away (speech resumed, a new pause or utterance): nothing of it is sent or stored."""
        job, self._job = self._job, None
        if job is None:
            return
        self._stats.discarded += 1
        job.scope.cancel()
        job.pcm = None

    def claim(self, utterance: Utterance, text: str) -> HeldReply | None:
        """The job for `utterance`, confirmed with the words `text`: held for the speaker, which plays its audio
        if the committed turn's first sentence is the drafted one. None (the job dropped) for anything else."""
        job = self._job
        if job is None:
            return None
        if job.seq != utterance.seq or job.length != utterance.paused_at or job.text != text:
            self.drop()
            return None
        self._job = None
        return job
