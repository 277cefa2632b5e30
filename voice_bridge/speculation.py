"""Speculative transcription: start recognising an utterance at its first short pause, before the turn ends.

The endpointer ends a turn after its hangover (0.6 s of non-speech), but most of that wait can already go
to speech-to-text: at the first `pause_s` (0.2 s) of quiet the listener hands the audio so far to
`Speculator.start`, which transcribes it in a worker thread, off the call's event loop. Then:

- the turn ends with no speech after that pause (`Utterance.paused_at` equals the job's length): the
  responder `take`s the job's text instead of transcribing again (waiting for it if it is still running);
- speech resumes: the job's text is discarded, not kept as a prefix. Whisper hears a cut phrase
  differently from the whole sentence (it closes it with a full stop, guesses the cut word), and the whole
  utterance is transcribed at its end as before, so a resumed pause costs one wasted transcription,
  never a worse transcript.

Bounds: at most one job per call at a time; a pause while one is running is skipped (counted), so a
customer who pauses often cannot queue work. A job's text is held only until the next one starts, so
nothing grows over a long call. Counters (`SpeculationStats`, shared by the backend's calls) say which
path each utterance took; tests assert on them rather than on timing.
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


@dataclass
class _Job:
    seq: int
    length: int
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
    ) -> None:
        """`on_text(seq, length, text)` hears each job's text as it is ready (the preemptive reply starts there)."""
        self._tasks = tasks
        self._transcribe = transcribe
        self._stats = stats
        self._on_done = on_done
        self._on_text = on_text
        self._job: _Job | None = None

    def start(self, pause: Pause) -> None:
        """Transcribe `pause`'s audio in the background, unless a job is still running."""
        if self._job is not None and not self._job.done.is_set():
            self._stats.skipped += 1
            return
        self._retire()
        job = self._job = _Job(pause.seq, len(pause.pcm16))
        self._stats.started += 1
        self._tasks.start_soon(self._run, job, pause.pcm16)

    async def _run(self, job: _Job, pcm16: bytes) -> None:
        try:
            job.text = (await anyio.to_thread.run_sync(self._transcribe, pcm16)).strip()
        except Exception:  # the utterance is transcribed again at its end, where an error is reported
            logger.exception("speculative transcription failed; the utterance will be transcribed at its end")
        finally:
            job.done.set()
            self._on_done()
        if job.text is not None and self._job is job:
            self._on_text(job.seq, job.length, job.text)

    async def take(self, utterance: Utterance) -> str | None:
        """The text for `utterance` if a job heard all its speech; else None (transcribe it as usual)."""
        job = self._job
        if job is None or job.seq > utterance.seq:
            return None  # no job, or the listener has moved on to the next utterance's pause
        if job.seq < utterance.seq or job.length != utterance.paused_at:
            if not job.claimed:  # speech resumed after its pause (or it was an earlier utterance's)
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


def ends_a_sentence(text: str) -> bool:
    """Whether a speculative transcript reads as a finished sentence (`.`, `?`, `!`; not a trailing "...").

    A cheap vote, not a detector: Whisper closes most cut phrases with a full stop too (the spike: 25-29 of
    40 right on synthetic speech), so it only shortens the wait, within the hangover (the cascade's text
    signal, off by default)."""
    end = text.rstrip()
    return end.endswith((".", "?", "!")) and not end.endswith(("...", "\u2026"))
