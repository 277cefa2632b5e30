"""Packaged GGUF parts: found through real (small, fake) installed packages, assembled once, verified, refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from oratio.models.gguf_files import (
    GGUF_MAGIC,
    ModelFileError,
    ModelFiles,
    PackagedGguf,
    check_gguf,
    packaged_available,
    part_paths,
    resolve_gguf,
)

PARTS = [GGUF_MAGIC + b"first part ", b"second part ", b"third and last"]
WHOLE = b"".join(PARTS)


def _model(*, sha256: str = hashlib.sha256(WHOLE).hexdigest(), name: str = "fake-1b") -> PackagedGguf:
    prefix = name.replace("-", "")
    return PackagedGguf(
        name=name,
        title=f"Fake {name}",
        distribution=f"{prefix}-part",
        module=f"{prefix}_part",
        parts=len(PARTS),
        version="1.2.0",
        sha256=sha256,
        size=len(WHOLE),
        extra="local-model",
    )


def _install(site: Path, model: PackagedGguf, *, skip: int | None = None, version: str | None = None) -> None:
    """Lay the parts out exactly as their wheels install them: a package with data/partNN.bin and dist-info."""
    for index, content in enumerate(PARTS, start=1):
        if index == skip:
            continue
        package = site / model.part_module(index)
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{index:02d}.bin").write_bytes(content)
        info = site / f"{model.part_module(index)}-{version or model.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {model.part_distribution(index)}\nVersion: {version or model.version}\n"
        )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


def test_installed_parts_assemble_in_order_into_a_verified_file(site: Path, tmp_path: Path) -> None:
    model = _model()
    _install(site, model)

    path = ModelFiles(tmp_path / "cache").path(model)

    assert path == tmp_path / "cache" / "fake-1b.gguf"
    assert path.read_bytes() == WHOLE
    assert sorted(p.name for p in path.parent.iterdir()) == ["fake-1b.gguf", "fake-1b.gguf.verified"]


def test_a_verified_file_is_used_again_without_its_parts(site: Path, tmp_path: Path) -> None:
    model = _model()
    _install(site, model)
    first = ModelFiles(tmp_path / "cache").path(model)
    for package in site.iterdir():  # uninstall every part
        for file in sorted(package.rglob("*"), reverse=True):
            file.unlink() if file.is_file() else file.rmdir()
        package.rmdir()

    again = ModelFiles(tmp_path / "cache").path(model)

    assert again == first and again.read_bytes() == WHOLE


def test_a_file_changed_since_it_was_verified_is_assembled_again(site: Path, tmp_path: Path) -> None:
    model = _model()
    _install(site, model)
    files = ModelFiles(tmp_path / "cache")
    path = files.path(model)
    path.write_bytes(WHOLE[:-1] + b"X")  # same size, other content, new mtime

    assert files.path(model).read_bytes() == WHOLE


def test_a_checksum_mismatch_is_refused_and_leaves_nothing_behind(site: Path, tmp_path: Path) -> None:
    model = _model(sha256="0" * 64)
    _install(site, model)
    cache = tmp_path / "cache"

    with pytest.raises(ModelFileError) as raised:
        ModelFiles(cache).path(model)

    message = raised.value.message
    assert hashlib.sha256(WHOLE).hexdigest() in message and "0" * 64 in message
    assert "pip install --force-reinstall 'oratio[local-model]'" in message
    assert list(cache.iterdir()) == []


def test_a_missing_part_is_named_with_the_install_command(site: Path) -> None:
    model = _model()
    _install(site, model, skip=2)

    with pytest.raises(ModelFileError) as raised:
        part_paths(model)

    assert "fake1b-part2 is not installed" in raised.value.message
    assert "pip install 'oratio[local-model]'" in raised.value.message


def test_parts_of_another_version_are_refused_before_assembly(site: Path) -> None:
    model = _model()
    _install(site, model, version="9.9.9")

    with pytest.raises(ModelFileError) as raised:
        part_paths(model)

    assert "fake1b-part1 is 9.9.9, not 1.2.0" in raised.value.message


def test_part_paths_follow_the_part_order(site: Path) -> None:
    model = _model()
    _install(site, model)

    paths = part_paths(model)

    assert [p.read_bytes() for p in paths] == PARTS


def test_check_gguf_accepts_a_gguf_and_refuses_anything_else(tmp_path: Path) -> None:
    good = tmp_path / "model.gguf"
    good.write_bytes(GGUF_MAGIC + b"\x03\x00\x00\x00")
    other = tmp_path / "notes.txt"
    other.write_text("hello")

    assert check_gguf(good) == good
    with pytest.raises(ModelFileError, match="is not a GGUF model file"):
        check_gguf(other)
    with pytest.raises(ModelFileError, match="no GGUF model file at"):
        check_gguf(tmp_path / "absent.gguf")


def test_resolve_picks_named_then_configured_then_installed(site: Path, tmp_path: Path) -> None:
    installed, absent = _model(name="fake-1b"), _model(name="fake-2b")
    _install(site, installed)
    catalog = {absent.name: absent, installed.name: installed}
    files = ModelFiles(tmp_path / "cache")
    configured = tmp_path / "mine.gguf"
    configured.write_bytes(GGUF_MAGIC + b"mine")

    assert resolve_gguf(None, None, files, catalog) == files.cache_dir / "fake-1b.gguf"
    assert resolve_gguf(None, configured, files, catalog) == configured
    assert resolve_gguf(str(configured), None, files, catalog) == configured
    assert resolve_gguf("fake-1b", configured, files, catalog) == files.cache_dir / "fake-1b.gguf"
    with pytest.raises(ModelFileError, match="fake2b-part1 is not installed"):
        resolve_gguf("fake-2b", None, files, catalog)
    assert packaged_available(None, catalog) == "Fake fake-1b"
    assert packaged_available(configured, catalog) == str(configured)
    assert packaged_available(tmp_path / "absent.gguf", catalog) is None


def test_resolve_without_any_model_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError) as raised:
        resolve_gguf(None, None, ModelFiles(tmp_path), {"fake-9b": _model(name="fake-9b")})

    assert "pip install 'oratio[local-model]'" in raised.value.message
    assert "ORATIO_LOCAL_MODEL_PATH" in raised.value.message
    assert not os.listdir(tmp_path)
