"""The engines load and run with the network refused, without HF_HUB_OFFLINE: nothing reaches a hub."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.speech.speech import overlap
from tests.system import require_program

ROOT = Path(__file__).resolve().parents[2]


def test_the_cascade_needs_no_network() -> None:
    require_program("espeak-ng")
    phrase = "Can I cancel my subscription?"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    done = subprocess.run(
        [sys.executable, "-m", "tests.speech.offline_probe", phrase],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "network use during offline speech" not in done.stderr
    assert overlap(phrase, done.stdout) >= 0.6, done.stdout
