"""Platform keys generated once into the data directory, so the embedded default needs no configuration.

A generated key must survive restarts (tokens and webhook signatures outlive a process), so it is
written beside the data it protects, mode 0600, fsynced. Two processes racing to create it share the
winner's key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from oratio.datadir import make_private_dirs


def load_or_create_key(path: Path) -> str:
    """The key stored at `path`, creating a random 256-bit hex key there if there is none."""
    if path.exists():
        return path.read_text().strip()
    make_private_dirs(path.parent)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())
    return value
