"""Text-to-speech with the espeak-ng program: the fallback voice, robotic but small, fast and always there.

espeak-ng is the Debian program (`apt-get install espeak-ng`; scripts/system-deps installs it), run once
per synthesis as `espeak-ng --stdout`: no shell, the text goes in on stdin (so nothing in it can be read
as an option or a file name), bounded by `voice_bridge.speech.text` and by a timeout, and the WAV it
writes to stdout is parsed with the stdlib `wave` module. Streaming WAV output carries a placeholder
length in its header; `wave` reads to the end of the data regardless.

The sample rate is learnt at construction from a one-word probe (espeak-ng voices speak at 22050 Hz), which
also proves the program runs before the first call needs it. Each synthesis is its own process, so calls
from several threads run side by side.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass

from oratio.errors import BackendUnavailable, ConfigError
from voice_bridge.speech.text import speakable

logger = logging.getLogger("voice_bridge.speech")

PROGRAM = "espeak-ng"
TIMEOUT_SECONDS = 30.0
INSTALL_HINT = "apt-get install espeak-ng"
_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,63}")  # never an option: it goes on the command line


@dataclass(frozen=True)
class _Wav:
    rate: int
    pcm16: bytes


class EspeakTextToSpeech:
    """`TextToSpeech` over the espeak-ng program. `voice` is an espeak-ng voice name, `words_per_minute` 80-450.

    150 words a minute (espeak-ng's own default is 175): at 170, Whisper tiny.en already misheard
    "What are your opening hours" as "Well, you're opening out your"; slower is clearer for people too.
    """

    def __init__(self, *, program: str | None = None, voice: str = "en-us", words_per_minute: int = 150) -> None:
        if not 80 <= words_per_minute <= 450:
            raise ValueError("words_per_minute must be between 80 and 450")
        if not _VOICE_NAME.fullmatch(voice):
            raise ValueError(f"{voice!r} is not an espeak-ng voice name (letters, digits, '-', '_', '+')")
        found = program or shutil.which(PROGRAM)
        if found is None:
            raise ConfigError(f"the {PROGRAM} program is not installed; install it with {INSTALL_HINT}")
        self._args = [found, "--stdout", "-b", "1", "-v", voice, "-s", str(words_per_minute)]
        try:
            probe = self._run("ready")
        except BackendUnavailable as exc:
            raise ConfigError(f"{PROGRAM} does not work here: {exc.message}") from exc
        self._rate = probe.rate
        logger.info("tts=espeak-ng voice=%s rate=%d path=%s | ready", voice, self._rate, found)

    @property
    def sample_rate(self) -> int:
        return self._rate

    def synthesize(self, text: str) -> bytes:
        wav = self._run(speakable(text))
        if wav.rate != self._rate:
            raise BackendUnavailable(f"{PROGRAM} changed its sample rate from {self._rate} to {wav.rate} Hz")
        return wav.pcm16

    def _run(self, text: str) -> _Wav:
        try:
            done = subprocess.run(
                self._args, input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BackendUnavailable(f"{PROGRAM} did not finish within {TIMEOUT_SECONDS:.0f} s") from exc
        except OSError as exc:
            raise BackendUnavailable(f"{PROGRAM} could not be started ({exc.strerror})") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise BackendUnavailable(f"{PROGRAM} failed with exit status {done.returncode}: {detail}")
        return _parse_wav(done.stdout)


def _parse_wav(data: bytes) -> _Wav:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise BackendUnavailable(
                    f"{PROGRAM} wrote {wav.getnchannels()} channel(s) of {8 * wav.getsampwidth()}-bit audio,"
                    " not mono PCM16"
                )
            rate = wav.getframerate()
            pcm16 = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise BackendUnavailable(f"{PROGRAM} wrote no readable WAV audio ({exc})") from exc
    return _Wav(rate=rate, pcm16=pcm16[: len(pcm16) - len(pcm16) % 2])


__all__ = ["PROGRAM", "EspeakTextToSpeech"]
