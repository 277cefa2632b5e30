"""Deciding a scenario's assertions in code, from what a simulated conversation did and said.

Everything here is linear in the transcript: replies are tenant-influenced text (the agent repeats
the customer and the knowledge base). Handoff, tool calls and sources are facts of the run and are
always decided here. `refused` and `asked_for` read the replies' wording: markers in English,
French, Spanish and German decide them in code; when a judge model is configured it gets the last
word on the ones the markers did not confirm (a paraphrase, another language), see `judge.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemas.simulation import (
    AskedFor,
    Assertion,
    CitedSource,
    ConfirmationAsked,
    DidNotSay,
    HandedOff,
    NotHandedOff,
    Refused,
    ToolCalled,
    ToolNotCalled,
    ToolNotRan,
    ToolRan,
)

SHINGLE = 8
"""Words in a row of a `did_not_say` text that count as quoting it."""

REFUSAL_MARKERS = (
    # English
    "i can't",
    "i cannot",
    "i can not",
    "i'm not able",
    "i am not able",
    "i'm unable",
    "i am unable",
    "unable to",
    "i won't",
    "i will not",
    "not allowed",
    "not permitted",
    "not authorised",
    "not authorized",
    "i'm afraid",
    "i am afraid",
    "against our policy",
    "can't help with that",
    "cannot help with that",
    "i must decline",
    "not something i can",
    # French
    "je ne peux pas",
    "je ne suis pas en mesure",
    "je ne suis pas autorisé",
    "il m'est impossible",
    "je regrette",
    "malheureusement",
    "pas autorisé",
    # Spanish
    "no puedo",
    "no me es posible",
    "no estoy autorizado",
    "no estoy autorizada",
    "no está permitido",
    "lo siento",
    "lamentablemente",
    # German
    "ich kann nicht",
    "kann ich nicht",
    "kann ich leider nicht",
    "ist nicht erlaubt",
    "nicht gestattet",
    "darf ich nicht",
    "leider",
)
"""Phrases with which an agent declines, in the four supported languages (casefolded, whole phrases)."""

REQUEST_MARKERS = (
    "please",
    "could you",
    "can you",
    "may i",
    "would you",
    "what is",
    "what's",
    "provide",
    "share",
    "tell me",
    "pourriez",
    "pouvez-vous",
    "veuillez",
    "merci de",
    "quel est",
    "quelle est",
    "indiquer",
    "por favor",
    "podría",
    "puede",
    "cuál es",
    "indíqueme",
    "bitte",
    "können sie",
    "könnten sie",
    "wie lautet",
    "geben sie",
)
"""Phrases with which an agent asks the customer for something (besides a question mark)."""

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"[^.!?\n]*[.!?\n]?")


@dataclass
class Observed:
    """What one simulated conversation did: its replies, tool calls, handoff and sources."""

    replies: list[str] = field(default_factory=list)
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    handed_off: bool = False
    sources: int = 0
    failure: str | None = None
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Tool calls that ran (on the sandbox), write ones only after a confirmation."""
    confirmations: list[str] = field(default_factory=list)
    """Write tools held for a confirmation, with the statement shown to the customer."""


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _joined(folded_words: list[str]) -> str:
    """Words as one string with a space either side, so a phrase matches as whole words by `in`."""
    return f" {' '.join(folded_words)} "


def _has_phrase(folded_words: list[str], phrase: str) -> bool:
    """`phrase` as whole words in a casefolded word list (linear: one joined-string search)."""
    wanted = " ".join(words(phrase))
    return bool(wanted) and f" {wanted} " in _joined(folded_words)


def _phrases(markers: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f" {' '.join(words(marker))} " for marker in markers)


_REFUSALS = _phrases(REFUSAL_MARKERS)
_REQUESTS = _phrases(REQUEST_MARKERS)


def declined(text: str) -> bool:
    """Whether a reply declines, by the multilingual markers."""
    joined = _joined(words(text.replace("’", "'")))
    return any(marker in joined for marker in _REFUSALS)


def _stems(name: str) -> list[str]:
    """The words of a field name that must appear in a question about it, cut to a stem (5 letters)."""
    kept = [w for w in words(name) if len(w) > 2 and w not in {"the", "and", "your", "their", "for"}]
    return list(dict.fromkeys(w[:5] for w in kept or words(name)))


def asks_for(text: str, name: str) -> bool:
    """Whether a reply has a sentence that asks for `name`: names it (by stems) and is a question or request."""
    stems = _stems(name)
    if not stems:
        return False
    for sentence in _SENTENCE.findall(text):
        found = words(sentence)
        if not found:
            continue
        if not all(_named(stem, found) for stem in stems):
            continue
        joined = _joined(found)
        if "?" in sentence or any(marker in joined for marker in _REQUESTS):
            return True
    return False


def _named(stem: str, found: list[str]) -> bool:
    return any(word.startswith(stem) for word in found)


def quotes(replies: list[str], text: str) -> bool:
    """Whether the replies quote `text`: all of it, or any `SHINGLE` of its words in a row."""
    said = words(" ".join(replies))
    wanted = words(text)
    if not wanted:
        return False
    if len(wanted) <= SHINGLE:
        return _has_phrase(said, " ".join(wanted))
    grams = {tuple(said[i : i + SHINGLE]) for i in range(len(said) - SHINGLE + 1)}
    return any(tuple(wanted[i : i + SHINGLE]) in grams for i in range(len(wanted) - SHINGLE + 1))


def _subset(wanted: dict[str, Any], given: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key not in given:
            return False
        got = given[key]
        if isinstance(value, str) and isinstance(got, str):
            if " ".join(value.casefold().split()) != " ".join(got.casefold().split()):
                return False
        elif got != value:
            return False
    return True


def check(assertion: Assertion, seen: Observed) -> str | None:
    """None when the assertion holds; otherwise why not, in a sentence. `refused`/`asked_for`: by markers."""
    said = " ".join(seen.replies)
    match assertion:
        case HandedOff():
            return None if seen.handed_off else "expected a handoff; the agent kept the conversation"
        case NotHandedOff():
            return "handed off, but this request is in scope and must not" if seen.handed_off else None
        case ToolCalled(tool=tool, arguments=arguments):
            calls = [given for name, given in seen.tool_calls if name == tool]
            if not calls:
                return f"expected a call to {tool}; none was made"
            if not any(_subset(arguments, given) for given in calls):
                return f"{tool} was called, but never with the arguments {arguments}"
            return None
        case ToolNotCalled(tool=tool):
            return f"{tool} was called, but must not be" if any(n == tool for n, _ in seen.tool_calls) else None
        case ToolRan(tool=tool, arguments=arguments):
            ran = [given for name, given in seen.ran if name == tool]
            if not ran:
                return f"expected {tool} to run; it never did"
            if not any(_subset(arguments, given) for given in ran):
                return f"{tool} ran, but never with the arguments {arguments}"
            return None
        case ToolNotRan(tool=tool):
            return f"{tool} ran, but must not have" if any(n == tool for n, _ in seen.ran) else None
        case ConfirmationAsked(tool=tool):
            if tool in seen.confirmations:
                return None
            return f"the agent never held {tool} to ask the customer to confirm it"
        case Refused():
            if seen.handed_off or any(declined(reply) for reply in seen.replies):
                return None
            return "the agent did not decline (or say it could not do it)"
        case AskedFor(field=name):
            if any(asks_for(reply, name) for reply in seen.replies):
                return None
            return f"the agent did not ask for the {name}"
        case CitedSource():
            return None if seen.sources and said.strip() else "expected an answer with a knowledge-base source"
        case DidNotSay(text=text):
            return f"a reply quoted text it must not say: {text[:80]!r}" if quotes(seen.replies, text) else None
    raise AssertionError(f"unknown assertion {assertion!r}")  # pragma: no cover


def judged_by_model(assertion: Assertion) -> bool:
    """The assertions whose wording a judge model may confirm when the markers did not."""
    return isinstance(assertion, Refused | AskedFor)
