"""Smart Turn's input features (voice_bridge.turn.features, ported from the issue 21 spike): fixed properties
of Whisper-style log-mels over the last 8 s, checked without the model."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from voice_bridge.turn.features import FRAMES, HOP, N_FFT, N_MELS, mel_filters, pcm16_features, turn_features

RATE = 16_000


def noise(seconds: float, seed: int = 21) -> NDArray[np.float32]:
    return np.random.default_rng(seed).normal(0, 0.1, int(seconds * RATE)).astype(np.float32)


def tone(hz: float, seconds: float) -> NDArray[np.float32]:
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


@pytest.mark.parametrize("seconds", [0.5, 1.0, 8.0, 12.5])
def test_any_length_gives_the_models_input_shape(seconds: float) -> None:
    features = turn_features(noise(seconds))
    assert features.shape == (N_MELS, FRAMES) == (80, 800) and features.dtype == np.float32
    assert np.isfinite(features).all()


def test_values_span_at_most_eight_log10_units_scaled_by_four() -> None:
    features = turn_features(noise(3.0))
    assert features.max() - features.min() == pytest.approx(2.0, abs=1e-5)  # clamped to max - 8, then / 4


def test_only_the_last_eight_seconds_count() -> None:
    long = noise(12.0)
    assert np.array_equal(turn_features(long), turn_features(long[-8 * RATE :]))


def test_short_audio_is_padded_at_the_start() -> None:
    """1 s of noise sits in the last ~100 frames; the padded 7 s before it do not change over time."""
    features = turn_features(noise(1.0))
    padded = features[:, : FRAMES - 110]
    assert np.ptp(padded, axis=1).max() < 1e-5  # each band constant over the padding
    assert np.ptp(features[:, -90:], axis=1).min() > 0.05  # the noise varies in every band


def test_the_window_is_normalised_so_loudness_does_not_matter() -> None:
    quiet = noise(4.0)
    assert np.allclose(turn_features(quiet), turn_features(quiet * 8), atol=1e-4)


def test_a_tone_lights_the_mel_band_of_its_frequency() -> None:
    features = turn_features(tone(1000.0, 2.0))
    bins = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    expected_band = int(np.argmax(mel_filters()[:, int(np.argmin(np.abs(bins - 1000.0)))]))
    assert int(np.argmax(features[:, -50:].mean(axis=1))) == expected_band


def test_mel_bank_is_slaney_area_normalised() -> None:
    bank = mel_filters()
    assert bank.shape == (N_MELS, N_FFT // 2 + 1) and (bank >= 0).all()
    assert (bank.sum(axis=1) > 0).all()  # every band covers some bins
    width = RATE / N_FFT  # Hz per bin: the triangle areas are ~1 in Hz with Slaney normalisation of 2/(f_hi - f_lo)
    assert bank.sum(axis=1).mean() * width == pytest.approx(1.0, rel=0.1)


def test_pcm16_features_read_the_same_audio() -> None:
    audio = noise(3.0)
    pcm16 = (audio * 32768).astype("<i2").tobytes()
    as_float = (np.frombuffer(pcm16, "<i2") / 32768.0).astype(np.float32)
    assert np.allclose(pcm16_features(pcm16), turn_features(as_float), atol=1e-5)
    assert pcm16_features(pcm16 + b"\x01").shape == (80, 800)  # an odd trailing byte is dropped, not an error
    assert pcm16_features(b"").shape == (80, 800)
    assert HOP * FRAMES == 8 * RATE
