"""Whisper tiny.en on real synthesized speech, and its refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from oratio.errors import ConfigError, InvalidInput
from tests.speech.speech import PHRASES, overlap, spoken
from voice_bridge.speech.audio import float_to_pcm16
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.piper import PiperTextToSpeech
from voice_bridge.speech.ports import INPUT_RATE
from voice_bridge.speech.whisper import MAX_UTTERANCE_SECONDS, MODEL_FILES_SHA256, WhisperSpeechToText

MIN_OVERLAP = 0.6


@pytest.mark.parametrize("phrase", PHRASES)
def test_espeak_speech_is_transcribed(whisper: WhisperSpeechToText, espeak: EspeakTextToSpeech, phrase: str) -> None:
    heard = whisper.transcribe(spoken(espeak, phrase))
    assert overlap(phrase, heard) >= MIN_OVERLAP, heard


@pytest.mark.parametrize("phrase", PHRASES)
def test_piper_speech_is_transcribed(whisper: WhisperSpeechToText, piper: PiperTextToSpeech, phrase: str) -> None:
    heard = whisper.transcribe(spoken(piper, phrase))
    assert overlap(phrase, heard) >= MIN_OVERLAP, heard


def test_concurrent_calls_from_worker_threads_each_get_their_own_words(
    whisper: WhisperSpeechToText, espeak: EspeakTextToSpeech
) -> None:
    phrases = PHRASES[:2]  # two calls at once already exceed the model's one worker: one of them queues
    audio = [spoken(espeak, phrase) for phrase in phrases]
    sequential = [whisper.transcribe(pcm) for pcm in audio]
    with ThreadPoolExecutor(max_workers=len(audio)) as pool:
        concurrent = list(pool.map(whisper.transcribe, audio))
    assert concurrent == sequential
    for phrase, heard in zip(phrases, concurrent, strict=True):
        assert overlap(phrase, heard) >= MIN_OVERLAP, heard


def test_silence_and_empty_audio_are_no_words(whisper: WhisperSpeechToText) -> None:
    assert whisper.transcribe(b"") == ""
    assert whisper.transcribe(b"\x00\x00" * INPUT_RATE) == ""


def test_noise_is_no_words(whisper: WhisperSpeechToText) -> None:
    """Whisper's no-speech check (kept at its defaults) drops a noise-only window instead of inventing words."""
    noise = np.random.default_rng(3).normal(0.0, 0.01, 2 * INPUT_RATE)
    assert whisper.transcribe(float_to_pcm16(noise)) == ""


def test_audio_with_an_odd_byte_count_is_refused(whisper: WhisperSpeechToText) -> None:
    with pytest.raises(InvalidInput, match="even number of bytes") as caught:
        whisper.transcribe(b"\x00\x01\x02")
    assert caught.value.field == "audio"


def test_an_utterance_over_the_cap_is_refused(whisper: WhisperSpeechToText) -> None:
    too_long = b"\x01\x00" * (INPUT_RATE * MAX_UTTERANCE_SECONDS + 1)
    with pytest.raises(InvalidInput, match=f"at most {MAX_UTTERANCE_SECONDS} s"):
        whisper.transcribe(too_long)


def test_a_model_file_with_another_digest_is_refused() -> None:
    digests = {**MODEL_FILES_SHA256, "tokenizer.json": "0" * 64}
    with pytest.raises(ConfigError, match=r"Whisper model \(tokenizer.json\) .* does not match its pinned SHA-256"):
        WhisperSpeechToText(files_sha256=digests)


def test_a_directory_without_the_model_is_a_config_error_not_a_download(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model.bin .*cannot be read"):
        WhisperSpeechToText(tmp_path)


def test_settings_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WhisperSpeechToText(beam_size=0)
