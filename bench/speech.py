"""The offline voice cascade's engines on this machine: how fast each one is against real time.

    .venv/bin/python -m bench.speech            # about two minutes on an idle 2-core machine
    .venv/bin/python -m bench.speech --quick    # one pass of everything (smoke run, < 30 s)

Needs `pip install 'oratio[voice]'` and the espeak-ng program (scripts/system-deps). Nothing is downloaded.

What is measured, all in one process so the ratios compare like with like:
- load: each engine's start-up (digest check + model load; espeak-ng: its probe run).
- TTS: `synthesize` of a short reply (one sentence) and a long one (four sentences). `synthesize` returns
  the whole utterance, so its wall time is the time to audio; real-time factor = that time / the audio's
  length (below 1 is faster than real time). espeak-ng is the baseline; Piper's ratio to it is printed.
  Runs alternate between the engines so machine load hits both alike; medians of `repeats` runs.
- STT: Whisper tiny.en on espeak-ng speech (resampled to 16 kHz) of about 2, 4 and 10 seconds, at beam
  size 1 (greedy) and 2 (the default); real-time factor = transcription time / audio length. Word
  overlap with the text is printed so speed is never read without accuracy. Whisper's encoder always
  reads a 30 s window (shorter audio is padded), so the time barely depends on the utterance's length:
  the RTF of short utterances is poor, the latency is what to read. Then two calls at once from two
  threads against two in a row: with one CTranslate2 worker the second call queues.
- VAD: Silero on 30 s of speech and silence, one 512-sample (32 ms) frame per call as the bridge feeds
  it, PCM16 conversion included: microseconds per frame, and the share of one core it takes per stream.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from voice_bridge.speech.audio import duration_seconds, float_to_pcm16, pcm16_to_float, resample, resample_pcm16
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.piper import PiperTextToSpeech
from voice_bridge.speech.ports import INPUT_RATE, TextToSpeech
from voice_bridge.speech.silero import FRAME_SAMPLES, SileroVadModel
from voice_bridge.speech.whisper import WhisperSpeechToText

SHORT_REPLY = "Sure, I can help you with that."
LONG_REPLY = (
    "Thanks for waiting. I found your order, and it left our warehouse this morning. "
    "It should arrive on Friday between nine and five. Is there anything else I can help you with today?"
)
UTTERANCES = (
    "Where is my parcel?",
    "I would like to change the address for my delivery.",
    "Hello, I ordered a pair of running shoes last week and they have not arrived yet. "
    "Could you tell me where they are and when I can expect them?",
)


@dataclass(frozen=True)
class Plan:
    repeats: int
    vad_seconds: int


FULL = Plan(repeats=5, vad_seconds=30)
QUICK = Plan(repeats=1, vad_seconds=5)


def overlap(expected: str, heard: str) -> float:
    """Share of the expected words that were heard, order ignored (as in tests/speech)."""
    want = re.findall(r"[a-z']+", expected.lower())
    got = set(re.findall(r"[a-z']+", heard.lower()))
    return sum(1 for word in want if word in got) / len(want)


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def load_engines() -> tuple[SileroVadModel, WhisperSpeechToText, WhisperSpeechToText, PiperTextToSpeech, TextToSpeech]:
    loads: dict[str, float] = {}
    began = time.perf_counter()
    vad = SileroVadModel.load()
    loads["Silero VAD"] = time.perf_counter() - began
    began = time.perf_counter()
    whisper = WhisperSpeechToText(beam_size=2)
    loads["Whisper tiny.en"] = time.perf_counter() - began
    greedy = WhisperSpeechToText(beam_size=1)
    began = time.perf_counter()
    piper = PiperTextToSpeech()
    loads["Piper (joe, medium)"] = time.perf_counter() - began
    began = time.perf_counter()
    espeak = EspeakTextToSpeech()
    loads["espeak-ng (probe)"] = time.perf_counter() - began
    print("load")
    for name, seconds in loads.items():
        print(f"  {name:<24} {seconds * 1000:8.0f} ms")
    return vad, whisper, greedy, piper, espeak


def bench_tts(piper: TextToSpeech, espeak: TextToSpeech, repeats: int) -> None:
    print("\nTTS (time to audio = synthesize wall time; RTF = time / audio length)")
    for label, text in (("short reply", SHORT_REPLY), ("long reply", LONG_REPLY)):
        times: dict[str, list[float]] = {"espeak-ng": [], "piper": []}
        audio: dict[str, float] = {}
        for _ in range(repeats):
            for name, engine in (("espeak-ng", espeak), ("piper", piper)):
                began = time.perf_counter()
                pcm = engine.synthesize(text)
                times[name].append(time.perf_counter() - began)
                audio[name] = duration_seconds(pcm, engine.sample_rate)
        medians = {name: statistics.median(values) for name, values in times.items()}
        for name in ("espeak-ng", "piper"):
            print(
                f"  {label:<12} {name:<10} {medians[name] * 1000:8.0f} ms to audio   {audio[name]:5.1f} s of speech"
                f"   RTF {medians[name] / audio[name]:6.3f}"
            )
        print(f"  {label:<12} piper / espeak-ng: {medians['piper'] / medians['espeak-ng']:5.1f}x the time to audio")


def bench_stt(whisper: WhisperSpeechToText, greedy: WhisperSpeechToText, espeak: TextToSpeech, repeats: int) -> None:
    print("\nSTT (Whisper tiny.en, int8, 2 threads; espeak-ng speech at 16 kHz; RTF = time / audio length)")
    for text in UTTERANCES:
        pcm = resample_pcm16(espeak.synthesize(text), espeak.sample_rate, INPUT_RATE)
        seconds = duration_seconds(pcm, INPUT_RATE)
        whisper.transcribe(pcm)  # warm the caches once per length
        for beam, engine in ((1, greedy), (2, whisper)):
            runs = [timed(partial(engine.transcribe, pcm)) for _ in range(repeats)]
            heard = engine.transcribe(pcm)
            median = statistics.median(runs)
            print(
                f"  {seconds:5.1f} s audio  beam {beam}  {median * 1000:7.0f} ms  RTF {median / seconds:6.3f}"
                f"   word overlap {overlap(text, heard):4.2f}"
            )


def bench_stt_concurrency(whisper: WhisperSpeechToText, espeak: TextToSpeech, repeats: int) -> None:
    """Two calls at once on the shared model (1 worker): the second waits, so wall time ~ two in a row."""
    pcm = resample_pcm16(espeak.synthesize(UTTERANCES[1]), espeak.sample_rate, INPUT_RATE)
    sequential = statistics.median(timed(lambda: [whisper.transcribe(pcm) for _ in range(2)]) for _ in range(repeats))
    with ThreadPoolExecutor(max_workers=2) as pool:
        concurrent = statistics.median(
            timed(lambda: list(pool.map(whisper.transcribe, [pcm, pcm]))) for _ in range(repeats)
        )
    print(
        f"  2 calls in a row {sequential * 1000:7.0f} ms   2 calls at once {concurrent * 1000:7.0f} ms"
        f"   ratio {concurrent / sequential:4.2f} (1 worker x 2 threads)"
    )


def bench_vad(vad: SileroVadModel, espeak: TextToSpeech, seconds: int) -> None:
    speech = resample(pcm16_to_float(espeak.synthesize(LONG_REPLY)), espeak.sample_rate, INPUT_RATE)
    pause = np.zeros(INPUT_RATE, dtype=np.float32)
    audio = np.tile(np.concatenate([speech, pause]), seconds * INPUT_RATE // (speech.size + pause.size) + 1)
    audio = audio[: seconds * INPUT_RATE // FRAME_SAMPLES * FRAME_SAMPLES]
    frames = [float_to_pcm16(audio[i : i + FRAME_SAMPLES]) for i in range(0, audio.size, FRAME_SAMPLES)]
    detector = vad.new_detector()
    for frame in frames[:20]:  # warm-up
        detector.speech_probability(frame)
    detector.reset()
    began = time.perf_counter()
    for frame in frames:
        detector.speech_probability(frame)
    per_frame = (time.perf_counter() - began) / len(frames)
    frame_seconds = FRAME_SAMPLES / INPUT_RATE
    print(f"\nVAD (Silero v6, 1 thread; {len(frames)} frames of {frame_seconds * 1000:.0f} ms)")
    print(f"  {per_frame * 1e6:8.0f} us per frame   {per_frame / frame_seconds:6.2%} of one core per stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one pass of everything (smoke run)")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    print(f"speech engines: {plan.repeats} run(s) per figure (median), {os.cpu_count()} CPUs\n")
    vad, whisper, greedy, piper, espeak = load_engines()
    bench_tts(piper, espeak, plan.repeats)
    bench_stt(whisper, greedy, espeak, plan.repeats)
    bench_stt_concurrency(whisper, espeak, plan.repeats)
    bench_vad(vad, espeak, plan.vad_seconds)


if __name__ == "__main__":
    main()
