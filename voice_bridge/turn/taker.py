"""One call's end-of-turn decisions when its agent is set to `smart_turn` (`VoiceConfig.end_of_turn`).

At the first short pause of an utterance (the endpointer's `Pause`, 0.2 s of quiet) the taker asks the
model, in a worker thread, how likely the customer has finished. When the answer is >= `threshold` and
no speech came after the pause, the utterance ends there (`Endpointer.end_at`), so a finished sentence
is answered ~0.4 s before silence-only endpointing would end it (and the speculative transcript of the
same pause is usually already there). Otherwise nothing happens: the endpointer's hangover, raised to
`ceiling_s` for these calls, ends the turn whatever the model said, so a wrong "not finished" costs
latency and never a stuck call.

Never blocking the receiver: the model runs off the event loop, and only the short `feed`/`end_at`
pair shares a lock. Bounds: one question in flight per call (a newer pause waits in a single slot and
replaces an older waiting one); a process-wide `CapacityLimiter` caps how many run at once across
calls; each question is abandoned after `ceiling_s - pause_s`, when its answer could no longer end the
turn before the ceiling. `TurnStats` counts every path; tests assert on them, not on timing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from anyio import CapacityLimiter
from anyio.abc import ObjectSendStream, TaskGroup

from voice_bridge.endpointing import Boundary, Endpointer, Pause, Utterance

logger = logging.getLogger("oratio.voice")

ProbabilitySource = Callable[[bytes], float]
"""PCM16 at 16 kHz up to a pause -> the probability the turn is over (`SmartTurn.probability`, or a fake)."""


@dataclass(frozen=True)
class SmartTurnPolicy:
    """The settings of smart_turn endpointing (`ORATIO_VOICE_SMART_TURN_*`)."""

    threshold: float = 0.5
    """Probability at or above which a pause ends the turn (pipecat's own cut-off)."""
    ceiling_s: float = 1.2
    """Silence that ends the turn whatever the model says (the hangover of smart_turn calls): twice
    silence-only's 0.6 s, so a real mid-sentence hesitation of up to ~1 s is not cut while a wrong
    "not finished" costs at most 0.6 s more than today. pipecat (3 s) and LiveKit (3-6 s) wait longer,
    trusting a model measured on human speech; this one was at chance on synthetic speech (spike)."""
    pause_s: float = 0.2
    """The quiet after which the model is asked (the speculation pause when both are on)."""


@dataclass
class TurnStats:
    """What the taker did, summed over a backend's calls."""

    asked: int = 0  # questions the model answered
    ended: int = 0  # turns ended at a pause because the model said finished
    waited: int = 0  # answers under the threshold: the ceiling decides
    late: int = 0  # said finished, but speech resumed or the turn had already ended
    replaced: int = 0  # waiting pauses replaced by a newer one before they were asked
    failed: int = 0  # questions that timed out or failed: the ceiling decides


class TurnTaker:
    """Feeds one call's endpointer and ends its turns early when the model says so."""

    def __init__(
        self,
        tasks: TaskGroup,
        endpointer: Endpointer,
        utterances: ObjectSendStream[Utterance],
        probability: ProbabilitySource,
        policy: SmartTurnPolicy,
        stats: TurnStats,
        limiter: CapacityLimiter,
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        self._tasks = tasks
        self._endpointer = endpointer
        self._utterances = utterances
        self._probability = probability
        self._policy = policy
        self._stats = stats
        self._limiter = limiter
        self._on_end = on_end
        self._lock = anyio.Lock()
        self._busy = False
        self._waiting: Pause | None = None
        self._closed = False

    async def feed(self, pcm16: bytes) -> list[Boundary]:
        """`Endpointer.feed` in a worker thread, never at the same time as an early end."""
        async with self._lock:
            return await anyio.to_thread.run_sync(self._endpointer.feed, pcm16)

    async def close(self) -> None:
        """No early end after this (the listener is about to close the utterance stream)."""
        async with self._lock:
            self._closed = True

    def pause(self, pause: Pause) -> None:
        """Ask the model about `pause` in the background (or after the question in flight)."""
        if self._busy:
            if self._waiting is not None:
                self._stats.replaced += 1
            self._waiting = pause
            return
        self._busy = True
        self._tasks.start_soon(self._ask_all, pause)

    async def _ask_all(self, pause: Pause | None) -> None:
        try:
            while pause is not None:
                await self._ask(pause)
                pause, self._waiting = self._waiting, None
        finally:
            self._busy = False

    async def _ask(self, pause: Pause) -> None:
        bound = max(0.05, self._policy.ceiling_s - self._policy.pause_s)
        probability: float | None = None
        with anyio.move_on_after(bound):
            try:
                probability = await anyio.to_thread.run_sync(
                    self._probability, pause.pcm16, limiter=self._limiter, abandon_on_cancel=True
                )
            except Exception:  # a model failure must not end the call: the ceiling decides this turn
                logger.exception("smart turn failed; the silence ceiling ends this turn")
        if probability is None:
            self._stats.failed += 1
            return
        self._stats.asked += 1
        if probability < self._policy.threshold:
            self._stats.waited += 1
            return
        async with self._lock:
            utterance = None if self._closed else self._endpointer.end_at(pause)
            if utterance is None:
                self._stats.late += 1
                return
            self._stats.ended += 1
            self._on_end()
            try:
                await self._utterances.send(utterance)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return  # the call is ending (the agent ended it): nobody answers this turn now


__all__ = ["ProbabilitySource", "SmartTurnPolicy", "TurnStats", "TurnTaker"]
