"""PCM16 helpers the bridge needs between the wire, the engines and the recording.

Everything is mono PCM16 little-endian `bytes` except the recording (stereo). Resampling is linear
interpolation with numpy: good enough for speech between 8 and 48 kHz, and cheap enough per frame that
a call never waits on it.
"""

from __future__ import annotations

import io
import math
import wave

import numpy as np
import numpy.typing as npt

from voice_bridge.speech.audio import resample_pcm16

SAMPLE_BYTES = 2

resample = resample_pcm16
"""`pcm16` at one rate as PCM16 at another, in one piece (the speech engines' resampler)."""


def samples(pcm16: bytes) -> npt.NDArray[np.int16]:
    return np.frombuffer(pcm16, dtype="<i2")


def _pcm16(values: npt.NDArray[np.float64]) -> bytes:
    out: bytes = np.clip(np.rint(values), -32768, 32767).astype("<i2").tobytes()
    return out


class Resampler:
    """Streaming resampler: frames in at one rate, out at another, with no clicks at frame edges.

    Keeps the fractional read position and the last input sample between calls, so a stream cut
    into frames of any size comes out the same as the whole stream resampled at once (to within a sample).
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        self._from = from_rate
        self._to = to_rate
        self._step = from_rate / to_rate
        self._pos = 0.0  # next output position, in input samples relative to `_tail`
        self._tail: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)

    def feed(self, pcm16: bytes) -> bytes:
        if self._from == self._to:
            return pcm16
        buffer = np.concatenate([self._tail, samples(pcm16).astype(np.float32)])
        if len(buffer) < 2:
            self._tail = buffer
            return b""
        last = len(buffer) - 1
        positions = np.arange(self._pos, last, self._step)
        out = np.interp(positions, np.arange(len(buffer)), buffer)
        next_pos = self._pos + len(positions) * self._step
        # Keep from this sample on (the next output interpolates from it); past the end, carry the offset.
        keep = min(int(next_pos), len(buffer))
        self._tail = buffer[keep:]
        self._pos = next_pos - keep
        return _pcm16(out)


def rms(pcm16: bytes) -> float:
    """Root mean square level, 0..32768.

    The sum of squares is one integer dot product (exact: 32768^2 x any frame fits in int64): the energy
    detector asks this of every 20 ms frame of every call, and `np.mean` cost four times as much."""
    if len(pcm16) < SAMPLE_BYTES:
        return 0.0
    values = samples(pcm16[: len(pcm16) - len(pcm16) % SAMPLE_BYTES]).astype(np.int64)
    return math.sqrt(int(values @ values) / len(values))


def wav_bytes(pcm16: bytes, rate: int, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(rate)
        out.writeframes(pcm16)
    return buffer.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int, int]:
    """(PCM16 frames, sample rate, channels) of a PCM16 WAV file."""
    with wave.open(io.BytesIO(data), "rb") as source:
        if source.getsampwidth() != SAMPLE_BYTES:
            raise ValueError("only 16-bit PCM WAV files are read here")
        return source.readframes(source.getnframes()), source.getframerate(), source.getnchannels()


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono PCM16 tracks as one stereo stream; the shorter is padded with silence."""
    a, b = samples(left), samples(right)
    length = max(len(a), len(b))
    stereo = np.zeros((length, 2), dtype="<i2")
    stereo[: len(a), 0] = a
    stereo[: len(b), 1] = b
    return stereo.tobytes()
