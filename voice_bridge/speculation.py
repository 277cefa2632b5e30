"""Speculative transcription and stretches: recognise an utterance at its short pauses, before the turn ends.

The endpointer ends a turn after its hangover (0.6 s of non-speech), but most of that wait can already go
to speech-to-text: at each `pause_s` (0.2 s) of quiet the listener hands the audio so far to
`Speculator.start`, which transcribes it in a worker thread, off the call's event loop. Then:

- the turn ends with no speech after that pause (`Utterance.paused_at` equals the job's length): `hear`
  uses the job's text instead of transcribing again (waiting for it if it is still running);
- speech resumes: the job's text is discarded, not kept as a prefix. Whisper hears a cut phrase
  differently from the whole sentence (it closes it with a full stop, guesses the cut word), so a short
  piece is not worth keeping: the utterance is transcribed at its end as before.

Stretches (issue 21, item 1; `stretch_bytes`, `ORATIO_VOICE_STT_STRETCH_SECONDS`): Whisper's decoder grows
with the words, so a 12 s question costs ~0.75 s at its end even when the pause before it was used. When
the audio since the last committed boundary reaches `stretch_bytes` at a pause, that pause's job is a
**stretch**: its text is committed as the utterance's prefix whatever comes next, and the boundary moves to
the pause. At the end of the turn only the audio after the last boundary (the tail) is recognised, or the
speculative job of the last pause reused, and the transcript is prefix + tail. Short utterances never
reach `stretch_bytes`, so they keep the single pass. The prefix is handed to the recogniser as its prompt
(`transcribe_after`, Whisper's initial prompt) for casing and punctuation across the cut.

Bounds: at most one job per call at a time; a pause while one is running is skipped (counted), so a
customer who pauses often cannot queue work. A job's text is held only until the next one starts, and the
committed prefix belongs to the utterance in progress only (its words are bounded by the utterance cap and
the recogniser's token bound), so nothing grows over a long call. A stretch whose transcription failed
turns stretches off for its utterance: it is transcribed whole at its end, as without stretches.
Counters (`SpeculationStats`, shared by the backend's calls) say which path each utterance took; tests
assert on them rather than on timing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from voice_bridge.endpointing import Pause, Utterance

logger = logging.getLogger("oratio.voice")


@dataclass
class SpeculationStats:
    """What speculation did, summed over a backend's calls."""

    started: int = 0  # jobs started at a pause
    skipped: int = 0  # pauses with a job already running: no second job
    reused: int = 0  # utterances answered with a job's text, not transcribed again
    discarded: int = 0  # jobs whose text was not used (speech resumed, or a later utterance)
    ended_early: int = 0  # turns ended by the text signal (the job's text closed a sentence), before the hangover
    committed: int = 0  # stretches whose text was committed as a prefix of their utterance
    stretched: int = 0  # utterances whose transcript was joined from two pieces or more (stretches + a tail)
    fell_back: int = 0  # utterances transcribed whole at their end because one of their stretches failed


@dataclass
class _Stretches:
    """The committed start of utterance `seq`: the texts of its stretches and where the rest begins."""

    seq: int
    base: int = 0  # bytes of the utterance committed; its tail starts here
    texts: list[str] = field(default_factory=list)
    failed: bool = False  # a stretch failed: the utterance is transcribed whole at its end

    @property
    def prefix(self) -> str:
        return " ".join(self.texts)


@dataclass
class _Job:
    seq: int
    length: int  # the utterance's length at the pause: the job heard [base:length]
    stretches: _Stretches
    base: int = 0
    commit: bool = False  # a stretch: its text becomes the prefix of what follows
    done: anyio.Event = field(default_factory=anyio.Event)
    text: str | None = None  # None once done: the transcription failed, transcribe the utterance instead
    claimed: bool = False


class Speculator:
    """One call's speculative transcription; `transcribe` runs in a worker thread."""

    def __init__(
        self,
        tasks: TaskGroup,
        transcribe: Callable[[bytes], str],
        stats: SpeculationStats,
        on_done: Callable[[], None] = lambda: None,
        on_text: Callable[[int, int, str], None] = lambda seq, length, text: None,
        *,
        stretch_bytes: int | None = None,
        transcribe_after: Callable[[bytes, str], str] | None = None,
    ) -> None:
        """`on_text(seq, length, text)` hears each job's text as it is ready, the committed prefix included
        (the preemptive reply starts there). `stretch_bytes` (PCM16 bytes; None: no stretches) is the audio a
        pause must close since the last boundary to be committed; `transcribe_after(pcm16, prompt)`, when
        given, recognises the audio after a committed prefix with that prefix as the prompt."""
        if stretch_bytes is not None and stretch_bytes < 1:
            raise ValueError("stretch_bytes must be positive (None: no stretches)")
        self._tasks = tasks
        self._transcribe = transcribe
        self._transcribe_after = transcribe_after
        self._stats = stats
        self._on_done = on_done
        self._on_text = on_text
        self._stretch_bytes = stretch_bytes
        self._job: _Job | None = None
        self._stretches: _Stretches | None = None

    def start(self, pause: Pause) -> None:
        """Transcribe `pause`'s audio since the last committed boundary in the background, unless a job is
        still running; a stretch when that audio is long enough."""
        if self._job is not None and not self._job.done.is_set():
            self._stats.skipped += 1
            return
        self._retire()
        stretches = self._stretches
        if stretches is None or stretches.seq != pause.seq:  # a new utterance: nothing of it committed yet
            stretches = self._stretches = _Stretches(pause.seq)
        audio = pause.pcm16[stretches.base :]
        commit = self._stretch_bytes is not None and not stretches.failed and len(audio) >= self._stretch_bytes
        job = self._job = _Job(pause.seq, len(pause.pcm16), stretches, stretches.base, commit)
        self._stats.started += 1
        self._tasks.start_soon(self._run, job, audio)

    async def _run(self, job: _Job, audio: bytes) -> None:
        before = job.stretches.prefix
        try:
            job.text = (await anyio.to_thread.run_sync(self._recognise, audio, before)).strip()
        except Exception:  # the utterance is transcribed again at its end, where an error is reported
            logger.exception("speculative transcription failed; the utterance will be transcribed at its end")
        finally:
            if job.commit:
                self._commit(job)  # before `done`: whoever waits for the job reads the committed prefix
            job.done.set()
            self._on_done()
        if job.text and self._job is job:
            self._on_text(job.seq, job.length, _join(before, job.text))

    def _recognise(self, pcm16: bytes, prompt: str) -> str:
        """In a worker thread: the audio's words, after `prompt` when the engine takes one."""
        if prompt and self._transcribe_after is not None:
            return self._transcribe_after(pcm16, prompt)
        return self._transcribe(pcm16)

    def _commit(self, job: _Job) -> None:
        stretches = job.stretches
        job.claimed = True
        if job.text is None:  # the utterance is transcribed whole at its end; no more stretches for it
            stretches.failed, stretches.base, stretches.texts = True, 0, []
            return
        if not job.text:  # nothing heard (noise, or Whisper's no-speech rule): the audio stays for the next piece
            self._stats.discarded += 1
            return
        stretches.texts.append(job.text)
        stretches.base = job.length
        self._stats.committed += 1

    async def hear(self, utterance: Utterance) -> str:
        """The words of `utterance`: its committed stretches, then its tail, reused from the job of its last
        pause when no speech came after it, else transcribed now (off the event loop)."""
        job = self._job
        if job is not None and job.seq == utterance.seq:
            stretches = job.stretches
            if job.commit:
                await job.done.wait()  # a stretch of this utterance: its words come first
        else:
            if job is not None and job.seq < utterance.seq and not job.claimed:
                job.claimed = True  # an earlier utterance's job, never used
                self._stats.discarded += 1
            job = None
            current = self._stretches
            stretches = current if current is not None and current.seq == utterance.seq else _Stretches(utterance.seq)
        if stretches.failed:
            self._stats.fell_back += 1
            return await self._recognise_now(utterance.pcm16, "")
        prefix, base = stretches.prefix, stretches.base
        if base and base == utterance.paused_at:
            tail = ""  # the last stretch ended at the pause that ended the turn: its job heard the rest
            self._stats.reused += 1
        else:
            reused = await self._reuse(job, utterance, base)
            tail = reused if reused is not None else await self._recognise_now(utterance.pcm16[base:], prefix)
        if len(stretches.texts) + (base != utterance.paused_at) >= 2:
            self._stats.stretched += 1
        return _join(prefix, tail)

    async def _recognise_now(self, pcm16: bytes, prompt: str) -> str:
        return (await anyio.to_thread.run_sync(self._recognise, pcm16, prompt)).strip()

    async def _reuse(self, job: _Job | None, utterance: Utterance, base: int) -> str | None:
        """The text of `job` (this utterance's latest) if it heard all the speech since the boundary `base`."""
        if job is None:
            return None
        if job.commit or job.length != utterance.paused_at or job.base != base:
            if not job.claimed:  # speech resumed after its pause
                job.claimed = True
                self._stats.discarded += 1
            return None
        await job.done.wait()
        job.claimed = True
        if job.text is None:
            return None
        self._stats.reused += 1
        return job.text

    def _retire(self) -> None:
        if self._job is not None and not self._job.claimed:
            self._stats.discarded += 1
        self._job = None


def _join(prefix: str, tail: str) -> str:
    return f"{prefix} {tail}" if prefix and tail else prefix or tail


def ends_a_sentence(text: str) -> bool:
    """Whether a speculative transcript reads as a finished sentence (`.`, `?`, `!`; not a trailing "...").

    A cheap vote, not a detector: Whisper closes most cut phrases with a full stop too (the spike: 25-29 of
    40 right on synthetic speech), so it only shortens the wait, within the hangover (the cascade's text
    signal, off by default)."""
    end = text.rstrip()
    return end.endswith((".", "?", "!")) and not end.endswith(("...", "\u2026"))
