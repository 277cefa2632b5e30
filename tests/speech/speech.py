"""Helpers for the speech tests: word overlap, and audio turned into what the engines take."""

from __future__ import annotations

import re

import numpy as np
from numpy.typing import NDArray

from voice_bridge.speech.audio import pcm16_to_float, resample, resample_pcm16
from voice_bridge.speech.ports import INPUT_RATE, TextToSpeech

PHRASES = (
    "Please reset the password on my account.",
    "I would like to speak to a human agent.",
    "What are your opening hours on Saturday?",
    "Thank you very much for your help, goodbye.",
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def overlap(expected: str, heard: str) -> float:
    """Share of the expected words that were heard (order ignored)."""
    want = words(expected)
    got = set(words(heard))
    return sum(1 for word in want if word in got) / len(want)


def spoken(tts: TextToSpeech, text: str) -> bytes:
    """`text` said by `tts`, as PCM16 at the recogniser's rate."""
    return resample_pcm16(tts.synthesize(text), tts.sample_rate, INPUT_RATE)


def samples_at_input_rate(tts: TextToSpeech, text: str) -> NDArray[np.float32]:
    return resample(pcm16_to_float(tts.synthesize(text)), tts.sample_rate, INPUT_RATE)
