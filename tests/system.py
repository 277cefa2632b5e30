"""Debian programs some tests drive for real (espeak-ng, sox, chromium), installed by scripts/system-deps.

On a developer machine without them those tests skip with the install line; under CI (CI=true) a missing
program fails the test instead, so a green CI always means the real program ran.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_program(name: str) -> str:
    """The absolute path of `name`, or skip (fail under CI) saying how to install it."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed: run scripts/system-deps (Debian package '{name}')"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


HEADLESS_CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Debian's chromium as root on a closed network: no sandbox, and no background calls that would be refused."""
