"""What the tools decided during one turn (`TurnOutcome`) and how a webhook tool calls out (`WebhookCaller`).

Kept apart from `oratio.runtime.tools` (which re-exports both) because the engine needs these types
at import time and the tools need Strands: importing the engine must not import Strands, so that a
process which never runs a model (`oratio mcp` answering `initialize`) starts without it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from oratio.notify.webhooks import WebhookReply
from oratio.runtime.results import SOURCES_MAX
from schemas import Source, ToolCallRecord
from schemas.tools import TOOL_CALLS_PER_TURN_MAX


@dataclass
class TurnOutcome:
    """What the tools decided during one turn. Tools may run in worker threads, hence the lock."""

    sources: list[Source] = field(default_factory=list)
    handoff_reason: str | None = None
    end_requested: bool = False
    collected: dict[str, str] = field(default_factory=dict)
    unhelpful: list[str] = field(default_factory=list)
    """Why a tool could not help ("knowledge_search found nothing", "call_webhook failed"): see
    `oratio.runtime.handoff.could_not_help`, which repeated_failures handoff rules count with."""
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    """The agent's tools called in this turn (`oratio.runtime.action_tools`), stored on the agent's turn."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_sources(self, found: list[Source]) -> None:
        with self._lock:
            seen = {(s.document_id, s.location, s.snippet) for s in self.sources}
            for source in found:
                key = (source.document_id, source.location, source.snippet)
                if key not in seen and len(self.sources) < SOURCES_MAX:
                    seen.add(key)
                    self.sources.append(source)

    def collect(self, name: str, value: str) -> None:
        with self._lock:
            self.collected[name] = value

    def note_unhelpful(self, reason: str) -> None:
        with self._lock:
            if reason not in self.unhelpful:
                self.unhelpful.append(reason)

    def add_tool_call(self, record: ToolCallRecord) -> bool:
        """Keep one call's record; False (not kept) once TOOL_CALLS_PER_TURN_MAX are."""
        with self._lock:
            if len(self.tool_calls) >= TOOL_CALLS_PER_TURN_MAX:
                return False
            self.tool_calls.append(record)
            return True

    def take_tool_calls(self) -> list[ToolCallRecord]:
        """The records so far, cleared (a voice call stores them with each agent turn as it comes)."""
        with self._lock:
            taken, self.tool_calls = self.tool_calls, []
            return taken

    @property
    def tool_calls_left(self) -> int:
        with self._lock:
            return TOOL_CALLS_PER_TURN_MAX - len(self.tool_calls)

    def request_handoff(self, reason: str) -> None:
        with self._lock:
            if self.handoff_reason is None:
                self.handoff_reason = reason


class WebhookCaller(Protocol):
    def call(self, tenant_id: str, url: str, event: str, data: Mapping[str, Any]) -> WebhookReply: ...
