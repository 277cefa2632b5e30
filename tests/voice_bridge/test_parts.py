"""The bridge's parts on their own: sentence splitting, endpointing on real speech, resampling, the protocol."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.voice_bridge.doubles import silence, speak
from voice_bridge.audio import Resampler, resample, samples
from voice_bridge.endpointing import EndpointConfig, Endpointer, SpeechStart, Utterance
from voice_bridge.protocol import Close, ProtocolError, parse_start
from voice_bridge.scripted import EnergyVad
from voice_bridge.sentences import SentenceSplitter


def split_stream(text: str, size: int) -> list[str]:
    splitter = SentenceSplitter()
    out: list[str] = []
    for start in range(0, len(text), size):
        out += splitter.add(text[start : start + size])
    return out + splitter.flush()


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_sentences_come_out_whole_however_the_text_is_streamed(size: int) -> None:
    text = "Hi there! Refunds take 3.5 days, e.g. for cards. Is that all?\nThanks"
    assert split_stream(text, size) == ["Hi there!", "Refunds take 3.5 days, e.g. for cards.", "Is that all?", "Thanks"]


def test_a_sentence_is_released_as_soon_as_the_next_begins() -> None:
    splitter = SentenceSplitter()
    assert splitter.add("You said: hello.") == []
    assert splitter.add(" A") == ["You said: hello."]


def test_a_long_run_without_punctuation_is_cut_at_a_word() -> None:
    splitter = SentenceSplitter(max_chars=20)
    out = splitter.add("one two three four five six seven")
    assert out == ["one two three four"]
    assert splitter.flush() == ["five six seven"]


def test_endpointing_finds_each_spoken_utterance() -> None:
    audio = silence(0.5) + speak("Hello there.") + silence(1.0) + speak("Second part, please.") + silence(1.0)
    endpointer = Endpointer(EnergyVad(), EndpointConfig(hangover_s=0.6))
    found = []
    for start in range(0, len(audio), 999):  # odd sizes: frames straddle calls
        found += endpointer.feed(audio[start : start + 999])
    assert [type(b) for b in found] == [SpeechStart, Utterance, SpeechStart, Utterance]
    first = found[1]
    assert isinstance(first, Utterance) and not first.cut
    assert 0.6 < len(first.pcm16) / 32_000 < 2.5


def test_a_pause_shorter_than_the_hangover_does_not_end_the_utterance() -> None:
    # espeak-ng ends its audio with about 0.3 s of quiet: the pause is about 0.6 s in all.
    audio = speak("One.") + silence(0.3) + speak("Two.") + silence(1.5)
    found = Endpointer(EnergyVad(), EndpointConfig(hangover_s=1.0)).feed(audio)
    assert [type(b) for b in found] == [SpeechStart, Utterance]


def test_an_endless_utterance_is_cut_at_the_limit() -> None:
    loud = (3000 * np.sin(np.arange(16_000 * 3) / 5)).astype("<i2").tobytes()
    found = Endpointer(EnergyVad(), EndpointConfig(max_s=1.0)).feed(loud)
    cuts = [b for b in found if isinstance(b, Utterance)]
    assert len(cuts) >= 2 and all(u.cut for u in cuts)


def test_streaming_resampling_matches_resampling_at_once() -> None:
    audio = speak("Resample me.", rate=48_000)
    whole = samples(resample(audio, 48_000, 16_000)).astype(int)
    resampler = Resampler(48_000, 16_000)
    streamed_bytes = b"".join(resampler.feed(audio[i : i + 1918]) for i in range(0, len(audio), 1918))
    streamed = samples(streamed_bytes).astype(int)
    assert abs(len(streamed) - len(whole)) <= 2
    n = min(len(whole), len(streamed))
    assert np.abs(whole[:n] - streamed[:n]).max() <= 2


def test_start_message_errors_name_the_problem() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_start(json.dumps({"type": "hello"}))
    assert caught.value.code is Close.POLICY
    with pytest.raises(ProtocolError) as caught:
        parse_start(json.dumps({"type": "start"}))
    assert caught.value.code is Close.POLICY and caught.value.reason == "bad start message: audio: Field required"
    ok = parse_start(json.dumps({"type": "start", "audio": {"encoding": "pcm16", "sample_rate": 8000, "channels": 1}}))
    assert ok.audio.sample_rate == 8000 and ok.output_sample_rate == 24_000
