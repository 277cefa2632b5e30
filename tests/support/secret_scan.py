"""Scan everything the platform wrote or said for a secret's value (the "secrets never leak" checks).

A test sets a secret whose value is a unique marker, drives the platform (today: set, replace,
resolve, refused calls; after issue 18 merges: a real tool call that sends it), then hands the scan
every place a value could surface: the files of the data dir (SQLite and its WAL, blobs, key files,
logs), the event log, captured log records and every MCP result. The marker is searched as is, in
base64 at each of the three alignments it can take inside a longer base64 text, and as hex.
`planted()` proves a scan is not blind: it must find a marker written where the scan looks.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.types import CallToolResult

from oratio.store.ports import EventLog


def forms(marker: str) -> list[bytes]:
    """What the marker looks like raw, in base64 (standard and URL-safe, any alignment) and in hex."""
    raw = marker.encode()
    found = [raw, raw.hex().encode()]
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        # Drop the 4-character groups the padding or the end share with neighbouring bytes: the rest is
        # what the marker encodes to at this alignment, whatever surrounds it.
        stable = encoded[4 if pad else 0 : len(encoded) - 4]
        found += [stable, stable.replace(b"+", b"-").replace(b"/", b"_")]
    return [f for f in found if len(f) >= 8]


@dataclass
class LeakScan:
    """Looks for any of `markers` (secret values); `findings` says where one was found."""

    markers: tuple[str, ...]
    findings: list[str] = field(default_factory=list)
    looked_at: int = 0

    def __post_init__(self) -> None:
        self._forms = [(marker, form) for marker in self.markers for form in forms(marker)]

    def text(self, where: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        self.looked_at += 1
        for marker, form in self._forms:
            if form in data:
                self.findings.append(where if len(self.markers) == 1 else f"{where} ({marker})")
                return

    def files(self, root: Path) -> None:
        """Every file under `root`, byte for byte (SQLite pages, WAL, blobs, logs, key files)."""
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            self.text(f"file {path.relative_to(root)}", path.read_bytes())

    def events(self, log: EventLog, tenant_ids: Iterable[str]) -> None:
        for tenant_id in tenant_ids:
            after = 0
            while page := log.read(tenant_id, after=after):
                for event in page:
                    self.text(f"event {event.seq} {event.type.value}", event.model_dump_json())
                after = page[-1].seq

    def logs(self, records: Iterable[logging.LogRecord], *, client_side: tuple[str, ...] = ("mcp.client",)) -> None:
        """Every record but the test's own client's (`client_side` logger prefixes): an admin's MCP client
        logs the messages it sends at DEBUG, in the admin's process, which is not the platform's."""
        for record in records:
            if record.name.startswith(client_side):
                continue
            rendered = record.getMessage() + (record.exc_text or "") + repr(getattr(record, "args", ()))
            self.text(f"log {record.name}:{record.levelname}", rendered)

    def mcp(self, tool: str, result: CallToolResult) -> None:
        content = json.dumps([c.model_dump(mode="json") for c in result.content])
        self.text(f"mcp {tool}", content + json.dumps(result.structured_content))

    def value(self, where: str, value: Any) -> None:
        """Any other answer (an HTTP body, a model's messages): compared as its JSON."""
        self.text(where, json.dumps(value, default=str))

    def assert_clean(self) -> None:
        assert self.looked_at > 0, "the scan looked at nothing"
        assert not self.findings, f"the secret value was found in: {self.findings}"


def planted(marker: str, tmp: Path) -> LeakScan:
    """A scan over files holding the marker raw, inside base64 (every alignment) and as hex: all found."""
    for pad in range(3):
        (tmp / f"b64-{pad}.txt").write_bytes(base64.b64encode(b"x" * pad + marker.encode() + b"tail"))
    (tmp / "raw.db").write_bytes(b"\0page\0" + marker.encode() + b"\0")
    (tmp / "hex.log").write_text("value=" + marker.encode().hex())
    scan = LeakScan((marker,))
    scan.files(tmp)
    return scan
