"""The vectors written since an agent's HNSW graph was last saved: a small file searched exactly beside it.

Why: saving the graph is a rewrite of the whole file (about 85 MB and 0.3 s at 100k chunks of 384
dimensions), and loading it for an in-place change costs as much again. A document write therefore
goes to a delta instead: the chunk ids removed from the graph (tombstones) and the rows added since,
in a file of its own per generation, rewritten whole (it is small: it is merged into the graph once it
holds `MERGE_ROWS` entries). A search asks the graph, drops the tombstoned ids, and scores the delta's
rows exactly (a matrix product over at most `MERGE_ROWS` rows: tens of microseconds).

The file names its generation (`delta-<model>-<token>.bin`, and again inside, so a file renamed or
restored to another generation's name is refused) and the graph it applies to (the token in the graph
file's name), and ends with a BLAKE2b digest of everything before it: a torn, truncated or
foreign file does not parse, so it is never served; the caller rebuilds from the chunks table.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

MERGE_ROWS = 4096  # tombstones + added rows past which a write merges the delta into the graph
_MAGIC = b"ORATIO-DELTA-1\n"
_HEADER = struct.Struct("<32s32sIQQ")  # generation, graph token (ascii, padded), dimensions, tombstones, rows
_DIGEST = 32


@dataclass(frozen=True)
class Delta:
    """Changes to the graph saved at generation `base`: ids gone from it, and rows added since (unit vectors)."""

    base: str
    removed: frozenset[int]
    keys: NDArray[np.uint64]
    vectors: NDArray[np.float32]

    @property
    def size(self) -> int:
        """What counts towards `MERGE_ROWS`."""
        return len(self.removed) + len(self.keys)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.vectors.nbytes) + 16 * len(self.removed)

    def nearest(self, query: NDArray[np.float32], n: int) -> list[int]:
        """The `n` added rows nearest `query` by cosine, exactly."""
        if len(self.keys) == 0 or n <= 0:
            return []
        import numpy as np

        scores = self.vectors @ query
        if len(scores) > n:
            best = np.argpartition(-scores, n - 1)[:n]
        else:
            best = np.arange(len(scores))
        return [int(self.keys[i]) for i in best]

    def apply(
        self, removed: set[int], in_graph: set[int], keys: list[int], vectors: list[NDArray[np.float32]]
    ) -> Delta:
        """This delta with `removed` chunk ids gone (`in_graph`: those of them the graph holds) and rows added."""
        import numpy as np

        keep = [i for i, key in enumerate(self.keys.tolist()) if key not in removed]
        old_vectors = self.vectors[keep]
        added = unit(np.stack(vectors)) if vectors else np.empty((0, self.vectors.shape[1]), dtype=np.float32)
        return Delta(
            self.base,
            self.removed | in_graph,
            np.concatenate([self.keys[keep], np.asarray(keys, dtype=np.uint64)]),
            np.concatenate([old_vectors, added]).astype(np.float32, copy=False),
        )


def empty(base: str, dimensions: int) -> Delta:
    import numpy as np

    return Delta(base, frozenset(), np.empty(0, dtype=np.uint64), np.empty((0, dimensions), dtype=np.float32))


def unit(matrix: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows scaled to length 1 (cosine as a dot product); zero rows stay zero."""
    import numpy as np

    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    scaled: NDArray[np.float32] = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
    return scaled


def save(path: Path, token: str, delta: Delta) -> None:
    """Write `delta`, generation `token`'s, to `path` atomically (a partial file renamed over it), owner-only."""
    import numpy as np

    rows, dimensions = delta.vectors.shape
    body = b"".join(
        [
            _MAGIC,
            _HEADER.pack(token.encode("ascii"), delta.base.encode("ascii"), dimensions, len(delta.removed), rows),
            np.asarray(sorted(delta.removed), dtype="<u8").tobytes(),
            delta.keys.astype("<u8").tobytes(),
            delta.vectors.astype("<f4").tobytes(),
        ]
    )
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(body + hashlib.blake2b(body, digest_size=_DIGEST).digest())
    os.replace(partial, path)


def load(path: Path, token: str, dimensions: int) -> Delta | None:
    """Generation `token`'s delta in `path`, or None if it is missing, torn, foreign or of other dimensions."""
    import numpy as np

    try:
        data = path.read_bytes()
    except OSError:
        return None
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) < len(_MAGIC) + _HEADER.size + _DIGEST or not body.startswith(_MAGIC):
        return None
    if hashlib.blake2b(body, digest_size=_DIGEST).digest() != digest:
        return None
    token_raw, base_raw, dims, removed, rows = _HEADER.unpack_from(body, len(_MAGIC))
    offset = len(_MAGIC) + _HEADER.size
    if token_raw.rstrip(b"\x00") != token.encode("ascii", errors="replace"):
        return None
    if dims != dimensions or len(body) != offset + 8 * removed + 8 * rows + 4 * rows * dims:
        return None
    tombstones = np.frombuffer(body, dtype="<u8", count=removed, offset=offset)
    offset += 8 * removed
    keys = np.frombuffer(body, dtype="<u8", count=rows, offset=offset).astype(np.uint64)
    offset += 8 * rows
    vectors = np.frombuffer(body, dtype="<f4", count=rows * dims, offset=offset).reshape(rows, dims)
    base = base_raw.rstrip(b"\x00").decode("ascii", errors="replace")
    return Delta(base, frozenset(int(key) for key in tombstones.tolist()), keys, vectors.astype(np.float32))


__all__ = ["MERGE_ROWS", "Delta", "empty", "load", "save", "unit"]
