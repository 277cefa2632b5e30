from __future__ import annotations

import numpy as np
import pytest

from voice_bridge.speech.audio import (
    duration_seconds,
    float_to_pcm16,
    pcm16_to_float,
    resample,
    resample_pcm16,
)


def _tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def test_pcm16_round_trip_keeps_every_sample() -> None:
    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], dtype="<i2").tobytes()
    assert float_to_pcm16(pcm16_to_float(pcm)) == pcm


def test_float_to_pcm16_clips_out_of_range_samples() -> None:
    pcm = float_to_pcm16(np.array([-2.0, -1.0, 0.5, 1.0, 3.0]))
    assert np.frombuffer(pcm, dtype="<i2").tolist() == [-32768, -32768, 16384, 32767, 32767]


def test_pcm16_with_an_odd_byte_count_is_refused() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        pcm16_to_float(b"\x00\x01\x02")


@pytest.mark.parametrize(("from_rate", "to_rate"), [(22050, 16000), (8000, 16000), (48000, 16000), (16000, 24000)])
def test_resampling_keeps_duration_and_pitch(from_rate: int, to_rate: int) -> None:
    tone = _tone(440.0, from_rate, 1.0)
    out = resample(tone, from_rate, to_rate)
    assert out.dtype == np.float32
    assert out.size == to_rate
    assert _dominant_frequency(out, to_rate) == pytest.approx(440.0, abs=2.0)


def test_resampling_to_the_same_rate_returns_the_input() -> None:
    pcm = float_to_pcm16(_tone(300.0, 16000, 0.1))
    assert resample_pcm16(pcm, 16000, 16000) == pcm
    assert resample(np.zeros(0, dtype=np.float32), 8000, 16000).size == 0


def test_resampling_refuses_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        resample(_tone(300.0, 16000, 0.1), 0, 16000)


def test_resample_pcm16_converts_duration() -> None:
    pcm = float_to_pcm16(_tone(300.0, 22050, 0.5))
    out = resample_pcm16(pcm, 22050, 16000)
    assert duration_seconds(out, 16000) == pytest.approx(0.5, abs=1e-3)
