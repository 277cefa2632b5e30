"""The probability source a cascade asks at a pause: the real Smart Turn model, loaded on first use.

Kept apart from `model` so the cascade imports no numpy or onnxruntime until an agent asks for
smart_turn: `read_model` refuses a missing or wrong file first (ConfigError naming the install
command), then the voice extra's engines load.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from voice_bridge.turn.files import read_model
from voice_bridge.turn.taker import ProbabilitySource


def smart_turn_loader(path: Path | None = None, threads: int = 1) -> Callable[[], ProbabilitySource]:
    """A loader of the model at `path` (default location if None): blocking, call it off the event loop."""

    def load() -> ProbabilitySource:
        data = read_model(path)
        # numpy and onnxruntime come with the voice extra; imported once a model is actually wanted.
        from voice_bridge.turn.model import SmartTurn

        return SmartTurn(data, threads).probability

    return load


__all__ = ["smart_turn_loader"]
