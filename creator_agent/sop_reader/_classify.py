"""What one SOP sentence is: metadata, an internal note, a handoff condition, a rule, a step, tone or a goal.

Each test is a prefix check or a set lookup over the sentence's words (`_cues`), so classifying is
linear in the sentence. The order of the tests is the reader's policy: metadata and internal notes
first (they must never become rules), then handoff, then the force of the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from creator_agent.sop_reader import _cues as cues
from oratio.languages import words

Kind = Literal["metadata", "internal", "handoff", "never", "must", "step", "tone", "goal", "fact"]
SectionKind = Literal[
    "metadata", "examples", "internal", "handoff", "steps", "tone", "goals", "collect", "rules", "domain"
]

_DATEISH: Final = re.compile(r"[\d/.\- :]{4,}")
METADATA_MAX_WORDS: Final = 12


@lru_cache(maxsize=256)
def section_kind(title: str) -> SectionKind:
    """What a heading announces, from its words ("Escalation policy" -> handoff; "Baggage" -> domain)."""
    padded = f" {' '.join(words(title))} "
    for kind, phrases in cues.HEADING_KINDS.items():
        for phrase in phrases:
            needle = f" {phrase[:-1]}" if phrase.endswith("*") else f" {phrase} "
            if needle in padded:
                return kind  # type: ignore[return-value]
    return "domain"


def _lead(text: str, phrases: tuple[str, ...]) -> str | None:
    """The phrase of `phrases` that `text` (lower case) starts with, as whole words."""
    if not text.startswith(phrases):
        return None
    for phrase in phrases:
        if text.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalnum()):
            return phrase
    return None


def _has_phrase(sentence: Sentence, phrases: tuple[str, ...]) -> bool:
    """Whether the sentence holds one of `phrases` as whole words: only phrases whose first word it has are tried."""
    by_first = _by_first_word(phrases)
    return any(
        phrase in sentence.padded for word in sentence.words_set.intersection(by_first) for phrase in by_first[word]
    )


@lru_cache(maxsize=32)
def _by_first_word(phrases: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for phrase in phrases:
        first = " ".join(words(phrase)).split(" ", 1)[0]
        grouped.setdefault(first, []).append(f" {' '.join(_split_elisions(words(phrase)))} ")
    return {first: tuple(group) for first, group in grouped.items()}


_ELIDED: Final = frozenset({"l", "d", "qu", "n", "s", "j", "c", "m", "t", "lorsqu", "jusqu"})


def _split_elisions(tokens: list[str]) -> list[str]:
    """French elisions as two words: "l'adresse" -> "l", "adresse" (so articles are seen as articles)."""
    out: list[str] = []
    for token in tokens:
        head, apostrophe, tail = token.partition("'")
        if apostrophe and head in _ELIDED and tail:
            out.extend((head, tail))
        else:
            out.append(token)
    return out


@dataclass
class Sentence:
    """A sentence with its lower-case words, ready for the tests below."""

    text: str
    lower: str = field(init=False)
    tokens: list[str] = field(init=False)
    padded: str = field(init=False)
    words_set: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lower = " ".join(self.text.casefold().split())
        self.tokens = _split_elisions(words(self.text))
        self.padded = f" {' '.join(self.tokens)} "
        self.words_set = frozenset(self.tokens)


def is_metadata(sentence: Sentence) -> bool:
    """ "Last updated: 2024-05-01", "Version 3", "Owner: Support Ops": about the document, not the agent."""
    if len(sentence.tokens) > METADATA_MAX_WORDS:
        return False
    lead = _lead(sentence.lower, cues.METADATA_LEADS)
    if lead is None:
        return sentence.lower.lstrip("v").replace(".", "").isdigit()
    rest = sentence.lower[len(lead) :].lstrip()
    return rest.startswith(":") or _DATEISH.match(rest) is not None or rest[:1].isdigit()


def internal_marker(sentence: Sentence) -> str | None:
    """The sentence without its "Internal:" marker, if it carries one, or whole if it says not to share it."""
    for marker in cues.INTERNAL_MARKERS if sentence.lower.startswith(cues.INTERNAL_MARKERS) else ():
        if sentence.lower.startswith(marker):
            return sentence.text[len(marker) :].strip(" :-–—") or None
    if _has_phrase(sentence, cues.INTERNAL_PHRASES):
        return sentence.text
    return None


def is_handoff(sentence: Sentence) -> bool:
    return any(t in cues.HANDOFF_WORDS for t in sentence.tokens) or _has_phrase(sentence, cues.HANDOFF_PHRASES)


def is_never(sentence: Sentence) -> bool:
    if sentence.lower.startswith(("n'oubliez", "no olvide", "vergessen sie nicht")):
        return False  # "don't forget to ..." asks for something
    if _lead(sentence.lower, cues.NEVER_LEADS) is not None:
        return True
    if not _has_phrase(sentence, cues.NEVER_PHRASES) and cues.NEVER_WORDS.isdisjoint(sentence.tokens):
        return False
    return _forbids_outside_relative_clauses(sentence)


_RELATIVE: Final = frozenset("that which who whom whose".split())
"""English relative pronouns: "Laptops that do not power on are replaced", "Customers who never received
their parcel get a refund" describe whom a rule is about; they forbid nothing."""


def _forbids_outside_relative_clauses(sentence: Sentence) -> bool:
    """Whether a negation cue of the sentence is not right after a relative pronoun (one pass over its words)."""
    tokens = sentence.tokens
    phrases = _by_first_word(cues.NEVER_PHRASES)
    for index, token in enumerate(tokens):
        if index and tokens[index - 1] in _RELATIVE:
            continue
        if token in cues.NEVER_WORDS:
            return True
        # Phrases are at most 4 words: only the next few words are joined, so the pass stays linear.
        window = f" {' '.join(tokens[index : index + 5])} "
        if any(window.startswith(phrase) for phrase in phrases.get(token, ())):
            return True
    return False


def is_must(sentence: Sentence) -> bool:
    return any(t in cues.MUST_WORDS for t in sentence.tokens) or _has_phrase(sentence, cues.MUST_PHRASES)


def _imperative_start(tokens: list[str]) -> bool:
    first = tokens[:2]
    return bool(first) and (
        first[0] in cues.IMPERATIVES or (len(first) == 2 and first[1] == "sie" and first[0].endswith("en"))
    )


def is_imperative(sentence: Sentence) -> bool:
    """Gives an order: "Offer a voucher ...", "Vérifiez ...", "Bieten Sie ...", or "When X, ask for ..."."""
    if _imperative_start(sentence.tokens):
        return True
    if sentence.tokens and sentence.tokens[0] in cues.CONDITION_WORDS:
        _, comma, rest = sentence.text.partition(",")
        return bool(comma) and _imperative_start(words(rest))
    return False


def is_step_lead(sentence: Sentence) -> bool:
    return _lead(sentence.lower, cues.STEP_LEADS) is not None


def is_tone(sentence: Sentence) -> bool:
    return any(t in cues.TONE_WORDS for t in sentence.tokens)


def classify(sentence: Sentence, section: SectionKind, *, listed: bool, numbered: bool, intro: bool) -> Kind:
    """The sentence's kind. `listed`: a list item or table row; `numbered`: a "1." item; `intro`: before any heading."""
    if not sentence.tokens or section == "metadata" or is_metadata(sentence):
        return "metadata"
    if section == "internal" or internal_marker(sentence) is not None:
        return "internal"
    if section == "examples":
        return "fact"  # worked examples and FAQs illustrate the rules; they are not rules or conditions
    never = _lead(sentence.lower, cues.NEVER_LEADS) is not None and not sentence.lower.startswith("no olvide")
    # Under an escalation heading, a list item or a sentence with a cue or an "if/when" is a condition;
    # "Human agents work from 06:00 to 23:00." is a statement about handoffs, not one.
    in_handoff_section = section == "handoff" and (listed or sentence.tokens[0] in cues.CONDITION_WORDS)
    if (in_handoff_section or is_handoff(sentence)) and not never:
        return "handoff"
    if section == "tone":
        return "tone"
    if section == "goals":
        return "goal"
    if section == "steps" or is_step_lead(sentence):
        return "never" if never else "step"
    if never:
        return "never"
    if sentence.tokens[0] in cues.MUST_WORDS:  # "Always quote ..., never from memory." is a must
        return "must"
    if is_never(sentence):
        return "never"
    if is_must(sentence):
        return "must"
    if numbered and is_imperative(sentence) and section != "rules":
        return "step"
    if is_imperative(sentence) or section == "rules" or listed:
        return "must"
    if is_tone(sentence) and len(sentence.tokens) <= 25:
        return "tone"
    if intro:
        return "goal"
    # A statement of policy under a topic heading ("Economy Standard includes one checked bag").
    return "fact"


__all__ = ["Kind", "Sentence", "SectionKind", "classify", "internal_marker", "section_kind"]
