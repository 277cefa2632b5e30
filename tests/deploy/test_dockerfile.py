"""The voice bridge's Dockerfile. No container engine runs here: it is linted and read, not built."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "deploy" / "voice_bridge.Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(" ", 1)[0].upper(), line.split(" ", 1)[1]) for line in lines]


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_runs_the_voice_bridge_as_a_non_root_user_on_the_slim_base() -> None:
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [op for op, _ in instructions].index("USER") < [op for op, _ in instructions].index("CMD")
    (cmd,) = [arg for op, arg in instructions if op == "CMD"]
    assert cmd.startswith('["python", "-m", "oratio_app", "serve-door", "voice"')
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "espeak-ng" in runs and "'.[voice]'" in runs


def test_no_secret_is_baked_into_the_image() -> None:
    text = DOCKERFILE.read_text()
    assert not re.search(r"(SECRET|PASSWORD|TOKEN|ACCESS_KEY)[A-Z_]*\s*=", text)
    copied = [arg for op, arg in _instructions() if op == "COPY"]
    assert not any(".oratio" in arg or ".env" in arg or arg.startswith(". ") for arg in copied)
