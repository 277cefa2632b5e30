"""Blob store in a local directory: the embedded default.

Each object `k` is the file `<root>/k.blob` with its content type beside it in `k.meta`. The
suffix lets `a/b` and `a/b/c` coexist, as they can in S3. Writes go to a temporary file that is
fsynced and renamed into place, so a reader never sees half an object and an acknowledged put
survives a crash.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from oratio.blobs.ports import BlobInfo, validate_key, validate_prefix
from oratio.datadir import make_private_dirs
from oratio.errors import NotFound

_DATA = ".blob"
_META = ".meta"
_COPY_BYTES = 1024 * 1024


class LocalBlobStore:
    brief_calls = True
    """Reading a small object (a deployed plan, a few KiB) is a local file read: the runtime's turn may do
    it on its event loop (`oratio.store.ports.calls_are_brief`). Large objects are streamed off-loop."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        make_private_dirs(self._root)

    def _path(self, key: str, suffix: str) -> Path:
        return self._root / (validate_key(key) + suffix)

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> BlobInfo:
        data_path = self._path(key, _DATA)
        make_private_dirs(data_path.parent)  # 0700 folders; files are mkstemp's 0600
        _atomic_write(self._path(key, _META), json.dumps({"content_type": content_type}).encode())
        _atomic_write(data_path, data)
        return BlobInfo(key=key, size=len(data), content_type=content_type)

    def put_stream(self, key: str, source: BinaryIO, *, content_type: str = "application/octet-stream") -> BlobInfo:
        data_path = self._path(key, _DATA)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self._path(key, _META), json.dumps({"content_type": content_type}).encode())
        size = _atomic_copy(data_path, source)
        return BlobInfo(key=key, size=size, content_type=content_type)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key, _DATA).read_bytes()
        except FileNotFoundError:
            raise NotFound.of("blob", key) from None

    def head(self, key: str) -> BlobInfo | None:
        data_path = self._path(key, _DATA)
        try:
            size = data_path.stat().st_size
        except FileNotFoundError:
            return None
        return BlobInfo(key=key, size=size, content_type=self._content_type(key))

    def delete(self, key: str) -> bool:
        data_path = self._path(key, _DATA)
        try:
            data_path.unlink()
        except FileNotFoundError:
            return False
        self._path(key, _META).unlink(missing_ok=True)
        return True

    def list(self, prefix: str) -> list[BlobInfo]:
        validate_prefix(prefix)
        # Walk only the deepest directory the prefix names; filter the rest by string prefix.
        base = self._root / prefix.rsplit("/", 1)[0] if "/" in prefix else self._root
        if not base.is_dir():
            return []
        found: list[BlobInfo] = []
        for path in base.rglob("*" + _DATA):
            key = path.relative_to(self._root).as_posix()[: -len(_DATA)]
            if key.startswith(prefix):
                found.append(BlobInfo(key=key, size=path.stat().st_size, content_type=self._content_type(key)))
        return sorted(found, key=lambda info: info.key)

    def _content_type(self, key: str) -> str:
        try:
            meta = json.loads(self._path(key, _META).read_bytes())
        except FileNotFoundError:
            return "application/octet-stream"
        content_type: str = meta.get("content_type", "application/octet-stream")
        return content_type


def _atomic_write(path: Path, data: bytes) -> None:
    _atomic_copy(path, io.BytesIO(data))


def _atomic_copy(path: Path, source: BinaryIO) -> int:
    """Copy `source` (from where it stands) into a temporary file, fsync it, rename it to `path`; bytes copied."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            shutil.copyfileobj(source, handle, _COPY_BYTES)
            size = handle.tell()
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return size
