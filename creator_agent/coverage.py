"""Deterministic text checks shared by the plan drafter (to repair) and the reviewer (to judge).

Models paraphrase, drop rules and promise things no tool can do; these checks hold whatever the
model wrote. They are plain, predictable string and word checks on purpose: a creation must pass or
fail for reasons an admin can read and reproduce.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from oratio.tenant_patterns import PatternError, compile_tenant_regex
from schemas.plan import HandoffRule

_NON_WORD = re.compile(r"[^\w$%]+")


_CAPABILITY = re.compile(
    r"\b(?:i|we|you)\s+(?:will|can|'ll|am able to|are able to|shall)\s+(?:now\s+|then\s+|also\s+)?"
    r"(?:process|issue|grant|apply|approve|cancel|change|upgrade|downgrade|update|modify|book|schedule|reschedule|"
    r"reset|send|email|text|charge|credit|transfer|refund|reimburse|ship|order|activate|deactivate)\b[^.!?\n]{0,60}",
    re.IGNORECASE,
)
"""First-person (or "you can", in a system prompt) promises of actions that need a tool the catalog
does not have: the vetted catalog only searches knowledge, hands off and ends the session."""


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; `$` and `%` kept, so amounts stay distinguishable."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def covers(text: str, item: str) -> bool:
    """Whether `text` contains `item`, ignoring case, punctuation and spacing."""
    needle = normalize(item)
    return bool(needle) and f" {needle} " in f" {normalize(text)} "


_HANDOFF_LEAD = re.compile(
    r"^(?:always\s+)?(?:hand\s?off|escalate|transfer)\s+(?:the\s+(?:conversation|call|chat|customer)\s+)?"
    r"(?:to\s+(?:a\s+)?(?:human|person|agent|member of staff)\s+)?(?:when|if|whenever)\s+",
    re.IGNORECASE,
)
_PLACEHOLDERS = frozenset({"none", "n a", "na", "nothing", "not specified", "not applicable", "unknown", "tbd"})
_NEVER_LEAD = re.compile(r"^(?:never|do not|don't|must not|mustn't)\b", re.IGNORECASE)


def strip_handoff_lead(condition: str) -> str:
    """ "Hand off to a human when a refund is over $100." -> "a refund is over $100": the condition alone, so
    its key phrases are the condition's words, not "hand off" and "human"."""
    stripped = _HANDOFF_LEAD.sub("", condition.strip()).rstrip(".")
    return stripped if stripped != condition.strip().rstrip(".") else condition


def is_placeholder(item: str) -> bool:
    """ "None", "N/A": what a small model writes into a list it has nothing for."""
    return normalize(item) in _PLACEHOLDERS


def is_never_rule(rule: str) -> bool:
    return bool(_NEVER_LEAD.match(rule.strip()))


def clean_list(items: Iterable[str], limit: int) -> list[str]:
    """Trimmed, non-empty, de-duplicated (ignoring case and punctuation), in first-seen order, at most `limit`."""
    seen: set[str] = set()
    kept: list[str] = []
    for item in items:
        text = " ".join(item.split())
        key = normalize(text)
        if key and key not in seen:
            seen.add(key)
            kept.append(text)
    return kept[:limit]


def rule_covers(rule: HandoffRule, condition: str) -> bool:
    """A rule stands for a condition when its description names it (or the condition names the description)."""
    description, wanted = normalize(rule.description), normalize(condition)
    if not description or not wanted:
        return False
    return f" {wanted} " in f" {description} " or f" {description} " in f" {wanted} "


def regex_compiles(pattern: str) -> bool:
    """Whether a handoff regex compiles on RE2, the engine the runtime runs it on (linear time)."""
    try:
        compile_tenant_regex(pattern)
    except PatternError:
        return False
    return True


def invented_capabilities(text: str) -> list[str]:
    """Phrases in `text` that promise an action no catalog tool performs ("I will process your refund")."""
    return clean_list((match.group(0).strip() for match in _CAPABILITY.finditer(text)), 20)


def amount_example(rule: HandoffRule, *, above: bool = True) -> str | None:
    """A customer message one unit over an `amount` rule's threshold (or, `above=False`, exactly at it,
    which must not hand off), for the rule's test conversations."""
    if rule.kind != "amount" or rule.amount_over is None or rule.currency is None:
        return None
    text = f"{(rule.amount_over + (1 if above else 0)).normalize():f}"
    amount = f"${text}" if rule.currency == "USD" else f"{text} {rule.currency}"
    return f"Hi. I need help with a {rule.patterns[-1]} of {amount}."


__all__ = [
    "amount_example",
    "clean_list",
    "covers",
    "invented_capabilities",
    "is_never_rule",
    "is_placeholder",
    "normalize",
    "regex_compiles",
    "rule_covers",
    "strip_handoff_lead",
]
