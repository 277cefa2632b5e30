"""Both voices on real text: PCM16 at the stated rate, of a plausible length, and their refusals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from oratio.errors import ConfigError, InvalidInput
from tests.speech.speech import words
from tests.system import require_program
from voice_bridge.speech.audio import duration_seconds, pcm16_to_float
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.piper import PiperTextToSpeech, default_voice_path
from voice_bridge.speech.ports import TextToSpeech
from voice_bridge.speech.text import MAX_TEXT_CHARS

SENTENCE = "Thanks for calling. Your parcel left our warehouse this morning and should arrive on Friday."


@pytest.fixture(params=["espeak-ng", "piper"])
def tts(request: pytest.FixtureRequest) -> TextToSpeech:
    voice: TextToSpeech = request.getfixturevalue("espeak" if request.param == "espeak-ng" else "piper")
    return voice


def test_speech_is_pcm16_at_the_stated_rate_and_plausibly_long(tts: TextToSpeech) -> None:
    pcm = tts.synthesize(SENTENCE)
    assert tts.sample_rate == 22050
    assert pcm and len(pcm) % 2 == 0
    seconds = duration_seconds(pcm, tts.sample_rate)
    per_word = seconds / len(words(SENTENCE))
    assert 0.15 < per_word < 1.0, f"{seconds:.2f} s for {len(words(SENTENCE))} words"
    samples = pcm16_to_float(pcm)
    assert float(np.sqrt(np.mean(samples**2))) > 0.02  # audible, not silence
    assert float(np.abs(samples).max()) <= 1.0


def test_longer_text_is_longer_speech(tts: TextToSpeech) -> None:
    short = tts.synthesize("Hello.")
    long = tts.synthesize("Hello. " + SENTENCE)
    assert len(long) > 2 * len(short)


def test_phoneme_markup_is_read_as_words(tts: TextToSpeech) -> None:
    assert tts.synthesize("[[h@'loU]] there")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_blank_text_is_refused(tts: TextToSpeech, text: str) -> None:
    with pytest.raises(InvalidInput, match="no text to speak"):
        tts.synthesize(text)


def test_oversized_text_is_refused(tts: TextToSpeech) -> None:
    with pytest.raises(InvalidInput, match=f"at most {MAX_TEXT_CHARS}"):
        tts.synthesize("word " * MAX_TEXT_CHARS)


def test_espeak_reads_text_that_looks_like_options_as_words(espeak: EspeakTextToSpeech) -> None:
    assert duration_seconds(espeak.synthesize("--version -w /tmp/x; rm -rf /"), espeak.sample_rate) > 0.5


def test_a_missing_espeak_program_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="espeak-ng does not work here: .*could not be started"):
        EspeakTextToSpeech(program=str(tmp_path / "espeak-ng"))


def test_an_espeak_program_that_fails_is_a_config_error(tmp_path: Path) -> None:
    require_program("espeak-ng")
    broken = tmp_path / "espeak-ng"
    broken.write_text("#!/bin/sh\necho 'no voices' >&2\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ConfigError, match="exit status 3: no voices"):
        EspeakTextToSpeech(program=str(broken))


def test_an_espeak_program_that_writes_no_wav_is_a_config_error(tmp_path: Path) -> None:
    chatty = tmp_path / "espeak-ng"
    chatty.write_text("#!/bin/sh\ncat >/dev/null\necho 'not audio'\n")
    chatty.chmod(chatty.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ConfigError, match="no readable WAV audio"):
        EspeakTextToSpeech(program=str(chatty))


def test_espeak_speed_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between 80 and 450"):
        EspeakTextToSpeech(words_per_minute=20)


@pytest.mark.parametrize("voice", ["-w/tmp/out.wav", "en us", "", "en;rm"])
def test_an_espeak_voice_that_is_not_a_name_is_refused(voice: str) -> None:
    with pytest.raises(ValueError, match="not an espeak-ng voice name"):
        EspeakTextToSpeech(voice=voice)


def test_a_piper_voice_with_another_digest_is_refused(tmp_path: Path) -> None:
    voice = tmp_path / "en_US-joe-medium.onnx"
    os.symlink(default_voice_path(), voice)
    os.symlink(default_voice_path().with_name(voice.name + ".json"), voice.with_name(voice.name + ".json"))
    with pytest.raises(ConfigError, match="Piper voice file .* does not match its pinned SHA-256"):
        PiperTextToSpeech(voice, model_sha256="f" * 64)
    with pytest.raises(ConfigError, match="Piper voice config file .* does not match its pinned SHA-256"):
        PiperTextToSpeech(voice, config_sha256="f" * 64)


def test_a_missing_piper_voice_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Piper voice file .*cannot be read .*oratio\[voice\]"):
        PiperTextToSpeech(tmp_path / "absent.onnx")
