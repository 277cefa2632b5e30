"""PCM16 <-> float conversion and resampling, the few sample operations the speech engines need.

Engines speak in numpy float32 in [-1, 1]; the seams in `ports` carry PCM16 little-endian mono bytes.
Resampling is linear interpolation: enough for speech going into a 16 kHz recogniser (Whisper's own
front end low-passes to 8 kHz anyway) and for test audio; it does not low-pass before downsampling, so
content above the new Nyquist frequency folds back. Speech keeps little energy there.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

PCM16_SCALE = 32768.0


def pcm16_to_float(pcm16: bytes) -> NDArray[np.float32]:
    """Samples of PCM16 little-endian mono as float32 in [-1, 1)."""
    if len(pcm16) % 2:
        raise ValueError(f"PCM16 audio has an even number of bytes, got {len(pcm16)}")
    return (np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / PCM16_SCALE).astype(np.float32)


def float_to_pcm16(samples: NDArray[np.floating]) -> bytes:
    """float samples (clipped to [-1, 1]) as PCM16 little-endian mono."""
    scaled = np.clip(np.asarray(samples, dtype=np.float64) * PCM16_SCALE, -32768, 32767)
    return bytes(np.rint(scaled).astype("<i2").tobytes())


def resample(samples: NDArray[np.float32], from_rate: int, to_rate: int) -> NDArray[np.float32]:
    """`samples` at `from_rate` Hz as the same duration at `to_rate` Hz (linear interpolation)."""
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    if from_rate == to_rate or samples.size == 0:
        return samples
    count = round(samples.size * to_rate / from_rate)
    positions = np.arange(count, dtype=np.float64) * (from_rate / to_rate)
    return np.interp(positions, np.arange(samples.size), samples).astype(np.float32)


def resample_pcm16(pcm16: bytes, from_rate: int, to_rate: int) -> bytes:
    """PCM16 at `from_rate` as PCM16 at `to_rate`."""
    if from_rate == to_rate:
        return pcm16
    return float_to_pcm16(resample(pcm16_to_float(pcm16), from_rate, to_rate))


def duration_seconds(pcm16: bytes, rate: int) -> float:
    """How long PCM16 mono audio at `rate` Hz plays."""
    return len(pcm16) / 2 / rate


__all__ = ["duration_seconds", "float_to_pcm16", "pcm16_to_float", "resample", "resample_pcm16"]
