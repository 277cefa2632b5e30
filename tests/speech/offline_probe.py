"""Run by test_offline.py in a fresh interpreter: load the cascade and use it with every socket refused.

An audit hook (which cannot be removed, hence the separate process) raises on any socket connection or
name lookup made from Python, so a hub download attempted anywhere in the libraries fails; attempts are
also counted, so one whose error a library swallowed still fails the probe (exit status 3).
Prints what Whisper heard Piper say.
"""

from __future__ import annotations

import sys

from voice_bridge.speech.audio import resample_pcm16
from voice_bridge.speech.local import load_local_speech
from voice_bridge.speech.ports import INPUT_RATE

_NETWORK_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"})


_attempts: list[str] = []


def _refuse_network(event: str, args: tuple[object, ...]) -> None:
    if event in _NETWORK_EVENTS:
        _attempts.append(event)
        raise ConnectionRefusedError(f"network use during offline speech: {event} {args!r}")


def main() -> None:
    sys.addaudithook(_refuse_network)
    speech = load_local_speech()
    pcm = resample_pcm16(speech.tts.synthesize(sys.argv[1]), speech.tts.sample_rate, INPUT_RATE)
    print(speech.stt.transcribe(pcm))
    if _attempts:
        print(f"network use during offline speech: {_attempts}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
