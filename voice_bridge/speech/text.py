"""What text a synthesiser accepts: bounded, printable, and never read as engine markup.

Both engines read `[[...]]` as raw phonemes (Piper and espeak-ng alike). Replies come from a model that
may repeat what a customer typed, so square brackets become spaces rather than being trusted (they are not
spoken anyway); control characters go too, and runs of whitespace fold to one space. The length cap bounds
one synthesis call (about four minutes of speech at the cap); a reply longer than that should be split by
the caller, sentence by sentence, which also starts the audio sooner.
"""

from __future__ import annotations

import re
import unicodedata

from oratio.errors import InvalidInput

MAX_TEXT_CHARS = 4000
_BRACKETS = re.compile(r"[\[\]]")


def speakable(text: str) -> str:
    """`text` made safe to hand to a synthesiser; InvalidInput if it is blank or longer than the cap."""
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"text to speak is {len(text)} characters; at most {MAX_TEXT_CHARS} per call (split it into sentences)",
            field="text",
        )
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in _BRACKETS.sub(" ", text))
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise InvalidInput("there is no text to speak", field="text")
    return cleaned


__all__ = ["MAX_TEXT_CHARS", "speakable"]
