"""Smart Turn v3's input, computed with numpy: Whisper-style log-mel features of the last 8 s.

Ported from the issue 21 spike (bench/voice_spike.py imports it from here). The parameters are pipecat
1.14.0's (its vendored transformers `WhisperFeatureExtractor` with chunk_length=8); the spike compared the
two on 1, 4, 8 and 12.5 s of noise and found them identical. Cost: one 8 s window whatever the input
length (12-22 ms on one idle core), linear in nothing the caller controls.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from voice_bridge.speech.ports import INPUT_RATE

N_FFT, HOP, N_MELS, WINDOW_S = 400, 160, 80, 8
FRAMES = WINDOW_S * INPUT_RATE // HOP  # 800


def _slaney_mel(freq: NDArray[np.float64]) -> NDArray[np.float64]:
    log_step = 27.0 / np.log(6.4)
    return np.where(freq >= 1000.0, 15.0 + np.log(np.maximum(freq, 1e-9) / 1000.0) * log_step, 3.0 * freq / 200.0)


def _slaney_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.where(mel >= 15.0, 1000.0 * np.exp((mel - 15.0) * np.log(6.4) / 27.0), 200.0 * mel / 3.0)


def mel_filters() -> NDArray[np.float64]:
    """(N_MELS, N_FFT//2+1) Slaney-scale, area-normalised triangles from 0 Hz to 8 kHz (Whisper's bank)."""
    bins = np.linspace(0.0, INPUT_RATE / 2, N_FFT // 2 + 1)
    edges = _slaney_hz(np.linspace(_slaney_mel(np.array(0.0)), _slaney_mel(np.array(INPUT_RATE / 2.0)), N_MELS + 2))
    rising = (bins[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    falling = (edges[2:, None] - bins[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (edges[2:] - edges[:-2]))[:, None]


_MELS = mel_filters()
_HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic, as torch.hann_window


def turn_features(audio: NDArray[np.float32]) -> NDArray[np.float32]:
    """(80, 800) log-mels of the LAST 8 s of 16 kHz float audio.

    Shorter audio is zero-padded at the START (the model reads the end of the turn at a fixed place);
    the padded window is normalised to zero mean and unit variance before the spectrogram; frames are
    centred (reflect padding), the last frame is dropped, values are clamped to 8 below the maximum in
    log10 units and scaled as (x + 4) / 4.
    """
    size = WINDOW_S * INPUT_RATE
    x = np.asarray(audio[-size:], dtype=np.float32)
    x = np.pad(x, (size - x.size, 0))
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=-1)) ** 2
    log_mel = np.log10(np.maximum(1e-10, _MELS @ power.T))[:, :-1]
    log_mel = np.maximum(log_mel, log_mel.max() - 8.0)
    scaled: NDArray[np.float32] = ((log_mel + 4.0) / 4.0).astype(np.float32)
    return scaled


def pcm16_features(pcm16: bytes) -> NDArray[np.float32]:
    """`turn_features` of PCM16 at 16 kHz; only the last 8 s are converted (an odd trailing byte is dropped)."""
    tail = pcm16[-(WINDOW_S * INPUT_RATE * 2) :]
    samples = np.frombuffer(tail[: len(tail) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    return turn_features(samples)


__all__ = ["FRAMES", "HOP", "N_FFT", "N_MELS", "WINDOW_S", "mel_filters", "pcm16_features", "turn_features"]
