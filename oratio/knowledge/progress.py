"""How far an ingestion has got, reported from deep inside it without threading a callback through.

The ingestion service wants "chunks embedded of total" on the document record while a long document
is embedded; the embedder is called by the index, which knows nothing of documents. A context
variable carries the observer instead: the service sets it around `KnowledgeBase.ingest`, the
knowledge base reports the chunk total once the document is chunked, and the embedder reports after
each batch. Each thread has its own context, so concurrent ingestions never see each other's
observer; code that embeds with no observer set (search queries) reports to nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Observer = Callable[[int, int], None]
"""Called with (items done, items in all)."""

_observer: ContextVar[Observer | None] = ContextVar("oratio_ingest_progress", default=None)


@contextmanager
def observed(observer: Observer) -> Iterator[None]:
    """Send the progress reported in this context (this thread) to `observer` until the block ends."""
    token = _observer.set(observer)
    try:
        yield
    finally:
        _observer.reset(token)


def report(done: int, total: int) -> None:
    """Tell the current observer, if any, that `done` of `total` items are finished."""
    observer = _observer.get()
    if observer is not None:
        observer(done, total)


__all__ = ["Observer", "observed", "report"]
