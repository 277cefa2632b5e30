"""G.711 mu-law <-> PCM16, and 16 kHz -> 8 kHz, for phone audio (Twilio Media Streams: audio/x-mulaw, 8000 Hz, mono).

`audioop` is deprecated (and gone in Python 3.13), so both directions are numpy lookup tables: decoding is
one table of 256 samples, encoding one table of 65,536 bytes indexed by the sample's 16-bit pattern, each
built once at import. Per 20 ms frame that is one `take` each way, linear in the frame and cheap enough
that a call never waits on it.

The agent's voice reaches the phone at 16 kHz and leaves at 8 kHz: `Decimator` low-passes before it drops
every other sample (plain dropping would fold everything between 4 and 8 kHz back into the band as hiss).
The customer's 8 kHz audio needs no help here: the cascade resamples its input itself.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BIAS = 0x84


def _decode_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _encode_table() -> npt.NDArray[np.uint8]:
    # The reference G.711 coder (as CPython's audioop had it): on the 14-bit sample, bias 33, clip 8159.
    values = np.arange(-32768, 32768, dtype=np.int32) >> 2
    negative = values < 0
    magnitude = np.minimum(np.where(negative, -values, values), 8159) + 0x21
    # The segment is the position of the highest set bit above bit 5 (0..7).
    segment = np.maximum(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0)
    codes = np.where(segment > 7, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    codes = codes ^ np.where(negative, 0x7F, 0xFF)
    # Indexed by the sample's bit pattern read as unsigned: 0..32767 then -32768..-1.
    return np.roll(codes.astype(np.uint8), -32768)


DECODE = _decode_table()
ENCODE = _encode_table()


def decode(mulaw: bytes) -> bytes:
    """mu-law bytes as PCM16 little-endian (two bytes out per byte in)."""
    out: bytes = DECODE[np.frombuffer(mulaw, dtype=np.uint8)].astype("<i2").tobytes()
    return out


def encode(pcm16: bytes) -> bytes:
    """PCM16 little-endian as mu-law (an odd trailing byte is dropped)."""
    usable = len(pcm16) - len(pcm16) % 2
    out: bytes = ENCODE[np.frombuffer(pcm16[:usable], dtype="<u2")].tobytes()
    return out


_TAPS = np.array(
    [-0.0106, 0.0, 0.0466, 0.0, -0.1291, 0.0, 0.6028, 1.0, 0.6028, 0.0, -0.1291, 0.0, 0.0466, 0.0, -0.0106]
)
HALF_BAND = _TAPS / _TAPS.sum()
"""A 15-tap half-band low-pass (cut-off at a quarter of the input rate), unity gain at DC."""


class Decimator:
    """16 kHz PCM16 in, 8 kHz PCM16 out, in frames of any size with no clicks between them.

    Keeps the last samples of the filter's window and whether the next output sample is odd, so a stream
    cut into frames comes out exactly as the whole stream would.
    """

    def __init__(self) -> None:
        self._history: npt.NDArray[np.float64] = np.zeros(len(HALF_BAND) - 1)
        self._phase = 0

    def feed(self, pcm16: bytes) -> bytes:
        usable = len(pcm16) - len(pcm16) % 2
        fresh = np.frombuffer(pcm16[:usable], dtype="<i2").astype(np.float64)
        if not len(fresh):
            return b""
        window = np.concatenate([self._history, fresh])
        filtered = np.convolve(window, HALF_BAND, mode="valid")  # one value per fresh sample
        kept = filtered[self._phase :: 2]
        self._phase = (self._phase + len(fresh)) % 2
        self._history = window[len(window) - (len(HALF_BAND) - 1) :]
        out: bytes = np.clip(np.rint(kept), -32768, 32767).astype("<i2").tobytes()
        return out
