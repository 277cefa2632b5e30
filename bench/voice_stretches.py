"""Stretches offline: what committing a question's pauses costs in words, and what it saves at the end of the turn.

Each question is spoken by Piper (the cascade's voice), Silero and the endpointer find its 0.2 s pauses, and the
cascade's stretch rule is applied to them as a customer would speak it: a pause that closes at least S seconds
since the last committed boundary commits the transcript of that stretch (prompted with the committed text, or
not); the last piece (from the last boundary to the final pause) is what the speculative job of the final pause
transcribes, and what must finish within the hangover for the turn to pay nothing for speech-to-text. Printed
per stretch length S (and "whole": no stretches, today's single pass):

* WER of the joined transcript against the words said, and how many questions came out with exactly the words
  of the whole-utterance pass;
* the process CPU time of that last piece's recognition (p50 over repeats), beside the whole utterance's.

No scheduling, no real-time feeding: the same engines on the same audio, so the run takes a minute or two.

    .venv/bin/python -m bench.voice_stretches [--repeats 3] [--stretches 2 3 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.voice_turns import QUESTIONS, clip, word_errors, words
from voice_bridge.endpointing import EndpointConfig, Endpointer, Pause, Utterance
from voice_bridge.speech.local import load_local_speech
from voice_bridge.speech.ports import INPUT_RATE, LocalSpeech, TranscribesAfter

EXTRA = [
    "Hello, I was charged for a premium plan last month, but I only signed up for the basic one, and I would"
    " like the difference back on my card, please.",
    "We moved our office to a new building, so the invoices still go to the old address. Can you change it to"
    " twelve Harbour Street, and send me a copy of the last two invoices?",
]


@dataclass
class Result:
    errors: list[float] = field(default_factory=list)
    same: int = 0
    last_cpu: dict[int, list[float]] = field(default_factory=dict)  # by question
    pieces: list[int] = field(default_factory=list)


def cut(speech: LocalSpeech, pcm: bytes) -> tuple[list[int], Utterance]:
    """The 0.2 s pauses (bytes of utterance at each) and the utterance the endpointer makes of `pcm`."""
    found = Endpointer(speech.new_vad(), EndpointConfig(pause_s=0.2)).feed(pcm)
    utterances = [b for b in found if isinstance(b, Utterance)]
    return [len(b.pcm16) for b in found if isinstance(b, Pause)], utterances[0]


def recognise(speech: LocalSpeech, pcm: bytes, prompt: str) -> tuple[str, float]:
    stt = speech.stt
    began = time.process_time()
    if prompt and isinstance(stt, TranscribesAfter):
        text = stt.transcribe_after(pcm, prompt)
    else:
        text = stt.transcribe(pcm)
    return text.strip(), time.process_time() - began


def stretched(
    speech: LocalSpeech, utterance: Utterance, pauses: Sequence[int], s: float | None, prompt: bool
) -> tuple[str, float, int]:
    """The stretch rule over `utterance` (None: no stretches): the joined text, the CPU seconds of the last
    piece's recognition (the final pause's speculative job), and the number of pieces."""
    final = utterance.paused_at or len(utterance.pcm16)
    texts: list[str] = []
    base = 0
    stretch_bytes = int(s * INPUT_RATE) * 2 if s is not None else None
    for at in pauses:
        if stretch_bytes is not None and at < final and at - base >= stretch_bytes:
            text, _ = recognise(speech, utterance.pcm16[base:at], " ".join(texts) if prompt else "")
            texts.append(text)
            base = at
    tail, cpu = recognise(speech, utterance.pcm16[base:final], " ".join(texts) if prompt else "")
    return " ".join(t for t in [*texts, tail] if t), cpu, len(texts) + 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice_stretches", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="Piper renditions of each question (default 3)")
    parser.add_argument("--stretches", type=float, nargs="+", default=[2.0, 3.0, 4.0], help="S values (seconds)")
    args = parser.parse_args(argv)
    speech = load_local_speech(stt_threads=1)
    print(f"load average before: {', '.join(f'{v:.1f}' for v in os.getloadavg())}; Whisper tiny.en on 1 thread")
    configs: list[tuple[str, float | None, bool]] = [("whole", None, False)] + [
        (f"{s:g} s{' +prompt' if prompt else ''}", s, prompt) for s in args.stretches for prompt in (True, False)
    ]
    results = {name: Result() for name, _, _ in configs}
    questions = [*QUESTIONS, *EXTRA]
    lengths: list[float] = []
    for number, question in enumerate(questions):
        for repeat in range(args.repeats):
            pcm, seconds = clip(speech, question)
            pauses, utterance = cut(speech, pcm)
            if not repeat:
                lengths.append(seconds)
                marks = ", ".join(f"{at / 2 / INPUT_RATE:.1f}" for at in pauses)
                print(f"question {number} ({seconds:.1f} s): 0.2 s pauses at [{marks}] s")
            whole = ""
            for name, s, prompt in configs:
                text, cpu, pieces = stretched(speech, utterance, pauses, s, prompt)
                whole = text if s is None else whole
                mine = results[name]
                mine.errors.append(word_errors(question, text) / len(words(question)))
                mine.same += words(text) == words(whole)
                mine.last_cpu.setdefault(number, []).append(cpu)
                mine.pieces.append(pieces)
                if not repeat and (s is None or mine.errors[-1] > results["whole"].errors[-1]):
                    print(f"    {name:<12} {text}")
    runs = len(questions) * args.repeats
    heads = "".join(f"{f'{x:.1f} s':>8}" for x in lengths)
    print(f"\n{'':<12} {'WER':>6} {'same as whole':>14} {'pieces':>7}   last piece CPU p50 (ms) by question: {heads}")
    for name, _, _ in configs:
        mine = results[name]
        by_question = "".join(f"{statistics.median(mine.last_cpu[n]) * 1000:8.0f}" for n in range(len(questions)))
        same, mean_pieces = f"{mine.same}/{runs}", statistics.fmean(mine.pieces)
        print(f"{name:<12} {statistics.fmean(mine.errors):6.3f} {same:>14} {mean_pieces:7.2f}   {by_question}")
    print(f"load average after: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
