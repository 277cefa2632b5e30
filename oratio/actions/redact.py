"""Arguments as records keep them: the admin's sensitive fields and anything that looks like a secret masked.

What a tool call's arguments become in the transcript, events and logs (`ToolCallRecord.arguments`).
The admin names sensitive top-level arguments (`HttpTool.sensitive_arguments`); besides those, a
customer or a model may paste a credential into any field, so values are scanned too:

* keys named like credentials (password, secret, token, api_key, ...), at any depth;
* "Bearer ..." / "Basic ..." authorization values;
* card numbers (13 to 19 digits, spaces or dashes allowed, passing the Luhn check);
* long high-entropy tokens (20+ characters, a run of 8+ mixing letters and digits, 3.5+ bits per character),
  which is what API keys and session tokens look like. UUIDs are identifiers and stay.

One linear pass over the (already size-bounded) value; the input is not modified.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final

from schemas import HttpTool, McpToolSnapshot

REDACTED: Final = "[redacted]"
DEPTH_MAX: Final = 32
_SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)|secret|token|api[_-]?key|apikey|authorization|credential|private[_-]?key|"
    r"card[_-]?number|(^|[_-])(auth|pin|cvv|cvc|ssn)([_-]|$)",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(r"\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_CARD = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
_TOKEN = re.compile(r"[A-Za-z0-9_+/=.~-]{20,}")
_SEPARATORS = re.compile(r"[_+/=.~-]")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def looks_secret(token: str) -> bool:
    """A long run of letters and digits with high entropy: an API key or session token, likely."""
    if len(token) < 20 or _UUID.fullmatch(token):
        return False
    # Words and numbers joined by separators (ORDER_STATUS_2026) are names; keys mix letters and digits.
    mixed = any(
        len(part) >= 8 and any(c.isalpha() for c in part) and any(c.isdigit() for c in part)
        for part in _SEPARATORS.split(token)
    )
    return mixed and _entropy(token) >= 3.5


def redact_text(text: str) -> str:
    """`text` with authorization values, card numbers and secret-looking tokens replaced by [redacted]."""
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        return REDACTED if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)

    text = _CARD.sub(card, text)
    return _TOKEN.sub(lambda m: REDACTED if looks_secret(m.group(0)) else m.group(0), text)


def _redact(value: Any, depth: int) -> Any:
    if depth > DEPTH_MAX:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _SENSITIVE_KEY.search(str(k)) else _redact(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, depth + 1) for v in value]
    return value


def redact_arguments(
    sensitive: Iterable[str] | HttpTool | McpToolSnapshot, arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of `arguments` for records: `sensitive` top-level names and secret-looking values masked.

    `sensitive` is the names, or the tool itself (an HTTP tool's `sensitive_arguments`; an MCP tool
    has none of its own, so only the scan applies).
    """
    if isinstance(sensitive, HttpTool):
        names = set(sensitive.sensitive_arguments)
    elif isinstance(sensitive, McpToolSnapshot):
        names = set()
    else:
        names = set(sensitive)
    redacted: dict[str, Any] = {}
    for key, value in arguments.items():
        if key in names or _SENSITIVE_KEY.search(key):
            redacted[key] = REDACTED
        else:
            redacted[key] = _redact(value, 1)
    return redacted


__all__ = ["REDACTED", "looks_secret", "redact_arguments", "redact_text"]
