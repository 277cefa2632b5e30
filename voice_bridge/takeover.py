"""A person takes a voice call over: the agent's speech stops, the person's words reach the caller.

The handoff lifecycle is the platform's (`HandoffService`); this module is how a call in progress
follows it. Each call follows its session's events through the platform's `EventTail` (the same
tailer the dashboard and MCP use), so a take over, a return or a typed message made anywhere (the
dashboard in another process, an MCP tool) reaches the call within one poll:

* `session.handoff` taken_over: the agent's audio is cut at once (playback flushed, like barge-in;
  the caller is told `interrupted`) and held from then on, so the rest of a reply already being
  written is not spoken (its text is still stored). The engine is paused by the platform: no reply.
* `session.turn` role human: the text is spoken to the caller with the call's own TTS voice
  (backends that have one: `SpeaksText`), after a `transcript` with role `human`.
* `session.handoff` returned: agent audio flows again; the agent answers the next utterance.
* `session.handoff` closed: the call ends normally (the session is already completed).

The person's microphone (voice_bridge.listen) plays to the caller through the same player, paced in
real time. A message typed on the listen socket is stored through `HandoffService.say` and spoken at
once, without waiting for its event; the event is then recognised and not spoken twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import anyio
import anyio.to_thread

from oratio.errors import OratioError, RateLimited
from oratio.services.live import EventTail
from schemas import Event, EventType, HandoffState, Principal, Role, Turn
from voice_bridge.audio import SAMPLE_BYTES, Resampler
from voice_bridge.backend import SpeaksText
from voice_bridge.endpointing import Endpointer, Utterance
from voice_bridge.monitor import LiveCall
from voice_bridge.outcome import Ended, Outcome
from voice_bridge.playback import Player
from voice_bridge.protocol import Close
from voice_bridge.sentences import SentenceSplitter
from voice_bridge.sink import BridgeSink
from voice_bridge.speech.ports import INPUT_RATE

logger = logging.getLogger("oratio.voice")

Say = Callable[[Principal, str, str], Turn]
"""`HandoffService.say(principal, session_id, text)`: stores the human turn (blocking; run in a thread)."""

SPEECH_QUEUE = 16
"""A person's messages waiting to be spoken; a `say` past it is refused (4429), events wait their turn."""
UTTERANCE_MAX_S = 30.0
"""A person's utterance is cut here for recognition."""
HEARD_QUEUE = 4
"""A person's utterances waiting for recognition; past it one is dropped (logged); the caller still hears it."""


@runtime_checkable
class HearsSpeech(Protocol):
    """A backend that can cut and recognise a person's microphone audio (the cascade), so what the person
    says into the call is in the transcript as their turn, like what they type."""

    def new_endpointer(self, max_s: float) -> Endpointer: ...

    async def transcribe_speech(self, pcm16: bytes) -> str: ...


class Takeover:
    """One call's side of a takeover (see the module doc)."""

    def __init__(
        self,
        live: LiveCall,
        player: Player,
        sink: BridgeSink,
        send_json: Callable[[dict[str, Any]], Awaitable[None]],
        voice: SpeaksText | None,
        say: Say,
    ) -> None:
        self._live = live
        self._player = player
        self._sink = sink
        self._send_json = send_json
        self._voice = voice
        self._say = say
        self._speaking = anyio.Lock()
        self._pending: Counter[str] = Counter()
        self._talk: Resampler | None = None
        self._hearing = voice if isinstance(voice, HearsSpeech) else None
        self._heard: Resampler | None = None
        self._endpointer: Endpointer | None = None
        self._talker: Principal | None = None
        self._speech_queue, self._speech_queued = anyio.create_memory_object_stream[str](SPEECH_QUEUE)
        self._utterances, self._to_transcribe = anyio.create_memory_object_stream[tuple[Principal, Utterance]](
            HEARD_QUEUE
        )

    @property
    def active(self) -> bool:
        """A person has the call: agent audio is held, and the silence limit does not run."""
        return self._live.taken_over

    async def follow(self, tail: EventTail) -> None:
        """Follow the session's events until cancelled; raises Ended when a person closes the session."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._transcribe_heard)
            tasks.start_soon(self._speak_queued)
            # Only this call's session wakes it: many calls of one tenant are not each woken by every call's turns.
            async with tail.subscribe(self._live.tenant_id, subject=self._live.session_id) as events:
                while True:
                    for event in await events.next_batch():
                        if event.subject == self._live.session_id:
                            await self.on_event(event)

    async def on_event(self, event: Event) -> None:
        data = event.data
        if event.type is EventType.SESSION_HANDOFF:
            state = data.get("state")
            if state == HandoffState.TAKEN_OVER.value:
                await self.take_over(str(data.get("by") or "a person"))
            elif state == HandoffState.RETURNED.value:
                await self.give_back()
            elif state == HandoffState.CLOSED.value:
                await self.give_back(tell=False)
                raise Ended(Outcome(Close.NORMAL, "a person closed the conversation"))
        elif event.type is EventType.SESSION_TURN and data.get("role") == Role.HUMAN.value:
            text = str(data.get("text") or "")
            if self._pending[text] > 0:
                self._pending[text] -= 1  # typed on a listen socket: already spoken (or about to be)
                return
            await self._queue_speech(text)

    async def take_over(self, by: str) -> None:
        """Cut the agent's audio now and hold it; idempotent (the event and a listen socket may both say so)."""
        if self._live.taken_over:
            return
        self._live.taken_over = True
        self._live.taken_over_now.set()
        self._sink.held = True
        if self._player.flush():
            await self._send_json({"type": "interrupted"})
        await self._send_json({"type": "taken_over", "by": by})
        self._live.tell({"type": "taken_over", "by": by})
        logger.info("session_id=%s by=%s | voice call taken over", self._live.session_id, by)

    async def give_back(self, *, tell: bool = True) -> None:
        if not self._live.taken_over:
            return
        self._live.taken_over = False
        self._live.taken_over_now = anyio.Event()
        self._sink.held = False
        self._talk = None
        if tell:
            await self._send_json({"type": "returned"})
            self._live.tell({"type": "returned"})
        logger.info("session_id=%s | voice call returned to the agent", self._live.session_id)

    async def say(self, principal: Principal, text: str) -> Turn:
        """Store `text` as the person's turn (HandoffService.say: its checks, its errors) and have it spoken now.

        The speech is the call's own task (`_speak_queued`), not the listen socket's: an admin who leaves
        (or is dropped as too slow) right after typing does not cut their message off mid-sentence."""
        if self._speech_queue.statistics().current_buffer_used >= SPEECH_QUEUE:
            raise RateLimited(f"{SPEECH_QUEUE} messages are already waiting to be spoken", retry_after=1.0)
        key = text.strip()
        self._pending[key] += 1
        try:
            turn = await anyio.to_thread.run_sync(self._say, principal, self._live.session_id, text)
        except BaseException:
            self._pending[key] -= 1
            raise
        await self.take_over(principal.subject)  # it was (say checks): do not wait for the event
        await self._queue_speech(turn.text)
        return turn

    async def _queue_speech(self, text: str) -> None:
        await self._speech_queue.send(text)

    async def _speak_queued(self) -> None:
        async with self._speech_queued:
            async for text in self._speech_queued:
                await self.speak(text)

    async def speak(self, text: str) -> None:
        """The person's words to the caller: the transcript line, then the call's TTS voice."""
        if not text:
            return
        async with self._speaking:
            await self._send_json({"type": "transcript", "role": "human", "text": text, "final": True})
            voice = self._voice
            if voice is None:
                return  # a backend without a separate TTS (Nova Sonic): the caller's page shows the text
            splitter = SentenceSplitter()
            sentences = [*splitter.add(text), *splitter.flush()]
            # Sentence by sentence, the next synthesised while one plays: the first audio waits for one
            # sentence only, as an agent's reply does (voice_bridge.cascade).
            send, receive = anyio.create_memory_object_stream[bytes](1)

            async def synthesise() -> None:
                async with send:
                    for sentence in sentences:
                        await send.send(await voice.speak_text(sentence, self._live.output_rate))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(synthesise)
                first = True
                async with receive:
                    async for pcm in receive:
                        if first:
                            await self._send_json({"type": "human_audio_start"})
                            first = False
                        await self._player.play(pcm[: len(pcm) - len(pcm) % SAMPLE_BYTES])
            if not first:
                await self._send_json({"type": "human_audio_end"})

    async def talk(self, principal: Principal, rate: int) -> None:
        """`principal` starts talking from a microphone at `rate` (the caller must be taken over)."""
        self._talk = Resampler(rate, self._live.output_rate)
        self._talker = principal
        if self._hearing is not None:
            self._heard = Resampler(rate, INPUT_RATE)
            self._endpointer = self._hearing.new_endpointer(UTTERANCE_MAX_S)

    async def human_audio(self, pcm16: bytes) -> bool:
        """One microphone frame to the caller, paced in real time; False once the call is not taken over.

        With a backend that `HearsSpeech`, the frame is also cut into utterances, each recognised (by
        another task, so the caller's audio never waits on a model) and stored as the person's turn."""
        if not self._live.taken_over or self._talk is None:
            return False
        await self._player.play(self._talk.feed(pcm16))
        endpointer, heard, talker = self._endpointer, self._heard, self._talker
        if endpointer is not None and heard is not None and talker is not None:
            for boundary in await anyio.to_thread.run_sync(endpointer.feed, heard.feed(pcm16)):
                if isinstance(boundary, Utterance):
                    try:
                        self._utterances.send_nowait((talker, boundary))
                    except anyio.WouldBlock:
                        logger.warning(
                            "session_id=%s | a person's utterance was not transcribed", self._live.session_id
                        )
        return True

    async def _transcribe_heard(self) -> None:
        """What the person said, as their turn in the transcript (HandoffService.say), not spoken again."""
        hearing = self._hearing
        async with self._to_transcribe:
            async for principal, utterance in self._to_transcribe:
                if hearing is None:
                    continue
                text = await hearing.transcribe_speech(utterance.pcm16)
                if not text or not self._live.taken_over:
                    continue
                self._pending[text] += 1
                try:
                    await anyio.to_thread.run_sync(self._say, principal, self._live.session_id, text)
                except OratioError as exc:
                    self._pending[text] -= 1
                    logger.info("session_id=%s | a person's words were not stored: %s", self._live.session_id, exc)
                    continue
                await self._send_json({"type": "transcript", "role": "human", "text": text, "final": True})
