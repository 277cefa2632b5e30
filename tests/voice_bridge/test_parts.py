"""The bridge's parts on their own: sentence splitting, endpointing on real speech, resampling, the protocol."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from oratio.errors import ConfigError
from tests.voice_bridge.doubles import silence, speak
from voice_bridge.audio import Resampler, read_wav, resample, samples
from voice_bridge.endpointing import EndpointConfig, Endpointer, SpeechStart, Utterance
from voice_bridge.pacing import AudioPacer
from voice_bridge.protocol import JSON_DEPTH_MAX, Close, ProtocolError, parse_control, parse_start
from voice_bridge.recording import Recording
from voice_bridge.scripted import EnergyVad
from voice_bridge.sentences import SentenceSplitter
from voice_bridge.settings import load_voice_settings


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


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """Depth is the parsed value's (`oratio.http_json.parse_json`, one check for every door), not a count of `[`."""
    brackets = "[" * (4 * JSON_DEPTH_MAX) + "{" * (4 * JSON_DEPTH_MAX)
    assert parse_control(json.dumps({"type": "end", "note": brackets}))["note"] == brackets
    assert parse_control('{"type": "end", "note": "\\"[[[[[[[[[[[[[[[[[[[["}')["type"] == "end"  # escaped quote


def test_malformed_json_is_refused_as_malformed_like_every_door() -> None:
    """Unclosed brackets are not JSON: the reason says so (it once said "nested too deeply" for these)."""
    for text in ("[" * (JSON_DEPTH_MAX + 1), '{"type": "end", "x": ' + "[" * 50):
        with pytest.raises(ProtocolError) as caught:
            parse_control(text)
        assert (caught.value.code, caught.value.reason) == (Close.POLICY, "control messages are JSON objects")
        with pytest.raises(ProtocolError) as caught:
            parse_start(text)
        assert caught.value.reason == "the first message must be a JSON start message"


def test_control_messages_nested_past_the_bound_are_refused_before_parsing() -> None:
    text = '{"type": "end", "x": ' + "[" * 5_000 + "]" * 5_000 + "}"
    with pytest.raises(ProtocolError) as caught:
        parse_control(text)
    assert caught.value.code is Close.POLICY
    ok = '{"type": "end", "x": ' + "[" * (JSON_DEPTH_MAX - 1) + "]" * (JSON_DEPTH_MAX - 1) + "}"
    assert parse_control(ok)["type"] == "end"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_admits_real_time_and_a_burst_but_no_more() -> None:
    clock = Clock()
    pacer = AudioPacer(16_000, 2.0, clock)
    second = bytes(32_000)
    pacer.admit(second)
    pacer.admit(second)  # two seconds ahead: the burst
    with pytest.raises(ProtocolError) as caught:
        pacer.admit(bytes(2))
    assert caught.value.code is Close.POLICY and pacer.audio_s == 2.0  # the refused frame is not counted
    clock.now += 1.0
    pacer.admit(second)
    assert pacer.ahead_s() == 2.0


def test_a_recording_is_kept_on_disk_and_stops_at_its_limit(tmp_path: Path) -> None:
    limit = 44 + 16_000 * 4  # one second of 16 kHz stereo
    recording = Recording(16_000, 24_000, 60.0, limit, directory=str(tmp_path))
    tone = (np.arange(16_000) % 2000 - 1000).astype("<i2").tobytes()  # one second of a saw wave
    recording.customer(tone[:16_000])
    recording.agent(bytes(24_000))  # 0.5 s at 24 kHz, placed after the customer's 0.5 s
    recording.customer(tone[16_000:])
    assert recording.full and recording.seconds == 1.0
    wav = recording.wav()
    assert len(wav) == limit == recording.max_bytes
    pcm, rate, channels = read_wav(wav)
    stereo = samples(pcm).reshape(-1, 2)
    assert (rate, channels) == (16_000, 2)
    assert np.array_equal(stereo[:, 0], samples(tone[:32_000]))
    assert not list(tmp_path.iterdir())  # the track files are unlinked at once: nothing to leave behind
    recording.close()


def test_the_pacing_and_recording_limits_are_settings() -> None:
    limits = load_voice_settings(
        {"ORATIO_VOICE_AUDIO_BURST_SECONDS": "5", "ORATIO_VOICE_RECORDING_MAX_BYTES": "1000000"}
    ).limits()
    assert (limits.burst_s, limits.recording_max_bytes) == (5.0, 1_000_000)
    defaults = load_voice_settings({}).limits()
    assert (defaults.burst_s, defaults.recording_max_bytes) == (2.0, 128 * 1024 * 1024)
    with pytest.raises(ConfigError) as caught:
        load_voice_settings({"ORATIO_VOICE_AUDIO_BURST_SECONDS": "0"})
    assert "ORATIO_VOICE_AUDIO_BURST_SECONDS" in caught.value.message
