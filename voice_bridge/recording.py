"""The call's two-track recording, kept on disk while the call runs, bounded in size.

A call's recording used to grow in memory (30 minutes is 115 MB of stereo PCM, and the WAV was
built with three more copies of it). Now each track is appended to its own temporary file as the
call goes (the files are unlinked at once, so nothing is left behind if the process dies), and the
WAV is assembled second by second into a third file when the call ends, which the blob store reads
in pieces (`BlobStore.put_stream`). Memory per call stays a
few kilobytes whatever the call's length; disk per call stays under `max_bytes` for the tracks plus
as much again for the WAV being assembled. The recording stops at `max_bytes` (the bridge then ends
the call with 4413), so a recording is never silently cut short while the call goes on.
"""

from __future__ import annotations

import tempfile
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO

from voice_bridge.audio import SAMPLE_BYTES, Resampler, interleave
from voice_bridge.speech.ports import INPUT_RATE

RECORDING_RATE = INPUT_RATE
WAV_HEADER_BYTES = 44
STEREO_FRAME_BYTES = 2 * SAMPLE_BYTES
_COPY_BYTES = RECORDING_RATE * SAMPLE_BYTES  # one second of one track


class Recording:
    """The call as a stereo WAV at 16 kHz: left the customer, right the agent.

    The customer's track is their audio in arrival order; each agent chunk is placed where the
    customer's track stood when it was sent, so replies sit after the words they answer even when
    a client sends its audio ahead of real time (within the burst it is allowed).
    """

    def __init__(
        self, input_rate: int, output_rate: int, max_s: float, max_bytes: int, directory: str | None = None
    ) -> None:
        self._from_customer = Resampler(input_rate, RECORDING_RATE)
        self._from_agent = Resampler(output_rate, RECORDING_RATE)
        frames = min(int(max_s * RECORDING_RATE), (max_bytes - WAV_HEADER_BYTES) // STEREO_FRAME_BYTES)
        self._track_max = max(frames, 0) * SAMPLE_BYTES
        self._customer: IO[bytes] = tempfile.TemporaryFile(prefix="oratio-call-", dir=directory)
        self._agent: IO[bytes] = tempfile.TemporaryFile(prefix="oratio-call-", dir=directory)
        self._directory = directory
        self._customer_len = 0
        self._agent_len = 0

    @property
    def max_bytes(self) -> int:
        """The largest WAV this recording can become."""
        return WAV_HEADER_BYTES + self._track_max * 2

    @property
    def full(self) -> bool:
        """The customer's track reached the limit: nothing more of the call can be recorded."""
        return self._customer_len >= self._track_max

    def customer(self, pcm16: bytes) -> None:
        room = self._track_max - self._customer_len
        if room > 0:
            data = self._from_customer.feed(pcm16)[:room]
            self._customer.write(data)
            self._customer_len += len(data)

    def agent(self, pcm16: bytes) -> None:
        gap = min(self._customer_len, self._track_max) - self._agent_len
        while gap > 0:
            pad = min(gap, _COPY_BYTES)
            self._agent.write(bytes(pad))
            self._agent_len += pad
            gap -= pad
        room = self._track_max - self._agent_len
        if room > 0:
            data = self._from_agent.feed(pcm16)[:room]
            self._agent.write(data)
            self._agent_len += len(data)

    @property
    def seconds(self) -> float:
        return max(self._customer_len, self._agent_len) / SAMPLE_BYTES / RECORDING_RATE

    @contextmanager
    def wav_file(self) -> Iterator[BinaryIO]:
        """The recording as a WAV file, assembled second by second on disk; open for reading from its start."""
        with tempfile.TemporaryFile(prefix="oratio-call-", dir=self._directory) as out:
            with wave.open(out, "wb") as writer:
                writer.setnchannels(2)
                writer.setsampwidth(SAMPLE_BYTES)
                writer.setframerate(RECORDING_RATE)
                self._customer.flush()
                self._agent.flush()
                self._customer.seek(0)
                self._agent.seek(0)
                length = max(self._customer_len, self._agent_len)
                for _ in range(0, length, _COPY_BYTES):
                    writer.writeframes(interleave(self._customer.read(_COPY_BYTES), self._agent.read(_COPY_BYTES)))
                self._customer.seek(0, 2)
                self._agent.seek(0, 2)
            out.seek(0)
            yield out

    def wav(self) -> bytes:
        """The whole WAV in memory (tests; the bridge stores `wav_file` without reading it whole)."""
        with self.wav_file() as out:
            return out.read()

    def close(self) -> None:
        """Drop the track files (they are unlinked already; this frees the disk now)."""
        self._customer.close()
        self._agent.close()
