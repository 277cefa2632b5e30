"""Today's cascade beside the issue-21 one: end of speech -> first agent audio over 2-12 s questions, ten turns a call.

Two pipelines, run alternately in the same process so the shared machine's load falls on both alike:

* today  - Whisper's fixed 30 s window, transcription after the VAD hangover (`SttWindow.FULL`, no speculation);
* issue 21 - the trimmed window and speculative transcription at the first 0.2 s pause (the bridge's defaults);
* preemptive - issue 21 plus the preemptive reply (`ORATIO_VOICE_PREEMPT=true`; off by default): the reply
  drafted and its first sentence synthesised at that pause, played at once when the turn is confirmed;
* preemptive + text signal - the same, and a speculative transcript that ends a sentence ends the turn after
  0.35 s of silence instead of the 0.6 s hangover (`ORATIO_VOICE_TEXT_SIGNAL_SECONDS`, off by default);
* smart_turn - issue 21 (no preemption), for an agent set to `end_of_turn=smart_turn`: Smart Turn v3.2 asked at
  that pause ends the turn there when it says finished, else the 1.2 s silence ceiling does (when the model is
  installed: `python -m voice_bridge.turn.fetch`; otherwise the run says it is skipped; `--no-smart-turn` skips it).
* stretches (`--stretch [SECONDS]`: these pipelines only, beside issue 21 without stretches) - issue 21 plus
  stretches: a pause that closes at least SECONDS (3 s) of audio since the last committed boundary commits its
  transcript, and the end of the turn transcribes only the rest (`ORATIO_VOICE_STT_STRETCH_SECONDS`); with
  `--stretch-prompted` also with the committed text as Whisper's prompt (`ORATIO_VOICE_STT_STRETCH_PROMPT`).
  The run first prints where Silero finds the 0.2 s pauses of each question, and per pipeline the word error
  rate of the customer's transcripts against the words said and how often they match the whole-utterance pass.

Each call speaks one question ten times (Piper, the cascade's own voice, fed in real time, 1.5 s of silence after
each) and waits for the whole reply; the agent is the zero-latency ScriptedModel. Printed per pipeline: the
wall-time split per stage (p50), the total p50/p95, turn 1 beside turn 10, what speculation did, and the CPU
time per turn while each engine ran: on a loaded machine wall time includes waiting for a core, CPU time does
not. Whisper and Piper compute in their own native thread pools, which the calling thread's clock does not see,
so it is the process's CPU time (`time.process_time`) across each call: it includes the listener's VAD running
meanwhile (~10 ms a second of audio), and TTS counts every sentence of the reply, not only the first.

    .venv/bin/python -m bench.voice --turns-only            # ~12 minutes
    .venv/bin/python -m bench.voice --turns-only --quick    # ~1 minute
    .venv/bin/python -m bench.voice --turns-only --since-main --no-smart-turn --questions 0,1,3
        # main's pipeline beside the preemptive ones only (docs/voice-latency.md, section 9)
    .venv/bin/python -m bench.voice --turns-only --stretch [--quick] [--turns 5]
        # issue 21 beside stretches, with and without the prompt (docs/voice-latency.md, section 10)
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import anyio
import numpy as np

from bench.stats import percentile_or_nan
from oratio.errors import ConfigError
from oratio.platform import Platform
from schemas import Channel, EndOfTurn
from voice_bridge.audio import resample, samples
from voice_bridge.backend import Call
from voice_bridge.cascade import CascadeBackend
from voice_bridge.endpointing import EndpointConfig, Endpointer, Pause
from voice_bridge.speech.ports import (
    INPUT_RATE,
    LocalSpeech,
    SpeechToText,
    SttWindow,
    TranscribesAfter,
    VoiceActivityDetector,
)
from voice_bridge.turn.source import smart_turn_loader
from voice_bridge.turn.taker import ProbabilitySource

QUESTIONS = [
    "What are your opening hours on Saturday?",
    "My card was charged twice for the same order last week, can you refund one of the payments?",
    "I would like to change the delivery address of my parcel, because I am moving next week to another city"
    " and nobody will be at the old address.",
    "I ordered a blue jacket in size medium three weeks ago and it still has not arrived. The tracking page"
    " says it left the warehouse, but nothing has changed since then. Can you tell me where it is and when"
    " I can expect it?",
]
SPECULATION = ("started", "skipped", "reused", "discarded", "ended_early", "committed", "stretched", "fell_back")
PREEMPTION = ("started", "declined", "held", "played", "missed", "discarded")
TURN_TAKING = ("asked", "ended", "waited", "late", "replaced", "failed")
STAGES = [
    ("utterance_end", "endpoint (hangover / Smart Turn)"),
    ("transcribed", "speech-to-text (after endpoint)"),
    ("first_sentence", "agent's first sentence"),
    ("first_audio", "TTS first audio"),
]


@dataclass
class Meter:
    """Process CPU seconds across each engine's calls (`time.process_time`: native thread pools included)."""

    cpu: dict[str, float] = field(default_factory=lambda: {"vad": 0.0, "stt": 0.0, "tts": 0.0, "turn": 0.0})
    stt_calls: int = 0

    def snapshot(self) -> dict[str, float]:
        return {**self.cpu, "stt_calls": float(self.stt_calls)}


class MeteredStt:
    def __init__(self, stt: SpeechToText, meter: Meter, window: SttWindow) -> None:
        self._stt, self._meter, self._window = stt, meter, window

    def transcribe(self, pcm16: bytes) -> str:
        setattr(self._stt, "window", self._window)  # noqa: B010 - the one loaded model, switched per pipeline
        began = time.process_time()
        try:
            return self._stt.transcribe(pcm16)
        finally:
            self._meter.cpu["stt"] += time.process_time() - began
            self._meter.stt_calls += 1

    def transcribe_after(self, pcm16: bytes, prompt: str) -> str:
        """The prompted recognition stretches use (`TranscribesAfter`), metered alike."""
        setattr(self._stt, "window", self._window)  # noqa: B010
        began = time.process_time()
        try:
            return cast(TranscribesAfter, self._stt).transcribe_after(pcm16, prompt)
        finally:
            self._meter.cpu["stt"] += time.process_time() - began
            self._meter.stt_calls += 1


class MeteredTurn:
    """The Smart Turn model's probability, its process CPU time counted (features + onnxruntime inference)."""

    def __init__(self, probability: ProbabilitySource, meter: Meter) -> None:
        self._probability, self._meter = probability, meter

    def __call__(self, pcm16: bytes) -> float:
        began = time.process_time()
        try:
            return self._probability(pcm16)
        finally:
            self._meter.cpu["turn"] += time.process_time() - began


class MeteredVad:
    def __init__(self, vad: VoiceActivityDetector, meter: Meter) -> None:
        self._vad, self._meter = vad, meter

    @property
    def frame_samples(self) -> int:
        return self._vad.frame_samples

    def speech_probability(self, frame: bytes) -> float:
        began = time.process_time()
        try:
            return self._vad.speech_probability(frame)
        finally:
            self._meter.cpu["vad"] += time.process_time() - began

    def reset(self) -> None:
        self._vad.reset()


class MeteredTts:
    def __init__(self, speech: LocalSpeech, meter: Meter) -> None:
        self._tts, self._meter = speech.tts, meter

    @property
    def sample_rate(self) -> int:
        return self._tts.sample_rate

    def synthesize(self, text: str) -> bytes:
        began = time.process_time()
        try:
            return self._tts.synthesize(text)
        finally:
            self._meter.cpu["tts"] += time.process_time() - began


@dataclass
class Turn:
    clip: int
    number: int
    speech_end: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    first_audio: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    heard: str = ""  # the customer's transcript, as the cascade passed it to the agent

    @property
    def total(self) -> float:
        return (self.first_audio or float("nan")) - self.speech_end


@dataclass
class Pipeline:
    name: str
    window: SttWindow
    speculate_pause_s: float | None
    turns: list[Turn] = field(default_factory=list)
    speculation: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPECULATION, 0))
    end_of_turn: EndOfTurn = EndOfTurn.SILENCE
    turn_model: ProbabilitySource | None = None  # loaded once, shared by the pipeline's calls
    turn_taking: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TURN_TAKING, 0))
    preempt: bool = False
    text_signal_s: float | None = None
    preemption: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PREEMPTION, 0))
    stretch_s: float | None = None
    stretch_prompt: bool = True


class TurnSink:
    """A VoiceSink for one turn at a time: notes the first reply audio; `done` at the agent's final text."""

    def __init__(self) -> None:
        self.turn = Turn(0, 0)
        self.done = anyio.Event()

    async def speech_started(self) -> bool:
        return False

    async def transcript(self, role: str, text: str, *, final: bool) -> None:
        if role == "customer" and final:
            self.turn.heard = text
        if role == "agent" and final:
            self.done.set()

    async def agent_audio(self, pcm16: bytes) -> None:
        if self.turn.first_audio is None:
            self.turn.first_audio = time.monotonic()

    async def agent_audio_end(self) -> None:
        return None

    async def handoff(self, reason: str) -> None:
        return None

    async def ended(self, reason: str) -> None:
        return None


def clip(speech: LocalSpeech, text: str) -> tuple[bytes, float]:
    """`text` in the cascade's voice at 16 kHz (quiet ends cut), then 1.5 s of silence; and its speech length."""
    pcm = resample(speech.tts.synthesize(text), speech.tts.sample_rate, INPUT_RATE)
    loud = np.where(np.abs(samples(pcm).astype(int)) > 500)[0]
    voiced = pcm[2 * int(loud[0]) : 2 * (int(loud[-1]) + 1)]
    return voiced + bytes(int(1.5 * INPUT_RATE) * 2), len(voiced) / 2 / INPUT_RATE


async def one_call(
    platform: Platform,
    speech: LocalSpeech,
    ids: tuple[str, str],
    pipeline: Pipeline,
    audio: tuple[bytes, float],
    clip_no: int,
    turns: int,
) -> None:
    """One call of `turns` turns of the same question through `pipeline`, each turn's marks kept."""
    meter = Meter()

    def new_vad() -> VoiceActivityDetector:
        return MeteredVad(speech.new_vad(), meter)

    metered = LocalSpeech(
        new_vad=new_vad, stt=MeteredStt(speech.stt, meter, pipeline.window), tts=MeteredTts(speech, meter)
    )
    sink = TurnSink()

    def observe(session_id: str, stage: str) -> None:
        sink.turn.stages.setdefault(stage, time.monotonic())

    model = pipeline.turn_model
    turn_model = MeteredTurn(model, meter) if model is not None else None
    backend = CascadeBackend(
        metered,
        platform.engine,
        observer=observe,
        speculate_pause_s=pipeline.speculate_pause_s,
        turn_model=(lambda: turn_model) if turn_model is not None else None,
        preempt=pipeline.preempt,
        text_signal_s=pipeline.text_signal_s,
        stretch_s=pipeline.stretch_s,
        stretch_prompt=pipeline.stretch_prompt,
    )
    tenant_id, agent_id = ids
    session = platform.sessions.start(tenant_id, agent_id, Channel.VOICE)

    async def key_ok() -> None:
        return None

    call = Call(tenant_id, agent_id, session.id, INPUT_RATE, 24_000, key_ok, end_of_turn=pipeline.end_of_turn)
    pcm, speech_s = audio
    frame = int(0.02 * INPUT_RATE) * 2
    send, receive = anyio.create_memory_object_stream[bytes](1024)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(backend.run, call, receive, sink)
        async with send:
            for number in range(1, turns + 1):
                sink.turn, sink.done = Turn(clip_no, number), anyio.Event()
                before = meter.snapshot()
                start = time.monotonic()
                for n, offset in enumerate(range(0, len(pcm), frame)):
                    await send.send(pcm[offset : offset + frame])
                    if not sink.turn.speech_end and (offset + frame) / 2 / INPUT_RATE >= speech_s:
                        sink.turn.speech_end = time.monotonic()
                    delay = start + (n + 1) * 0.02 - time.monotonic()
                    if delay > 0:
                        await anyio.sleep(delay)
                with anyio.fail_after(120):
                    await sink.done.wait()
                after = meter.snapshot()
                sink.turn.cpu = {k: after[k] - before[k] for k in after}
                pipeline.turns.append(sink.turn)
    for key in SPECULATION:
        pipeline.speculation[key] += getattr(backend.speculation, key)
    for key in TURN_TAKING:
        pipeline.turn_taking[key] += getattr(backend.turns, key)
    for key in PREEMPTION:
        pipeline.preemption[key] += getattr(backend.preemption, key)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_errors(reference: str, heard: str) -> int:
    """Word-level edit distance (case and punctuation ignored)."""
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i, said in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (said != other))
    return row[-1]


def pauses(speech: LocalSpeech, pcm: bytes, pause_s: float = 0.2) -> list[float]:
    """Where Silero and the endpointer find `pause_s` pauses in a clip (seconds of utterance at each)."""
    endpointer = Endpointer(speech.new_vad(), EndpointConfig(pause_s=pause_s))
    found = endpointer.feed(pcm)
    return [len(b.pcm16) / 2 / INPUT_RATE for b in found if isinstance(b, Pause)]


def report_accuracy(pipelines: Sequence[Pipeline], questions: Sequence[str]) -> None:
    """WER of each pipeline's transcripts against the words said, and agreement with the whole-utterance pass
    (the first pipeline's most common words for the question)."""
    print("\ntranscripts: WER against the words said (mean over turns) / same words as the whole-utterance pass")
    whole = pipelines[0]
    for number, question in enumerate(questions):
        usual = Counter(" ".join(words(t.heard)) for t in whole.turns if t.clip == number).most_common(1)
        reference = usual[0][0] if usual else ""
        row = []
        for pipeline in pipelines:
            mine = [t for t in pipeline.turns if t.clip == number]
            if not mine:
                continue
            errors = sum(word_errors(question, t.heard) for t in mine) / len(mine) / max(1, len(words(question)))
            same = sum(" ".join(words(t.heard)) == reference for t in mine)
            row.append(f"{errors:5.3f} / {same}/{len(mine)}")
        print(f"  question {number} ({len(words(question))} words): " + "   |   ".join(row))
    for pipeline in pipelines:
        samples_heard = Counter(t.heard for t in pipeline.turns).most_common(len(questions))
        print(f"  {pipeline.name}:")
        for text, count in samples_heard:
            print(f"    {count}x {text}")


def _stt(turn: Turn) -> bool:
    return "transcribed" in turn.stages and "utterance_end" in turn.stages


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def p50_p95(values: Sequence[float]) -> str:
    return f"p50 {ms(percentile_or_nan(values, 50))}   p95 {ms(percentile_or_nan(values, 95))}"


def report(pipelines: Sequence[Pipeline], lengths: Sequence[float], turns: int) -> None:
    for pipeline in pipelines:
        # A reply whose first audio came before the question ended is not a latency: the turn was cut off
        # mid-question (Smart Turn taking a pause between sentences for the end), or it is the late answer to a
        # cut-off part landing in the next turn. Those are counted, and left out of every figure below.
        done = [t for t in pipeline.turns if not t.total < 0]
        early = len(pipeline.turns) - len(done)
        print(f"\n{pipeline.name}  ({len(pipeline.turns)} turns)")
        if early:
            clips = sorted({f"{lengths[t.clip]:.1f} s" for t in pipeline.turns if t.total < 0})
            print(f"  ANSWERED BEFORE THE QUESTION ENDED (cut off): {early} turns, on the {', '.join(clips)} questions")
        previous = "speech_end"
        for stage, title in STAGES:
            spans = [t.stages[stage] - t.stages.get(previous, t.speech_end) for t in done if stage in t.stages]
            print(f"  {title:<34} p50 {ms(percentile_or_nan(spans, 50))}")
            previous = stage
        totals = [t.total for t in done]
        print(f"  {'total: speech end -> first audio':<34} {p50_p95(totals)}")
        first = [t.total for t in done if t.number == 1]
        last = [t.total for t in done if t.number == turns]
        title = f"turn 1 / turn {turns} (p50 over questions)"
        print(f"  {title:<34} {ms(percentile_or_nan(first, 50))} / {ms(percentile_or_nan(last, 50))}")
        for number, seconds in enumerate(lengths):
            mine = [t.total for t in done if t.clip == number]
            stt = [t.stages["transcribed"] - t.stages["utterance_end"] for t in done if t.clip == number and _stt(t)]
            stt_p50 = ms(percentile_or_nan(stt, 50))
            print(f"  {f'{seconds:4.1f} s question':<34} {p50_p95(mine)}   speech-to-text after endpoint p50 {stt_p50}")
        for engine in ("vad", "stt", "tts", "turn"):
            if engine == "turn" and pipeline.end_of_turn is EndOfTurn.SILENCE:
                continue
            cpu = [t.cpu[engine] for t in done]
            print(f"  {'CPU per turn, ' + engine:<34} {p50_p95(cpu)}")
        calls = [t.cpu["stt_calls"] for t in done]
        print(f"  {'transcriptions per turn':<34} mean {sum(calls) / max(len(calls), 1):.2f}")
        if pipeline.speculate_pause_s is not None:
            print(f"  {'speculative jobs':<34} " + ", ".join(f"{k} {v}" for k, v in pipeline.speculation.items()))
        if pipeline.preempt:
            print(f"  {'preemptive replies':<34} " + ", ".join(f"{k} {v}" for k, v in pipeline.preemption.items()))
        if pipeline.end_of_turn is EndOfTurn.SMART_TURN:
            print(f"  {'Smart Turn':<34} " + ", ".join(f"{k} {v}" for k, v in pipeline.turn_taking.items()))


async def measure_turns(
    platform: Platform,
    speech: LocalSpeech,
    ids: tuple[str, str],
    *,
    quick: bool,
    smart_turn: bool = True,
    since_main: bool = False,
    pick: Sequence[int] | None = None,
    stretch_s: float | None = None,
    turns: int | None = None,
    stretch_prompted: bool = False,
) -> None:
    """`since_main` leaves out the 30 s window pipeline (main's default is issue 21's); `pick` chooses questions;
    `stretch_s` runs issue 21 beside its stretches only (also prompted with `stretch_prompted`);
    `turns` per call."""
    turns = turns or (3 if quick else 10)
    questions = [QUESTIONS[i] for i in pick] if pick else QUESTIONS[::3] if quick else QUESTIONS
    audios = [clip(speech, text) for text in questions]
    lengths = [seconds for _, seconds in audios]
    pipelines = [
        Pipeline("today: 30 s window, transcribe after the hangover", SttWindow.FULL, None),
        Pipeline("issue 21: trimmed window + speculative transcription at 0.2 s", SttWindow.TRIMMED, 0.2),
        Pipeline("preemptive: issue 21 + reply drafted and synthesised at 0.2 s", SttWindow.TRIMMED, 0.2, preempt=True),
        Pipeline(
            "preemptive + text signal: a closed sentence ends the turn at 0.35 s",
            SttWindow.TRIMMED,
            0.2,
            preempt=True,
            text_signal_s=0.35,
        ),
    ]
    if since_main:
        pipelines = pipelines[1:]
    if stretch_s is not None:
        smart_turn = False
        pipelines = [
            Pipeline("issue 21: trimmed window + speculative transcription at 0.2 s", SttWindow.TRIMMED, 0.2),
            Pipeline(
                f"stretches: issue 21 + stretches of {stretch_s:g} s", SttWindow.TRIMMED, 0.2, stretch_prompt=False
            ),
            Pipeline(f"stretches of {stretch_s:g} s, prompted", SttWindow.TRIMMED, 0.2),
        ][: 3 if stretch_prompted else 2]
        for pipeline in pipelines[1:]:
            pipeline.stretch_s = stretch_s
        for question, (pcm, seconds) in zip(questions, audios, strict=True):
            found = ", ".join(f"{at:.1f}" for at in pauses(speech, pcm))
            print(f"{seconds:4.1f} s question, 0.2 s pauses at [{found}] s: {question[:60]}...")
    try:
        model = smart_turn_loader()() if smart_turn else None
    except ConfigError as exc:
        print(f"smart_turn pipeline skipped: {exc.message}")
    else:
        if model is not None:
            pipelines.append(
                Pipeline(
                    "smart_turn: issue 21 + Smart Turn at 0.2 s, 1.2 s ceiling",
                    SttWindow.TRIMMED,
                    0.2,
                    end_of_turn=EndOfTurn.SMART_TURN,
                    turn_model=model,
                )
            )
    print(
        f"questions of {', '.join(f'{s:.1f}' for s in lengths)} s (Piper), {turns} turns a call, fed in real time;"
        f" load average before: {', '.join(f'{v:.1f}' for v in os.getloadavg())}"
    )
    for number, audio in enumerate(audios):
        for pipeline in pipelines:  # alternate, so load changes fall on both
            await one_call(platform, speech, ids, pipeline, audio, number, turns)
    report(pipelines, lengths, turns)
    if stretch_s is not None:
        report_accuracy(pipelines, questions)
    print(f"\nload average after: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


__all__ = ["measure_turns"]
