"""Blob storage seam: documents, generated agent code, recordings.

Keys are slash-separated paths the services build (always starting with the tenant id). They are
validated here, once, so no adapter can be walked out of its root or bucket prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from oratio.errors import InvalidInput

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,254}$")
KEY_MAX = 1024


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative path of plain segments; raise InvalidInput otherwise."""
    if not key or len(key) > KEY_MAX:
        raise InvalidInput(f"blob key must be 1..{KEY_MAX} characters", field="key")
    for segment in key.split("/"):
        if not _SEGMENT.match(segment) or segment in {".", ".."} or ".." in segment:
            raise InvalidInput(f"blob key segment {segment!r} is not allowed", field="key")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key optionally ending in '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix.rstrip("/"))
    return prefix


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    content_type: str


class BlobStore(Protocol):
    """Whole-object storage. A returned `put` is durable; a `get` sees the latest `put`."""

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> BlobInfo:
        """Store (or overwrite) the object at `key`."""
        ...

    def put_stream(self, key: str, source: BinaryIO, *, content_type: str = "application/octet-stream") -> BlobInfo:
        """Store (or overwrite) the object at `key` from `source`, read from its current position to its end
        in pieces: an object as large as a call's recording never has to be in memory whole."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raises NotFound if absent."""
        ...

    def head(self, key: str) -> BlobInfo | None:
        """Size and content type, or None if absent."""
        ...

    def delete(self, key: str) -> bool:
        """Remove the object; False if it was absent."""
        ...

    def list(self, prefix: str) -> list[BlobInfo]:
        """Objects whose key starts with `prefix`, sorted by key."""
        ...


__all__ = ["KEY_MAX", "BlobInfo", "BlobStore", "validate_key", "validate_prefix"]
