"""Silero VAD on real audio: espeak-ng speech, digital silence, noise and hum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from faster_whisper.vad import SileroVADModel
from numpy.typing import NDArray

from oratio.errors import ConfigError
from tests.speech.speech import samples_at_input_rate
from voice_bridge.speech.audio import float_to_pcm16
from voice_bridge.speech.espeak import EspeakTextToSpeech
from voice_bridge.speech.ports import INPUT_RATE, VoiceActivityDetector
from voice_bridge.speech.silero import FRAME_SAMPLES, SileroDetector, SileroVadModel, default_model_path

SPEECH_THRESHOLD = 0.5


def _probabilities(detector: VoiceActivityDetector, samples: NDArray[np.float32]) -> list[float]:
    step = detector.frame_samples
    return [
        detector.speech_probability(float_to_pcm16(samples[i : i + step]))
        for i in range(0, samples.size - step + 1, step)
    ]


@pytest.fixture(scope="module")
def speech(espeak: EspeakTextToSpeech) -> NDArray[np.float32]:
    """A second of silence, a sentence, a second of silence: frame-aligned at 16 kHz."""
    said = samples_at_input_rate(espeak, "I would like to check the status of my order, please.")
    said = np.pad(said, (0, -said.size % FRAME_SAMPLES))
    silence = np.zeros(INPUT_RATE // FRAME_SAMPLES * FRAME_SAMPLES, dtype=np.float32)
    return np.concatenate([silence, said, silence])


def test_a_detector_takes_512_sample_frames_at_16khz(vad_model: SileroVadModel) -> None:
    detector = vad_model.new_detector()
    assert detector.frame_samples == 512
    assert detector.sample_rate == INPUT_RATE


def test_speech_frames_score_high_and_silence_low(vad_model: SileroVadModel, speech: NDArray[np.float32]) -> None:
    probs = np.array(_probabilities(vad_model.new_detector(), speech))
    frames = speech.reshape(-1, FRAME_SAMPLES)
    loud = np.sqrt(np.mean(frames**2, axis=1)) > 0.02
    silent = ~np.any(frames, axis=1)
    assert loud.sum() > 40 and silent.sum() > 40
    assert np.mean(probs[loud] > SPEECH_THRESHOLD) >= 0.9
    second = INPUT_RATE // FRAME_SAMPLES
    assert probs[:second].max() < 0.1  # before any speech
    # After speech the model lets go within a few frames: the last half second of silence is low again.
    assert probs[-second // 2 :].max() < 0.1


@pytest.mark.parametrize("kind", ["white noise", "mains hum"])
def test_noise_is_not_speech(vad_model: SileroVadModel, kind: str) -> None:
    seconds = 3
    if kind == "white noise":
        rng = np.random.default_rng(7)
        samples = np.clip(rng.normal(0.0, 0.05, INPUT_RATE * seconds), -1, 1).astype(np.float32)
    else:
        t = np.arange(INPUT_RATE * seconds) / INPUT_RATE
        samples = (0.3 * np.sin(2 * np.pi * 120 * t)).astype(np.float32)
    probs = _probabilities(vad_model.new_detector(), samples)
    assert max(probs) < SPEECH_THRESHOLD


def test_streaming_matches_faster_whispers_batched_run(vad_model: SileroVadModel, speech: NDArray[np.float32]) -> None:
    streamed = np.array(_probabilities(vad_model.new_detector(), speech))
    # The reference sees exactly the samples the stream saw (after the PCM16 round trip).
    quantised = np.round(speech * 32768).clip(-32768, 32767) / 32768
    batched = SileroVADModel(str(default_model_path()))(quantised.astype(np.float32)).reshape(-1)
    assert np.abs(streamed - batched).max() < 1e-3


def test_reset_forgets_the_stream(vad_model: SileroVadModel, speech: NDArray[np.float32]) -> None:
    fresh = _probabilities(vad_model.new_detector(), speech)
    detector = vad_model.new_detector()
    _probabilities(detector, speech[: speech.size // 2])
    detector.reset()
    assert _probabilities(detector, speech) == pytest.approx(fresh, abs=1e-6)


def test_detectors_of_two_calls_keep_their_own_state(vad_model: SileroVadModel, speech: NDArray[np.float32]) -> None:
    alone = _probabilities(vad_model.new_detector(), speech)
    first, second = vad_model.new_detector(), vad_model.new_detector()
    quiet = np.zeros(FRAME_SAMPLES, dtype=np.float32)
    interleaved = []
    for i in range(0, speech.size, FRAME_SAMPLES):
        interleaved.append(first.speech_probability(float_to_pcm16(speech[i : i + FRAME_SAMPLES])))
        second.speech_probability(float_to_pcm16(quiet))
    assert interleaved == pytest.approx(alone, abs=1e-6)


@pytest.mark.parametrize("size", [0, 2 * FRAME_SAMPLES - 2, 2 * FRAME_SAMPLES + 2, 2 * FRAME_SAMPLES + 1])
def test_a_frame_of_the_wrong_size_is_refused(vad_model: SileroVadModel, size: int) -> None:
    detector: SileroDetector = vad_model.new_detector()
    with pytest.raises(ValueError, match="512 PCM16 samples"):
        detector.speech_probability(b"\x00" * size)


def test_a_model_file_with_another_digest_is_refused(tmp_path: Path) -> None:
    tampered = tmp_path / "silero_vad_v6.onnx"
    data = bytearray(default_model_path().read_bytes())
    data[-1] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="does not match its pinned SHA-256") as caught:
        SileroVadModel.load(tampered)
    assert str(tampered) in caught.value.message


def test_a_wrong_pinned_digest_refuses_the_real_file() -> None:
    with pytest.raises(ConfigError, match="does not match its pinned SHA-256"):
        SileroVadModel.load(sha256="0" * 64)


def test_a_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot be read .*oratio\[voice\]"):
        SileroVadModel.load(tmp_path / "absent.onnx")
