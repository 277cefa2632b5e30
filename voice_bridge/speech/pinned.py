"""Model files that ship inside installed packages, located without running them and checked by SHA-256.

A model file is code in all but name: onnxruntime and CTranslate2 execute whatever graph they are given,
and a different file would also silently change what the engines hear and say. So every file is checked
against a digest pinned next to the engine that loads it, before it is loaded, and a mismatch refuses to
start with the file's path and both digests.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from oratio.errors import ConfigError

VOICE_EXTRA = "pip install 'oratio[voice]'"


def installed(module: str) -> bool:
    """Whether a top-level module can be imported, found without executing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module set to None in sys.modules
        return False


def package_dir(module: str) -> Path:
    """The directory of an installed top-level package, found without executing its `__init__`."""
    spec = importlib.util.find_spec(module) if installed(module) else None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if locations:
        return Path(locations[0])
    raise ConfigError(f"the Python package '{module}' is not installed; install it with {VOICE_EXTRA}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str, what: str) -> Path:
    """`path`, after checking its SHA-256 is `expected`; ConfigError saying what to reinstall otherwise."""
    try:
        found = sha256_of(path)
    except OSError as exc:
        raise ConfigError(
            f"the {what} file {path} cannot be read ({exc.strerror}); install it with {VOICE_EXTRA}"
        ) from exc
    if found != expected:
        raise ConfigError(
            f"the {what} file {path} does not match its pinned SHA-256 (expected {expected}, found {found});"
            f" reinstall it with {VOICE_EXTRA} --force-reinstall"
        )
    return path


__all__ = ["VOICE_EXTRA", "installed", "package_dir", "sha256_of", "verify"]
