"""Assembles a reply exactly as it is streamed, so the stored text is what the customer saw.

The model may speak across several messages in one turn (a sentence, a tool call, the answer); those
become paragraphs. The plan's fixed endings (handoff, closing, apology) are one more paragraph. The
whole stays within a stored turn's size, with room always kept for the ending.
"""

from __future__ import annotations

from schemas import Limits

SEPARATOR = "\n\n"
ENDING_MAX = 500
"""The longest fixed ending: `AgentPlan.handoff_message` / `closing_message` are capped at this."""


class ReplyBuilder:
    def __init__(self, limit: int = Limits.TURN_TEXT_MAX) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._limit = limit
        self._model_room = limit - len(SEPARATOR) - ENDING_MAX
        self._new_paragraph = False
        self._tail = ""

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, chunk: str) -> str:
        """Take a model text delta; returns what to stream (may be empty once the reply is full)."""
        if not chunk:
            return ""
        piece = (SEPARATOR if self._new_paragraph else "") + chunk
        self._new_paragraph = False
        return self._append(piece[: max(self._model_room - self._size, 0)])

    def end_paragraph(self) -> None:
        """The model finished a message; its next text starts a new paragraph."""
        self._new_paragraph = self._size > 0

    def finish(self, ending: str) -> None:
        """Close with a fixed paragraph, streamed by `pending_tail`."""
        piece = (SEPARATOR if self._size else "") + ending
        self._tail = self._append(piece[: self._limit - self._size])

    def pending_tail(self) -> str:
        tail, self._tail = self._tail, ""
        return tail

    def _append(self, piece: str) -> str:
        if piece:
            self._parts.append(piece)
            self._size += len(piece)
        return piece
