"""The local cascade: VAD -> speech-to-text -> the deployed agent's text turn -> text-to-speech.

Three tasks per call. The listener resamples the customer's audio to 16 kHz and cuts it into
utterances (`Endpointer`); it never waits on a model, so speech over the agent is noticed at once
(barge-in). The responder transcribes each utterance and runs it as a turn of the deployed agent
(`engine.stream_turn`, which stores both sides as they happen). Within a turn a speaker task turns
each complete sentence into audio while the agent is still writing the next, so the first audio
starts after one sentence, not after the whole reply. The engines block, so they run in worker threads.

With `speculate_pause_s` set (0.2 s in the bridge's settings), the listener also starts transcribing at
the first short pause of an utterance and the responder reuses that text when the turn ends with no more
speech (`voice_bridge.speculation`): the hangover then hides most of speech-to-text. With `preempt` too,
that text is drafted into a reply (stored nowhere) and its first sentence synthesised and held; a turn
confirmed with the same words plays it at once if the committed turn says that sentence, and speech that
resumes throws it away (`voice_bridge.preemption`): the hangover then hides TTS as well.
With `text_signal_s` (off by default), a speculative transcript that ends a sentence ends the turn after that
much silence instead of the whole hangover, which stays the ceiling (silence endpointing only).
With `stretch_s` too, a pause that closes at least that much audio since the last committed boundary commits
its transcript as the utterance's prefix (a stretch), so the end of a long turn transcribes only what came
after the last such pause, prompted with the prefix (`voice_bridge.speculation`, docs/voice-latency.md).

With the agent's `ignore_backchannels` (and a sink that can pause: `PausesAgentAudio`), customer speech
over agent audio first only pauses it. Speech that goes on past `BACKCHANNEL_MAX_S` interrupts at once;
shorter speech is transcribed when it ends: a backchannel ("mhmm", "okay") resumes the agent where it
paused and is no turn, anything else interrupts and is the next turn (voice_bridge.backchannel).

A call whose agent is set to `end_of_turn=smart_turn` (`Call.end_of_turn`) also asks the Smart Turn model
at that pause, and ends the turn there when it says the customer has finished; its hangover becomes the
silence ceiling (`voice_bridge.turn.taker`). Silence-only endpointing stays the default. With Smart Turn,
speech over agent audio interrupts as before (backchannels are not judged: the model may end such a turn
itself, past the judge).
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
from anyio.streams.memory import MemoryObjectSendStream

from oratio.errors import OratioError
from oratio.runtime import ConversationEngine, TurnResult
from schemas import Channel, EndOfTurn
from voice_bridge.audio import Resampler, resample
from voice_bridge.backchannel import BACKCHANNEL_MAX_S, BackchannelStats, is_backchannel
from voice_bridge.backend import Call, PausesAgentAudio, VoiceSink
from voice_bridge.detection import DetectionStats, Detector, take_waiting
from voice_bridge.endpointing import EndpointConfig, Endpointer, Pause, SpeechStart, Utterance
from voice_bridge.preemption import HeldReply, PreemptionStats, Preemptor, settle
from voice_bridge.sentences import SentenceSplitter
from voice_bridge.speculation import SpeculationStats, Speculator, ends_a_sentence
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech, TranscribesAfter
from voice_bridge.spoken import speak
from voice_bridge.turn.source import smart_turn_loader
from voice_bridge.turn.taker import ProbabilitySource, SmartTurnPolicy, TurnStats, TurnTaker

logger = logging.getLogger("oratio.voice")

StageObserver = Callable[[str, str], None]
"""Called with (session id, stage) as a turn passes each stage: utterance_end, transcribed,
first_sentence, first_audio; "speculated" when a speculative transcription finishes, "preempted" when a
preemptive reply's first sentence is synthesised and held; "paused",
"backchannel" and "interrupted" as speech over agent audio pauses it, resumes it or interrupts it.
bench/voice.py times them; tests wait on "speculated"; nothing else needs to."""

UTTERANCE_QUEUE = 4


@dataclass
class _Reply:
    """The reply being spoken; `interrupted` is set by barge-in and read by the speaker."""

    interrupted: anyio.Event = field(default_factory=anyio.Event)
    ended_at: float | None = None
    """When the customer's utterance it answers ended (the loop's clock): where its latency starts."""
    held: HeldReply | None = None
    """The preemptive reply claimed for this turn: its audio stands for the first sentence if it is the same."""


@dataclass
class _CallState:
    reply: _Reply | None = None
    handoff_told: bool = False
    speculator: Speculator | None = None
    preemptor: Preemptor | None = None
    responding: bool = False
    """The responder is answering an utterance: no preemptive reply is drafted meanwhile."""
    sentence_end: tuple[int, int] | None = None
    """(seq, pause length) of the pause whose speculative transcript ended a sentence (the text signal)."""
    paused: bool = False
    """Agent audio is paused by customer speech not yet judged a backchannel or an interruption."""
    heard: dict[int, str] = field(default_factory=dict)
    ended_at: dict[int, float] = field(default_factory=dict)
    """When each utterance waiting for an answer ended (by seq, the loop's clock): its latency's start."""
    """Utterances (by seq) already transcribed to judge them: the responder does not transcribe them again."""
    background: TaskGroup | None = None

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
        backchannel_max_s: float = BACKCHANNEL_MAX_S,
        smart_turn: SmartTurnPolicy | None = None,
        turn_model: Callable[[], ProbabilitySource] | None = None,
        turn_workers: int = 2,
        preempt: bool = False,
        text_signal_s: float | None = None,
        stretch_s: float | None = None,
        stretch_prompt: bool = False,
    ) -> None:
        """`smart_turn` and `turn_model` (a blocking loader, run once, on the first smart_turn call) serve
        agents set to `end_of_turn=smart_turn`; `turn_workers` bounds the model runs at once across calls.
        `preempt` drafts and synthesises the reply at the speculation pause (only with `speculate_pause_s`);
        `text_signal_s` ends a turn after that much silence when the speculative text ends a sentence.
        `stretch_s` (only with `speculate_pause_s`) commits a pause's transcript once that much audio has come
        since the last commit; `stretch_prompt` gives the committed text to the recogniser as its prompt."""
        if stretch_s is not None and stretch_s <= 0:
            raise ValueError("stretch_s must be positive (None: no stretches)")
        self._speech = speech
        self._backchannel_max_s = backchannel_max_s
        self.backchannels = BackchannelStats()
        self._smart_turn = smart_turn or SmartTurnPolicy(pause_s=speculate_pause_s or SmartTurnPolicy.pause_s)
        self._load_turn_model = turn_model or smart_turn_loader()
        self._turn_model: ProbabilitySource | None = None
        self._turn_loading = anyio.Lock()
        self._turn_workers = turn_workers
        self._turn_limiter: anyio.CapacityLimiter | None = None
        self.turns = TurnStats()
        self._speculate_pause_s = speculate_pause_s
        self.speculation = SpeculationStats()
        self._preempt = preempt and speculate_pause_s is not None
        self.preemption = PreemptionStats()
        self._text_signal_s = text_signal_s if speculate_pause_s is not None else None
        self._stretch_bytes = int(stretch_s * INPUT_RATE) * 2 if stretch_s is not None else None
        self._stretch_prompt = stretch_prompt
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
            state.preemptor = self._preemptor(call, background)
            state.speculator = self._speculator(call, background, state)
            state.background = background
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

    def _speculator(self, call: Call, tasks: TaskGroup, state: _CallState) -> Speculator | None:
        if self._speculate_pause_s is None:
            return None

        def heard(seq: int, length: int, text: str) -> None:
            if self._text_signal_s is not None and ends_a_sentence(text):
                state.sentence_end = (seq, length)
            preempt(seq, length, text)

        def preempt(seq: int, length: int, text: str) -> None:
            # Only while nothing is being answered: a draft must not race a turn of the same call.
            if state.preemptor is not None and state.reply is None and not state.responding and not state.ended_at:
                state.preemptor.start(seq, length, text)

        stt = self._speech.stt
        prompted = self._stretch_bytes is not None and self._stretch_prompt and isinstance(stt, TranscribesAfter)
        return Speculator(
            tasks,
            stt.transcribe,
            self.speculation,
            on_done=lambda: self._observe(call.session_id, "speculated"),
            on_text=heard,
            stretch_bytes=self._stretch_bytes,
            transcribe_after=cast(TranscribesAfter, stt).transcribe_after if prompted else None,
        )

    def _preemptor(self, call: Call, tasks: TaskGroup) -> Preemptor | None:
        if not self._preempt:
            return None
        tts = self._speech.tts

        async def draft(text: str) -> str | None:
            return await self._engine.draft_reply(call.tenant_id, call.agent_id, call.session_id, text)

        async def synthesise(sentence: str) -> bytes:
            return await anyio.to_thread.run_sync(speak, tts, sentence)

        return Preemptor(
            tasks, draft, synthesise, self.preemption, on_held=lambda: self._observe(call.session_id, "preempted")
        )

    async def _listen(
        self,
        call: Call,
        audio: ObjectReceiveStream[bytes],
        sink: VoiceSink,
        utterances: MemoryObjectSendStream[Utterance],
        state: _CallState,
    ) -> None:
        resampler = Resampler(call.input_rate, INPUT_RATE)
        pause_s = self._speculate_pause_s if state.speculator is not None else None
        endpoint = replace(self._endpoint, max_s=call.utterance_max_s, pause_s=pause_s)
        probability = await self._smart_turn_model() if call.end_of_turn is EndOfTurn.SMART_TURN else None
        if probability is not None:  # the model is asked at the pause; the hangover becomes the ceiling
            endpoint = replace(endpoint, pause_s=self._smart_turn.pause_s, hangover_s=self._smart_turn.ceiling_s)
        endpointer = Endpointer(self._speech.new_vad(), endpoint)
        turns = self._turn_taker(call, state, endpointer, utterances, probability)
        detector = Detector(endpointer, self.detection, on_loop=self._speech.vad_on_loop)
        async with utterances:
            async for frame in audio:
                pcm16 = resampler.feed(take_waiting(frame, audio))
                if turns is not None:
                    boundaries = await turns.feed(pcm16)
                else:
                    boundaries = await detector.feed(pcm16)
                    if (early := self._end_on_text(state, endpointer)) is not None:
                        boundaries = [*boundaries, early]
                for boundary in boundaries:
                    if isinstance(boundary, SpeechStart):
                        waiting = utterances.statistics().current_buffer_used
                        # With Smart Turn the model may end a turn itself, past the backchannel judge: no pause.
                        if not waiting and turns is None and await self._pause_for_speech(call, sink, state):
                            continue
                        if await sink.speech_started() or state.reply is not None:
                            state.interrupt()
                    elif isinstance(boundary, Pause):
                        if state.preemptor is not None:
                            state.preemptor.drop()  # a newer pause: its own speculation drafts afresh
                        if state.speculator is not None:
                            state.speculator.start(boundary)
                        if turns is not None:
                            turns.pause(boundary)
                    else:
                        self._observe(call.session_id, "utterance_end")
                        ended = anyio.current_time()
                        if state.paused and not await self._judge_paused(call, boundary, sink, state):
                            continue  # a backchannel: the agent goes on, nothing to answer
                        state.ended_at[boundary.seq] = ended
                        await utterances.send(boundary)
                if state.preemptor is not None:
                    _drop_if_resumed(state.preemptor, endpointer)
                if state.paused and endpointer.voiced_s > self._backchannel_max_s:
                    self.backchannels.too_long += 1
                    await self._interrupt_paused(call, sink, state)
            if turns is not None:
                await turns.close()
            if (last := endpointer.flush()) is not None:
                await utterances.send(last)

    async def _pause_for_speech(self, call: Call, sink: VoiceSink, state: _CallState) -> bool:
        """At the onset of customer speech: True when it paused agent audio to be judged later, False
        when it is handled as a barge-in at once (backchannels not ignored, or no agent audio playing).
        Speech while an earlier utterance still waits for its answer is never paused for: the customer
        is still taking their turn, not acknowledging the agent's (the listener checks that)."""
        if not call.ignore_backchannels or not isinstance(sink, PausesAgentAudio):
            return False
        if not await sink.pause_agent_audio():
            return False
        state.paused = True
        self.backchannels.paused += 1
        self._observe(call.session_id, "paused")
        return True

    async def _judge_paused(self, call: Call, utterance: Utterance, sink: VoiceSink, state: _CallState) -> bool:
        """Speech that paused the agent has ended: True when it is a turn (the reply is interrupted), False
        when it was a backchannel (the agent resumes; not stored, not answered). Transcribed off the event
        loop; the listener waits for it, its frames queue meanwhile (the agent is paused, nothing is missed)."""
        if state.speculator is not None:
            text = await state.speculator.hear(utterance)
        else:
            text = (await anyio.to_thread.run_sync(self._speech.stt.transcribe, utterance.pcm16)).strip()
        state.heard[utterance.seq] = text
        if is_backchannel(text) and isinstance(sink, PausesAgentAudio):
            state.paused = False
            if not await sink.resume_agent_audio(text):
                return True  # the reply ended meanwhile: nothing was interrupted, the words are a turn
            del state.heard[utterance.seq]
            self.backchannels.resumed += 1
            words = len(text.split())  # the customer's words stay out of the logs, as in every turn
            logger.info("session_id=%s words=%d | backchannel: the agent goes on", call.session_id, words)
            self._observe(call.session_id, "backchannel")
            return False
        self.backchannels.said_something += 1
        await self._interrupt_paused(call, sink, state)
        return True

    async def _interrupt_paused(self, call: Call, sink: VoiceSink, state: _CallState) -> None:
        """The paused reply is dropped as on any barge-in: the client flushes, the speaker stops."""
        state.paused = False
        self._observe(call.session_id, "interrupted")
        await sink.speech_started()
        state.interrupt()

    async def _smart_turn_model(self) -> ProbabilitySource:
        """The end-of-turn model, loaded once off the event loop (ConfigError, naming the install command,
        when its file is missing or not the pinned one: the call closes with it)."""
        async with self._turn_loading:
            if self._turn_model is None:
                self._turn_model = await anyio.to_thread.run_sync(self._load_turn_model)
            return self._turn_model

    def _turn_taker(
        self,
        call: Call,
        state: _CallState,
        endpointer: Endpointer,
        utterances: ObjectSendStream[Utterance],
        probability: ProbabilitySource | None,
    ) -> TurnTaker | None:
        if probability is None or state.background is None:
            return None
        if self._turn_limiter is None:
            self._turn_limiter = anyio.CapacityLimiter(self._turn_workers)
        return TurnTaker(
            state.background,
            endpointer,
            utterances,
            probability,
            self._smart_turn,
            self.turns,
            self._turn_limiter,
            on_end=lambda: self._observe(call.session_id, "utterance_end"),
        )

    async def _respond(
        self, call: Call, utterances: ObjectReceiveStream[Utterance], sink: VoiceSink, state: _CallState
    ) -> bool:
        """Answer utterances in order; True when the agent ended the conversation."""
        async with utterances:
            async for utterance in utterances:
                state.responding = True
                try:
                    ended = state.ended_at.pop(utterance.seq, None)
                    heard = state.heard.pop(utterance.seq, None)
                    text = await self._transcribe(call, utterance, state.speculator, heard)
                    held = state.preemptor.claim(utterance, text) if state.preemptor is not None else None
                    if not text:
                        continue  # a cough, a door: nothing to answer
                    await sink.transcript("customer", text, final=True)
                    reply = state.reply = _Reply(ended_at=ended, held=held)
                    try:
                        result = await self._turn(call, text, sink, reply)
                    finally:
                        state.reply = None
                finally:
                    state.responding = False
                if result.reply:  # a paused turn (a person has the conversation) says nothing
                    await sink.transcript("agent", result.reply, final=True)
                if result.handoff and not state.handoff_told:
                    state.handoff_told = True
                    await sink.handoff("the agent asked a person to take over")
                if result.ended:
                    await sink.ended("the agent ended the conversation")
                    return True
        return False

    async def _record_latency(self, call: Call, latency_ms: float) -> None:
        """The reply's latency onto its turn; a store that fails loses the figure, never the call."""
        if call.record_latency is None:
            return
        try:
            await call.record_latency(latency_ms)
        except OratioError as exc:
            logger.warning("session_id=%s error=%s | turn latency not recorded", call.session_id, exc)

    async def _transcribe(
        self, call: Call, utterance: Utterance, speculator: Speculator | None, heard: str | None = None
    ) -> str:
        """The utterance's words, with the caller's key re-checked meanwhile (it costs a store write,
        hidden behind recognition): a key revoked mid-call stops the call before the next turn.
        With speculation the speculator hears it (a speculative transcript that heard the whole utterance is
        used instead of a new one; committed stretches leave only the tail to transcribe), and the text
        `heard` when judging it as a backchannel (`_judge_paused`) is used as it is."""
        words: list[str] = []

        async def recognise() -> None:
            text = heard
            if text is None and speculator is not None:
                text = await speculator.hear(utterance)
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
        first_audio_at = 0.0
        async with sentences:
            async for sentence in sentences:
                if reply.interrupted.is_set():
                    continue  # drain: the agent's text is still stored, but the customer is talking
                pcm = await self._held_audio(reply, sentence)
                if pcm is None:
                    pcm = await anyio.to_thread.run_sync(speak, tts, sentence)  # for the ear: no citations, URLs
                if reply.interrupted.is_set() or not pcm:
                    continue
                if not spoke:
                    first_audio_at = anyio.current_time()
                    self._observe(call.session_id, "first_audio")
                    spoke = True
                await sink.transcript("agent", sentence, final=False)
                await sink.agent_audio(resample(pcm, tts.sample_rate, call.output_rate))
        if reply.held is not None:  # interrupted, or nothing said: the held audio goes unplayed
            settle(self.preemption, reply.held, played=False)
        if spoke and not reply.interrupted.is_set():
            # The stream is over, so the agent turn is stored: its latency goes onto it before the end marker.
            if reply.ended_at is not None:
                await self._record_latency(call, (first_audio_at - reply.ended_at) * 1000)
            await sink.agent_audio_end()

    async def _held_audio(self, reply: _Reply, sentence: str) -> bytes | None:
        """For the reply's first sentence: the preemptive reply's audio when it drafted this very sentence."""
        held, reply.held = reply.held, None
        if held is None:
            return None
        pcm = await held.audio_for(sentence)
        settle(self.preemption, held, played=pcm is not None)
        return pcm

    def _end_on_text(self, state: _CallState, endpointer: Endpointer) -> Utterance | None:
        """The text signal: the utterance ended now, when its speculative transcript closed a sentence, no
        speech came since, and `text_signal_s` of silence have passed (the hangover remains the ceiling)."""
        if self._text_signal_s is None or state.sentence_end is None:
            return None
        if endpointer.quiet_s < self._text_signal_s:
            return None
        seq, length = state.sentence_end
        state.sentence_end = None
        early = endpointer.end_paused(seq, length)
        if early is not None:
            self.speculation.ended_early += 1
        return early


def _drop_if_resumed(preemptor: Preemptor, endpointer: Endpointer) -> None:
    """Speech resumed after the pause the held reply was drafted at: it will not be this turn's reply."""
    job = preemptor.job
    if job is not None and job.seq == endpointer.seq and endpointer.speaking and endpointer.paused_at != job.length:
        preemptor.drop()
