"""End-of-turn quality (issue 21 item 2): Smart Turn v3.2 beside today's silence-only endpointing, one run.

    .venv/bin/python -m bench.end_of_turn            # 40 utterances, ~2-4 minutes on the shared 2 cores
    .venv/bin/python -m bench.end_of_turn --quick    # 16 utterances (two voices)

The set: five questions, each spoken finished and cut mid-sentence (in the quietest 20 ms near a word
boundary, so the prosody carries on) then continued after a pause of 0.5, 0.7 or 0.9 s (people hesitate
that long mid-sentence), by four voices: Piper joe, Piper joe slowed 1.25x, espeak-ng en-us at 150 wpm,
espeak-ng en-gb at 190 wpm. 5 x 2 x 4 = 40 utterances, 0.3 s of silence before each, 2 s after.

Both sides run the product's own endpointing on the same audio, frame by frame, in audio time: the Silero
VAD and `Endpointer` of the cascade; silence-only with its 0.6 s hangover; smart_turn with the 1.2 s
ceiling as hangover, the model asked at each 0.2 s `Pause` and the turn ended with `Endpointer.end_at`
(what `TurnTaker` does) once the model's measured wall time has passed in audio time, unless speech came
back meanwhile. Printed:

- false cut-off rate: cut utterances whose turn ended in the mid-sentence pause (the agent would answer
  half a question), per side, and per pause length;
- mean decision time: end of speech -> end of turn, on the finished utterances (what the customer waits
  before the agent starts working), per side, with how often the model said "finished" (p >= threshold);
- the model's probabilities for each clip, so the table can be read against docs/voice-latency.md.

The model was trained on human speech; the issue 21 spike found it at chance on synthetic speech. This
bench measures the product on TTS, as the issue asks; it is not a measure of the model on people.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.voice_spike import TURN_SENTENCES, cut_after, speech16
from voice_bridge.endpointing import EndpointConfig, Endpointer, Pause, Utterance
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.piper import PiperTextToSpeech
from voice_bridge.speech.ports import INPUT_RATE, TextToSpeech, VoiceActivityDetector
from voice_bridge.speech.silero import SileroVadModel
from voice_bridge.turn.model import SmartTurn, load_smart_turn
from voice_bridge.turn.taker import SmartTurnPolicy

PAUSES_S = (0.5, 0.7, 0.9)
LEAD_S, TAIL_S = 0.3, 2.0
SILENCE = EndpointConfig()  # today's: 0.6 s hangover


@dataclass(frozen=True)
class Clip:
    voice: str
    sentence: str
    finished: bool
    pcm16: bytes
    speech_end: int  # sample where the (first part of the) speech ends
    resume: int | None  # sample where speech resumes after the mid-sentence pause (cut clips)
    pause_s: float = 0.0


@dataclass(frozen=True)
class Decision:
    at: int | None  # sample where the first turn ended (None: not before the clip's end)
    probabilities: tuple[float, ...] = ()
    model_s: tuple[float, ...] = ()


def pcm(audio: np.ndarray) -> bytes:
    return bytes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * INPUT_RATE), dtype=np.float32)


def clips(voices: dict[str, TextToSpeech]) -> list[Clip]:
    found: list[Clip] = []
    n = 0
    for name, tts in voices.items():
        for sentence, word in TURN_SENTENCES:
            whole = speech16(tts, sentence)
            audio = np.concatenate([quiet(LEAD_S), whole, quiet(TAIL_S)])
            found.append(Clip(name, sentence, True, pcm(audio), int(LEAD_S * INPUT_RATE) + whole.size, None))
            head = cut_after(tts, sentence, word)
            rest = speech16(tts, sentence[sentence.index(f" {word} ") + len(word) + 2 :])
            pause_s = PAUSES_S[n % len(PAUSES_S)]
            n += 1
            audio = np.concatenate([quiet(LEAD_S), head, quiet(pause_s), rest, quiet(TAIL_S)])
            end = int(LEAD_S * INPUT_RATE) + head.size
            found.append(Clip(name, sentence, False, pcm(audio), end, end + int(pause_s * INPUT_RATE), pause_s))
    return found


def silence_only(clip: Clip, vad: VoiceActivityDetector) -> Decision:
    endpointer = Endpointer(vad, SILENCE)
    step = endpointer.frame_bytes
    for offset in range(0, len(clip.pcm16), step):
        if any(isinstance(b, Utterance) for b in endpointer.feed(clip.pcm16[offset : offset + step])):
            return Decision((offset + step) // 2)
    return Decision(None)


def smart_turn(clip: Clip, vad: VoiceActivityDetector, model: SmartTurn, policy: SmartTurnPolicy) -> Decision:
    """The cascade's smart_turn endpointing in audio time: ask at each Pause, end there once the answer is in."""
    probability = model.probability
    endpointer = Endpointer(vad, EndpointConfig(hangover_s=policy.ceiling_s, pause_s=policy.pause_s))
    step = endpointer.frame_bytes
    pending: tuple[int, Pause] | None = None
    asked: list[float] = []
    took: list[float] = []
    for offset in range(0, len(clip.pcm16), step):
        now = (offset + step) // 2
        for boundary in endpointer.feed(clip.pcm16[offset : offset + step]):
            if isinstance(boundary, Utterance):
                return Decision(now, tuple(asked), tuple(took))
            if isinstance(boundary, Pause) and pending is None:
                began = time.perf_counter()
                p = probability(boundary.pcm16)
                wall = time.perf_counter() - began
                asked.append(p)
                took.append(wall)
                if p >= policy.threshold:
                    pending = (now + int(wall * INPUT_RATE), boundary)
        if pending is not None and now >= pending[0]:
            pause, pending = pending[1], None
            if endpointer.end_at(pause) is not None:
                return Decision(now, tuple(asked), tuple(took))
    return Decision(None, tuple(asked), tuple(took))


def cut_off(clip: Clip, decision: Decision) -> bool:
    return not clip.finished and decision.at is not None and clip.resume is not None and decision.at < clip.resume


def wait_s(clip: Clip, decision: Decision) -> float:
    end = decision.at if decision.at is not None else len(clip.pcm16) // 2
    return (end - clip.speech_end) / INPUT_RATE


Row = tuple[Clip, Decision, Decision]  # the clip, silence-only's decision, smart_turn's


def summary(label: str, rows: Sequence[Row], side: int) -> None:
    def decided(row: Row) -> Decision:
        return row[1] if side == 1 else row[2]

    finished = [r for r in rows if r[0].finished]
    cut = [r for r in rows if not r[0].finished]
    cuts = sum(cut_off(r[0], decided(r)) for r in cut)
    waits = [wait_s(r[0], decided(r)) for r in finished]
    per_pause = ", ".join(
        f"{p:.1f} s: {sum(cut_off(r[0], decided(r)) for r in cut if r[0].pause_s == p)}"
        f"/{sum(1 for r in cut if r[0].pause_s == p)}"
        for p in PAUSES_S
    )
    print(
        f"  {label:<38} false cut-offs {cuts}/{len(cut)} ({cuts / len(cut):.0%}; by pause {per_pause});"
        f" decision time on finished: mean {statistics.mean(waits) * 1000:.0f} ms,"
        f" p50 {statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms"
    )


def report(rows: Sequence[Row], policy: SmartTurnPolicy) -> None:
    finished = [r for r in rows if r[0].finished]
    cut = [r for r in rows if not r[0].finished]
    print(f"\n{'voice':<17} {'':9} {'silence':>8} {'smart':>8}  p(finished) at each pause   sentence")
    for clip, quiet_side, smart_side in rows:
        kind = "finished" if clip.finished else f"cut {clip.pause_s:.1f}s"
        marks = []
        for side in (quiet_side, smart_side):
            marks.append("CUT" if cut_off(clip, side) else f"{wait_s(clip, side) * 1000:5.0f}ms")
        probs = " ".join(f"{p:.2f}" for p in smart_side.probabilities)
        print(f"{clip.voice:<17} {kind:<9} {marks[0]:>8} {marks[1]:>8}  {probs:<26} {clip.sentence}")
    print(f"\n{len(rows)} utterances ({len(finished)} finished, {len(cut)} cut and continued)")
    summary("silence-only (0.6 s hangover)", rows, 1)
    summary(f"smart_turn (p >= {policy.threshold}, {policy.ceiling_s:.1f} s ceiling)", rows, 2)
    said = [r[2].probabilities[0] for r in finished if r[2].probabilities]
    cut_said = [r[2].probabilities[0] for r in cut if r[2].probabilities]
    model_s = [s for r in rows for s in r[2].model_s]
    print(
        f"  the model at the first pause: finished clips {sum(p >= policy.threshold for p in said)}/{len(said)}"
        f" called finished, cut clips {sum(p >= policy.threshold for p in cut_said)}/{len(cut_said)} called finished;"
        f" model wall time p50 {statistics.median(model_s) * 1000:.0f} ms over {len(model_s)} runs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="two voices (16 utterances)")
    args = parser.parse_args(argv)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"end of turn: silence-only vs smart_turn, {os.cpu_count()} CPUs, load average {load}")
    model = load_smart_turn()  # ConfigError naming `python -m voice_bridge.turn.fetch` if it is not installed
    vad = SileroVadModel.load()
    voices: dict[str, TextToSpeech] = {
        "piper joe": PiperTextToSpeech(intra_op_threads=1),
        "espeak en-us 150": EspeakTextToSpeech(voice="en-us", words_per_minute=150),
    }
    if not args.quick:
        voices["piper joe slow"] = PiperTextToSpeech(intra_op_threads=1, length_scale=1.25)
        voices["espeak en-gb 190"] = EspeakTextToSpeech(voice="en-gb", words_per_minute=190)
    policy = SmartTurnPolicy()
    rows: list[Row] = []
    for clip in clips(voices):
        rows.append((clip, silence_only(clip, vad.new_detector()), smart_turn(clip, vad.new_detector(), model, policy)))
    report(rows, policy)
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
