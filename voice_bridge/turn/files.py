"""Where the Smart Turn v3.2 model file lives, and the check that it is the reviewed one.

The file is not a project dependency: `python -m voice_bridge.turn.fetch` (run by scripts/bootstrap)
takes it out of the pipecat-ai 1.14.0 wheel, checks its SHA-256 and stores it, with its BSD-2-Clause
licence next to it, under `$XDG_CACHE_HOME/oratio/models` (else `~/.cache/oratio/models`), beside the
packaged GGUF models. `ORATIO_VOICE_SMART_TURN_MODEL` points elsewhere. At run time nothing is
downloaded: `read_model` reads the file and refuses it unless its SHA-256 is the pinned one.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from oratio.errors import ConfigError

logger = logging.getLogger("oratio.voice")

SMART_TURN_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"
MODEL_NAME = "smart-turn-v3.2-cpu.onnx"
LICENSE_NAME = "smart-turn-v3.2-LICENSE.txt"
MODEL_MAX_BYTES = 20_000_000
"""The file is 8.7 MB; anything far bigger is not it, and is not read into memory."""
INSTALL_COMMAND = "python -m voice_bridge.turn.fetch"


def default_model_path() -> Path:
    """`$XDG_CACHE_HOME/oratio/models/smart-turn-v3.2-cpu.onnx`, else under `~/.cache`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "oratio" / "models" / MODEL_NAME


def read_model(path: Path | None = None) -> bytes:
    """The model's bytes from `path` (default: `default_model_path()`), checked against the pinned SHA-256.

    ConfigError when the file is missing (naming the install command), too big, or not the pinned file.
    The message may reach a caller (a call's close reason), so it names no path; the log does.
    """
    where = path or default_model_path()
    try:
        size = where.stat().st_size
    except OSError as exc:
        logger.error("path=%s error=%s | the Smart Turn model cannot be read", where, exc)
        raise ConfigError(f"the Smart Turn model is not installed; run `{INSTALL_COMMAND}`") from None
    if size > MODEL_MAX_BYTES:
        logger.error("path=%s size=%d | not the Smart Turn model: too big", where, size)
        raise ConfigError(f"the Smart Turn model file is not the pinned v3.2 file; refused (`{INSTALL_COMMAND}`)")
    data = where.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != SMART_TURN_SHA256:
        logger.error("path=%s sha256=%s | not the pinned Smart Turn model; refused", where, found)
        raise ConfigError(f"the Smart Turn model file is not the pinned v3.2 file; refused (`{INSTALL_COMMAND}`)")
    return data


__all__ = [
    "INSTALL_COMMAND",
    "LICENSE_NAME",
    "MODEL_MAX_BYTES",
    "MODEL_NAME",
    "SMART_TURN_SHA256",
    "default_model_path",
    "read_model",
]
