"""A real port (RecordStore, EventLog or BlobStore) that tallies the calls made to it.

Not a mock: every call goes to the adapter underneath, so the services behave exactly as in the
server; only the tally is added. Counts are keyed "port.method", or "port.method:table" with
`by_table` (the table is the call's first argument when it has a `name`). Tests and benches that
count store operations per turn share this one wrapper.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class Counting:
    def __init__(self, port: str, inner: object, tally: Counter[str], *, by_table: bool = False) -> None:
        self._port, self._inner, self._tally, self._by_table = port, inner, tally, by_table

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value

        def counted(*args: Any, **kwargs: Any) -> Any:
            key = f"{self._port}.{name}"
            table = getattr(args[0], "name", None) if self._by_table and args else None
            self._tally[key + (f":{table}" if isinstance(table, str) else "")] += 1
            return value(*args, **kwargs)

        return counted
