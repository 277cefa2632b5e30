"""Deterministic text checks shared by the plan drafter (to repair) and the reviewer (to judge).

Models paraphrase, drop rules and promise things no tool can do; these checks hold whatever the
model wrote. They are plain, predictable string and word checks on purpose: a creation must pass or
fail for reasons an admin can read and reproduce.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from oratio.runtime.amounts import parse_amount
from oratio.tenant_patterns import PatternError, compile_tenant_regex
from schemas.plan import HandoffRule

_NON_WORD = re.compile(r"[^\w$%]+")
_WORD = re.compile(r"[\w$%][\w$%'.-]*[\w$%]|[\w$%]")

STOPWORDS = frozenset(
    """
    a an the and or but nor if when whenever while where who whom whose which what that this these those
    is are was were be been being am has have had having do does did doing will would shall should can could
    may might must to of in on at by for from with without about into onto over under above below than then
    as so such very too also just only any some all each every either neither no not more most less least
    it its they them their theirs he him his she her hers we us our you your i me my
    customer customers caller callers user users client clients person someone somebody anyone
    asks ask asked asking says say said saying mentions mention mentioned mentioning wants want wanted
    requests request requested requesting needs need needed tells tell reports report reported
    speak speaking talk talking wishes wish like would
    """.split()
)
"""Words that say who speaks or how, not what they said: never useful as handoff keywords alone."""

MAX_PHRASE_WORDS = 4

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
    r"^(?:always\s+)?(?:hand\s?off|escalate|transfer)\s+(?:(?:the\s+conversation\s+)?to\s+(?:a\s+)?"
    r"(?:human|person|agent|member of staff)\s+)?(?:when|if|whenever)\s+",
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


def key_phrases(condition: str) -> list[str]:
    """The condition's content phrases: runs of non-stopwords, split at stopwords and punctuation.

    "the customer mentions sparks, smoke or exposed wires" -> ["sparks", "smoke", "exposed wires"].
    Deterministic and simple on purpose; it is the fallback when the model wrote no rule.
    """
    phrases: list[str] = []
    for chunk in re.split(r"[,;:()\[\]/!?\"]|\.(?!\d)", condition):
        run: list[str] = []
        for word in _WORD.findall(chunk):
            if word.casefold() in STOPWORDS:
                if run:
                    phrases.append(" ".join(run))
                run = []
            else:
                run.append(word.casefold())
                if len(run) == MAX_PHRASE_WORDS:
                    phrases.append(" ".join(run))
                    run = []
        if run:
            phrases.append(" ".join(run))
    return clean_list((p for p in phrases if len(p) >= 2), 50)


def rule_id(condition: str, taken: Iterable[str]) -> str:
    """A readable, unique `HandoffRule.id` built from the condition's key phrases."""
    words = "_".join(key_phrases(condition)).replace(" ", "_")
    base = re.sub(r"[^a-z0-9_]+", "", words.casefold()).strip("_")[:32].strip("_") or "handoff"
    used = set(taken)
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


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


__all__ = [
    "Threshold",
    "amount_example",
    "clean_list",
    "covers",
    "invented_capabilities",
    "key_phrases",
    "normalize",
    "regex_compiles",
    "rule_covers",
    "rule_id",
    "threshold_example",
    "threshold_handoff_rule",
    "threshold_rule",
]


# "over $100", "more than 100 dollars", "exceeds €50", French "dépasse 100 $", "plus de 100 $": a comparison
# word, then the amount (read by oratio.runtime.amounts) within the next few characters.
_OVER = re.compile(
    r"\b(?:over|above|more than|greater than|exceeds?|exceeding|in excess of|dépasse|dépassant|dépassent"
    r"|plus de|supérieure? à|au-delà de)(?!\w)",
    re.IGNORECASE,
)
_AMOUNT_WITHIN: Final = 40


@dataclass(frozen=True)
class Threshold:
    """An amount threshold named by a handoff condition: the topic stems, the amount, its currency."""

    topics: list[str]
    amount: Decimal
    currency: str
    start: int  # where the comparison begins in the condition


def _threshold(condition: str) -> tuple[Decimal, str, int] | None:
    for comparison in _OVER.finditer(condition):
        amount = parse_amount(condition[comparison.end() : comparison.end() + _AMOUNT_WITHIN])
        if amount is not None:
            return amount.value, amount.currency, comparison.start()
    return None


def threshold_rule(condition: str) -> Threshold | None:
    """For "a refund request is over $100": the topic stems, 100 and USD, for an `amount` handoff rule.

    None when the condition names no amount threshold or no topic before it. A keyword rule would fire
    on every mention of the topic, so the runtime compares the amounts a customer writes instead.
    """
    found = _threshold(condition)
    if found is None:
        return None
    amount, currency, start = found
    topics = [p for p in key_phrases(condition[:start]) if not any(c.isdigit() for c in p)]
    stems = clean_list((phrase.split()[-1] for phrase in topics), 50)
    if not stems:
        return None
    return Threshold(topics=stems, amount=amount, currency=currency, start=start)


def threshold_handoff_rule(ident: str, condition: str) -> HandoffRule | None:
    """The `amount` rule for a threshold condition, or None when it names no threshold."""
    threshold = threshold_rule(condition)
    if threshold is None:
        return None
    return HandoffRule(
        id=ident,
        description=condition[:500],
        kind="amount",
        patterns=threshold.topics,
        amount_over=threshold.amount,
        currency=threshold.currency,
    )


def amount_example(rule: HandoffRule) -> str | None:
    """A customer message one unit over an `amount` rule's threshold, for the rule's test conversation."""
    if rule.kind != "amount" or rule.amount_over is None or rule.currency is None:
        return None
    text = f"{(rule.amount_over + 1).normalize():f}"
    amount = f"${text}" if rule.currency == "USD" else f"{text} {rule.currency}"
    return f"Hi. I need help with a {rule.patterns[-1]} of {amount}."


def threshold_example(condition: str) -> str | None:
    """A customer message just over the condition's threshold ("a refund request is over $100" -> "... of
    $101."), or None when the condition has no threshold rule (see `threshold_rule`)."""
    rule = threshold_handoff_rule("example", condition)
    return amount_example(rule) if rule is not None else None
