"""The local cascade: VAD -> speech-to-text -> the deployed agent's text turn -> text-to-speech.

Three tasks per call. The listener resamples the customer's audio to 16 kHz and cuts it into
utterances (`Endpointer`); it never waits on a model, so speech over the agent is noticed at once
(barge-in). The responder transcribes each utterance and runs it as a turn of the deployed agent
(`engine.stream_turn`, which stores both sides as they happen). Within a turn a speaker task turns
each complete sentence into audio while the agent is still writing the next, so the first audio
starts after one sentence, not after the whole reply. The engines block, so they run in worker threads.

With `speculate_pause_s` set (0.2 s in the bridge's settings), the listener also starts transcribing at
the first short pause of an utterance and the responder reuses that text when the turn ends with no more
speech (`voice_bridge.speculation`): the hangover then hides most of speech-to-text.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import cast

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream, TaskGroup

from oratio.runtime import ConversationEngine, TurnResult
from schemas import Channel
from voice_bridge.audio import Resampler, resample
from voice_bridge.backend import Call, VoiceSink
from voice_bridge.detection import DetectionStats, Detector, take_waiting
from voice_bridge.endpointing import EndpointConfig, Endpointer, Pause, SpeechStart, Utterance
from voice_bridge.sentences import SentenceSplitter
from voice_bridge.speculation import SpeculationStats, Speculator
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech
from voice_bridge.spoken import speak

logger = logging.getLogger("oratio.voice")

StageObserver = Callable[[str, str], None]
"""Called with (session id, stage) as a turn passes each stage: utterance_end, transcribed,
first_sentence, first_audio; and "speculated" when a speculative transcription finishes.
bench/voice.py times them; tests wait on "speculated"; nothing else needs to."""

UTTERANCE_QUEUE = 4


@dataclass
class _Reply:
    """The reply being spoken; `interrupted` is set by barge-in and read by the speaker."""

    interrupted: anyio.Event = field(default_factory=anyio.Event)


@dataclass
class _CallState:
    reply: _Reply | None = None
    handoff_told: bool = False
    speculator: Speculator | None = None

    def interrupt(self) -> None:
        if self.reply is not None:
            self.reply.interrupted.set()


class CascadeBackend:
    def __init__(
        self,
        speech: LocalSpeech,
        engine: ConversationEngine,
        *,
        endpoint: EndpointConfig | None = None,
        observer: StageObserver | None = None,
        name: str = "cascade",
        speculate_pause_s: float | None = None,
    ) -> None:
        self._speech = speech
        self._speculate_pause_s = speculate_pause_s
        self.speculation = SpeculationStats()
        self.detection = DetectionStats()
        self._engine = engine
        self._endpoint = endpoint or EndpointConfig()
        self._observe = observer or (lambda session_id, stage: None)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def speculate_pause_s(self) -> float | None:
        """The pause that starts a speculative transcription; None when the backend does not speculate."""
        return self._speculate_pause_s

    @property
    def stt(self) -> object:
        """The speech-to-text engine (for tests and benches to inspect its settings)."""
        return self._speech.stt

    def new_endpointer(self, max_s: float) -> Endpointer:
        """Cuts a person's microphone audio (16 kHz) into utterances, as the customer's is (`HearsSpeech`)."""
        return Endpointer(self._speech.new_vad(), replace(self._endpoint, max_s=max_s, pause_s=None))

    async def transcribe_speech(self, pcm16: bytes) -> str:
        """A person's utterance (16 kHz) as text, off the event loop (`HearsSpeech`)."""
        text = await anyio.to_thread.run_sync(self._speech.stt.transcribe, pcm16)
        return text.strip()

    async def speak_text(self, text: str, rate: int) -> bytes:
        """A person's words in the agent's voice (`SpeaksText`), synthesised off the event loop."""
        tts = self._speech.tts
        pcm = await anyio.to_thread.run_sync(tts.synthesize, text)
        return resample(pcm, tts.sample_rate, rate)

    async def run(self, call: Call, audio: ObjectReceiveStream[bytes], sink: VoiceSink) -> None:
        state = _CallState()
        async with anyio.create_task_group() as background:  # speculative jobs; they end with the call
            state.speculator = self._speculator(call, background)
            await self._converse(call, audio, sink, state)
            background.cancel_scope.cancel()  # a job still running is not waited for by anyone now

    async def _converse(
        self, call: Call, audio: ObjectReceiveStream[bytes], sink: VoiceSink, state: _CallState
    ) -> None:
        send, receive = anyio.create_memory_object_stream[Utterance](UTTERANCE_QUEUE)
        async with anyio.create_task_group() as tasks:

            async def respond() -> None:
                if await self._respond(call, receive, sink, state):
                    tasks.cancel_scope.cancel()  # the agent ended the conversation: stop listening

            tasks.start_soon(respond)
            await self._listen(call, audio, sink, send, state)

    def _speculator(self, call: Call, tasks: TaskGroup) -> Speculator | None:
        if self._speculate_pause_s is None:
            return None
        return Speculator(
            tasks,
            self._speech.stt.transcribe,
            self.speculation,
            on_done=lambda: self._observe(call.session_id, "speculated"),
        )

    async def _listen(
        self,
        call: Call,
        audio: ObjectReceiveStream[bytes],
        sink: VoiceSink,
        utterances: ObjectSendStream[Utterance],
        state: _CallState,
    ) -> None:
        resampler = Resampler(call.input_rate, INPUT_RATE)
        pause_s = self._speculate_pause_s if state.speculator is not None else None
        endpointer = Endpointer(
            self._speech.new_vad(), replace(self._endpoint, max_s=call.utterance_max_s, pause_s=pause_s)
        )
        detector = Detector(endpointer, self.detection, on_loop=self._speech.vad_on_loop)
        async with utterances:
            async for frame in audio:
                boundaries = await detector.feed(resampler.feed(take_waiting(frame, audio)))
                for boundary in boundaries:
                    if isinstance(boundary, SpeechStart):
                        if await sink.speech_started() or state.reply is not None:
                            state.interrupt()
                    elif isinstance(boundary, Pause):
                        if state.speculator is not None:
                            state.speculator.start(boundary)
                    else:
                        self._observe(call.session_id, "utterance_end")
                        await utterances.send(boundary)
            if (last := endpointer.flush()) is not None:
                await utterances.send(last)

    async def _respond(
        self, call: Call, utterances: ObjectReceiveStream[Utterance], sink: VoiceSink, state: _CallState
    ) -> bool:
        """Answer utterances in order; True when the agent ended the conversation."""
        async with utterances:
            async for utterance in utterances:
                text = await self._transcribe(call, utterance, state.speculator)
                if not text:
                    continue  # a cough, a door: nothing to answer
                await sink.transcript("customer", text, final=True)
                reply = state.reply = _Reply()
                try:
                    result = await self._turn(call, text, sink, reply)
                finally:
                    state.reply = None
                if result.reply:  # a paused turn (a person has the conversation) says nothing
                    await sink.transcript("agent", result.reply, final=True)
                if result.handoff and not state.handoff_told:
                    state.handoff_told = True
                    await sink.handoff("the agent asked a person to take over")
                if result.ended:
                    await sink.ended("the agent ended the conversation")
                    return True
        return False

    async def _transcribe(self, call: Call, utterance: Utterance, speculator: Speculator | None) -> str:
        """The utterance's words, with the caller's key re-checked meanwhile (it costs a store write,
        hidden behind recognition): a key revoked mid-call stops the call before the next turn.
        A speculative transcript that heard the whole utterance is used instead of a new one."""
        words: list[str] = []

        async def recognise() -> None:
            text = await speculator.take(utterance) if speculator is not None else None
            if text is None:
                text = await anyio.to_thread.run_sync(self._speech.stt.transcribe, utterance.pcm16)
            words.append(text)
            self._observe(call.session_id, "transcribed")

        async def check_key() -> None:
            await call.before_turn()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(check_key)
            tasks.start_soon(recognise)
        return words[0].strip()

    async def _turn(self, call: Call, text: str, sink: VoiceSink, reply: _Reply) -> TurnResult:
        """One text turn, spoken sentence by sentence as it streams; the stored result."""
        send, receive = anyio.create_memory_object_stream[str](32)
        result: TurnResult | None = None
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._speak, call, receive, sink, reply)
            async with send:
                splitter = SentenceSplitter()
                first = True
                # stream_turn is an async generator (typed as an iterator); closed on every way out.
                turn = cast(
                    AsyncGenerator[str | TurnResult, None],
                    self._engine.stream_turn(
                        call.tenant_id, call.agent_id, call.session_id, text, Channel.VOICE, call.customer
                    ),
                )
                async with aclosing(turn) as items:
                    async for item in items:
                        if isinstance(item, TurnResult):
                            result = item
                            continue
                        for sentence in splitter.add(item):
                            if first:
                                self._observe(call.session_id, "first_sentence")
                                first = False
                            await send.send(sentence)
                for sentence in splitter.flush():
                    if first:
                        self._observe(call.session_id, "first_sentence")
                        first = False
                    await send.send(sentence)
        assert result is not None  # stream_turn always ends with its result
        return result

    async def _speak(self, call: Call, sentences: ObjectReceiveStream[str], sink: VoiceSink, reply: _Reply) -> None:
        tts = self._speech.tts
        spoke = False
        async with sentences:
            async for sentence in sentences:
                if reply.interrupted.is_set():
                    continue  # drain: the agent's text is still stored, but the customer is talking
                pcm = await anyio.to_thread.run_sync(speak, tts, sentence)  # said for the ear: no citations, URLs
                if reply.interrupted.is_set() or not pcm:
                    continue
                if not spoke:
                    self._observe(call.session_id, "first_audio")
                    spoke = True
                await sink.transcript("agent", sentence, final=False)
                await sink.agent_audio(resample(pcm, tts.sample_rate, call.output_rate))
        if spoke and not reply.interrupted.is_set():
            await sink.agent_audio_end()
