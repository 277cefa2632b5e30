"""Splits a reply streamed as text deltas into sentences, so each can be spoken as soon as it is complete.

A sentence ends at `.`, `!`, `?` or `…` followed by whitespace, or at a line break; a decimal point
("3.5") or an abbreviation-like token ("e.g.") followed by a lowercase word does not end one. Very
long runs without punctuation are cut at a word boundary after `max_chars`, so audio never waits
for the end of a rambling reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Linear on any text: a punctuation run is entered only at its start (the look-behind) and taken whole
# (possessive `++`), so "!!!!…" is not rescanned from each of its characters; whitespace likewise.
_END = re.compile(r"((?<![.!?…])[.!?…]++[\"')\]]*+)(\s++)(?=\S)|\n+")


@dataclass
class SentenceSplitter:
    max_chars: int = 240
    _buffer: str = field(default="")

    def add(self, delta: str) -> list[str]:
        """Sentences completed by `delta`, in order (stripped, never empty)."""
        self._buffer += delta
        out: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                break
            sentence, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if sentence:
                out.append(sentence)
        return out

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

    def _cut(self) -> int | None:
        for match in _END.finditer(self._buffer):
            following = self._buffer[match.end() : match.end() + 1]
            if match.group(1) and following.islower():
                continue  # "e.g. this" - not the end of a sentence
            return match.end()
        if len(self._buffer) > self.max_chars:
            space = self._buffer.rfind(" ", 0, self.max_chars)
            return space + 1 if space > 0 else self.max_chars
        return None
