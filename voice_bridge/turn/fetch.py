"""Install the Smart Turn v3.2 model: `python -m voice_bridge.turn.fetch` (scripts/bootstrap runs it).

    pip download pipecat-ai==1.14.0 --no-deps     # one 12 MB wheel into a temporary directory
    -> read ONLY pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx and the wheel's licence
    -> check the model's SHA-256 -> store both under voice_bridge.turn.files.default_model_path()

pipecat is never installed or imported (its wheel would pull 23 dependencies): the wheel is a zip read
here and deleted. When the file is already there with the right SHA-256, nothing is downloaded. The
model is BSD-2-Clause (Daily); its licence text is stored next to it. `--wheel` takes a wheel already
downloaded (offline installs, tests).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from oratio.errors import ConfigError
from voice_bridge.turn.files import LICENSE_NAME, MODEL_MAX_BYTES, SMART_TURN_SHA256, default_model_path, read_model

PIPECAT_REQUIREMENT = "pipecat-ai==1.14.0"
WHEEL_NAME = "pipecat_ai-1.14.0-py3-none-any.whl"
MODEL_MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
LICENSE_MEMBER = "pipecat_ai-1.14.0.dist-info/licenses/LICENSE"
LICENSE_MAX_BYTES = 64_000
DOWNLOAD_TIMEOUT_S = 300.0


def extract(wheel: Path, dest: Path) -> None:
    """The model and its licence out of `wheel` into `dest` (and its sibling licence file), checked first.

    Members are size-checked before they are read; the model is written to a temporary file and renamed,
    so `dest` is either the checked model or absent, never a half-written file.
    """
    with zipfile.ZipFile(wheel) as archive:
        try:
            model_info, license_info = archive.getinfo(MODEL_MEMBER), archive.getinfo(LICENSE_MEMBER)
        except KeyError as exc:
            raise ConfigError(f"{wheel.name} has no {exc.args[0]}; is it pipecat-ai 1.14.0?") from None
        if model_info.file_size > MODEL_MAX_BYTES or license_info.file_size > LICENSE_MAX_BYTES:
            raise ConfigError(f"{wheel.name}: the model or its licence is far larger than expected; refused")
        model = archive.read(model_info)
        licence = archive.read(license_info)
    found = hashlib.sha256(model).hexdigest()
    if found != SMART_TURN_SHA256:
        raise ConfigError(f"{wheel.name}:{MODEL_MEMBER} has sha256 {found}, expected {SMART_TURN_SHA256}; refused")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _write(dest.with_name(LICENSE_NAME), licence)
    _write(dest, model)


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)  # a model and a licence: nothing secret, readable by the service user
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def download(into: Path) -> Path:
    """`pip download pipecat-ai==1.14.0 --no-deps` into `into`: the wheel's path."""
    command = [sys.executable, "-m", "pip", "download", PIPECAT_REQUIREMENT, "--no-deps", "--quiet", "-d", str(into)]
    try:
        subprocess.run(command, check=True, timeout=DOWNLOAD_TIMEOUT_S)  # a fixed command line, no shell
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"could not download {PIPECAT_REQUIREMENT} from the package index: {exc}") from None
    wheel = into / WHEEL_NAME
    if not wheel.is_file():
        raise ConfigError(f"pip download {PIPECAT_REQUIREMENT} did not produce {WHEEL_NAME}")
    return wheel


def installed(dest: Path) -> bool:
    """True when `dest` is the pinned model (a missing file is simply not installed yet)."""
    if not dest.is_file():
        return False
    try:
        read_model(dest)
    except ConfigError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install the Smart Turn v3.2 end-of-turn model (BSD-2-Clause).")
    parser.add_argument("--dest", type=Path, help=f"where to store it (default {default_model_path()})")
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL_NAME} instead of pip download")
    parser.add_argument("--quiet", action="store_true", help="say nothing when it is already installed")
    args = parser.parse_args(argv)
    dest: Path = args.dest or Path(os.environ.get("ORATIO_VOICE_SMART_TURN_MODEL") or default_model_path())
    if installed(dest):
        if not args.quiet:
            print(f"Smart Turn v3.2 already installed: {dest}")
        return 0
    try:
        if args.wheel is not None:
            extract(args.wheel, dest)
        else:
            with tempfile.TemporaryDirectory(prefix="oratio-smart-turn-") as tmp:
                extract(download(Path(tmp)), dest)
    except ConfigError as exc:
        print(f"Smart Turn v3.2 not installed: {exc.message}", file=sys.stderr)
        return 1
    print(f"Smart Turn v3.2 installed: {dest} (sha256 {SMART_TURN_SHA256[:12]}..., licence {LICENSE_NAME})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
