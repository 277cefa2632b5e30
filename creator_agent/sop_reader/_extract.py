"""Pieces taken out of a classified sentence: a handoff condition, the fields to collect, the actions named.

Word-level scans over the sentence's tokens (linear), never patterns with nested quantifiers.
"""

from __future__ import annotations

import re
from typing import Final

from creator_agent import coverage
from creator_agent.handoff_conditions import split_joined
from creator_agent.sop_reader import _cues as cues
from creator_agent.sop_reader._classify import Sentence, is_imperative


def _first(tokens: list[str], wanted: frozenset[str]) -> int | None:
    for index, token in enumerate(tokens):
        if token in wanted:
            return index
    return None


def _handoff_index(tokens: list[str]) -> int | None:
    """Where the sentence first says "hand off" (a handoff word, or the word "human"/"person"/"menschen")."""
    for index, token in enumerate(tokens):
        if token in cues.HANDOFF_WORDS or token in ("hand", "human", "person", "humain", "humano", "menschen"):
            return index
    return None


def _after_words(text: str, count: int) -> str:
    """`text` from its `count`-th word on (words as `str.split` sees them)."""
    parts = text.split()
    return " ".join(parts[count:])


def handoff_conditions(sentence: Sentence) -> list[str]:
    """The sentence's conditions: one, or two when it joins them ("asks for a person, or if they sound upset")."""
    parts = [handoff_condition(sentence)]
    for joint in cues.CONDITION_SPLITS:
        split: list[str] = []
        for part in parts:
            lowered, start = part.casefold(), 0
            while (at := lowered.find(joint, start)) > 0:
                split.append(part[start:at])
                start = at + len(joint)
            split.append(part[start:])
        parts = split
    # "is very upset or says they will miss a connection": two clauses, two conditions.
    joined = [piece for part in parts for piece in split_joined(part)]
    return [part.strip(" ,") for part in joined if part.strip(" ,")]


def handoff_condition(sentence: Sentence) -> str:
    """The condition of a handoff sentence, in the SOP's words.

    "Transfer the call to a supervisor if the customer disputes a charge." -> "the customer disputes a charge";
    "If the customer mentions a lawyer, escalate." -> "the customer mentions a lawyer"; a sentence with
    no "if/when" ("Escalate chargebacks to the billing team.") is kept whole: the condition is all of it.
    """
    text = coverage.strip_handoff_lead(sentence.text.strip()).rstrip(".!;")
    if text != sentence.text.strip().rstrip(".!;"):
        return text
    tokens = text.split()
    if (named := _situation(text, tokens)) is not None:
        return named
    lowered = [t.casefold().strip(",;:()") for t in tokens]
    condition_at = _first(lowered, cues.CONDITION_WORDS)
    if condition_at is None:
        return text
    handoff_at = _handoff_index([t.strip("'") for t in lowered])
    if condition_at == 0:
        # "If X, or Y, transfer ...", "If X, tell them ... and hand off": the condition runs up to the
        # handoff verb or to the comma before an order, whichever comes first.
        verb_at = next(
            (
                i
                for i, t in enumerate(lowered)
                if i
                and (
                    t in cues.HANDOFF_VERBS
                    or (tokens[i - 1].endswith(",") and (t in cues.IMPERATIVES or _forbids(lowered, i)))
                )
            ),
            None,
        )
        clause = " ".join(tokens[1:verb_at]) if verb_at is not None else _after_words(text, 1)
        return clause.rstrip(" ,;—–-") or text
    if handoff_at is not None and handoff_at < condition_at:
        return _after_words(text, condition_at + 1) or text
    return text


_PROHIBITION_STARTS: Final = frozenset("never don't ne nunca jamás nie niemals".split())


def _forbids(lowered: list[str], index: int) -> bool:
    """A prohibition starts at `index` ("never confirm", "do not give"): an order, like an imperative."""
    word = lowered[index]
    following = lowered[index + 1] if index + 1 < len(lowered) else ""
    return word in _PROHIBITION_STARTS or (word == "do" and following == "not") or (word == "no" and index > 1)


SITUATION_MAX_WORDS = 6


def _situation(text: str, tokens: list[str]) -> str | None:
    """ "Bei Gasgeruch muss der Kunde ...; leiten Sie ... weiter" -> "Bei Gasgeruch"; "In case of a gas leak,
    transfer ..." -> "In case of a gas leak": the lead and the situation it names, up to the comma (or, in
    German, whose verb follows the situation, up to its capitalised noun). None when the sentence does not
    start with a situation lead or names no short one."""
    lowered = text.casefold()
    lead = next((lead for lead in cues.SITUATION_LEADS if lowered.startswith(lead)), None)
    if lead is None or not (lead.endswith("'") or lowered[len(lead) : len(lead) + 1] == " "):
        return None
    lead_words = len(lead.split()) - (1 if lead.endswith("'") else 0)
    for index in range(lead_words, min(len(tokens), lead_words + SITUATION_MAX_WORDS)):
        word = tokens[index]
        if word.endswith((",", ";", ":")):
            return " ".join(tokens[: index + 1]).rstrip(",;:")
        if lead == "bei" and word[:1].isupper():
            return " ".join(tokens[: index + 1])
    return None


def with_antecedent(sentence: Sentence, condition: str, previous: Sentence | None) -> str:
    """`condition`, led by the sentence before when the handoff sentence has no "if/when" of its own, gives
    an order and points back at it ("... a repair that went wrong. Apologise, note what happened and hand
    the conversation to a human"): the situation is in the sentence before, and the model needs it to judge."""
    if previous is None or condition != sentence.text.strip().rstrip(".!;"):
        return condition
    if not is_imperative(sentence) or not cues.ANAPHORS.intersection(sentence.tokens):
        return condition
    return f"{previous.text.strip()} {condition}"


def situation(sentence: Sentence) -> str | None:
    """The situation a handoff sentence starts by naming ("Bei Gasgeruch"), if it does."""
    text = sentence.text.strip()
    return _situation(text, text.split())


def actions(sentence: Sentence, language: str = "en") -> list[str]:
    """Back-office actions the sentence names: an action verb and its object within a few words ("issue a refund").

    The object follows the verb, except in German, where the verb comes last ("die Buchung stornieren");
    a verb after a determiner is a noun ("a refund", "a plan change"), not an action.
    """
    tokens = sentence.tokens
    found: list[str] = []
    for index, token in enumerate(tokens):
        if token not in cues.ACTION_VERBS or (index and tokens[index - 1] in cues.COLLECT_DETERMINERS):
            continue
        low = max(0, index - cues.ACTION_WINDOW) if language == "de" else index + 1
        high = min(len(tokens), index + cues.ACTION_WINDOW + 1)
        objects = [j for j in range(low, high) if j != index and tokens[j] in cues.ACTION_OBJECTS]
        if objects:
            nearest = min(objects, key=lambda j: abs(j - index))
            start, end = min(index, nearest), max(index, nearest)
            # "change the delivery address": up to two more object nouns.
            limit = end + 2 if nearest > index else end
            while end < limit and end + 1 < len(tokens) and tokens[end + 1] in cues.ACTION_OBJECTS:
                end += 1
            found.append(" ".join(tokens[start : end + 1]))
    return found


_CLAUSE = re.compile(r"[,;:()\[\]]")
_COLLECT_BY_FIRST: dict[str, list[list[str]]] = {}
for _phrase in cues.COLLECT_VERBS:
    _COLLECT_BY_FIRST.setdefault(_phrase.split()[0], []).append(_phrase.split())


def fields(sentence: Sentence) -> list[str]:
    """What the sentence says to ask the customer for: "ask for the booking reference" -> "booking reference".

    Read clause by clause (a comma or a parenthesis ends the field: "account number (8 digits)").
    """
    found: list[str] = []
    for clause in _CLAUSE.split(sentence.text):
        tokens = Sentence(clause).tokens
        for index, token in enumerate(tokens):
            for phrase in _COLLECT_BY_FIRST.get(token, ()):
                if tokens[index : index + len(phrase)] == phrase:
                    found.extend(_objects(tokens, index + len(phrase)))
    return found


_ASKED = frozenset(
    "customer caller them passenger patient client cliente paciente kunden kunde for au al sie always "
    "toujours siempre immer also aussi también auch".split()
)


AND_WINDOW = 4
"""How far after a field "and the ..." may start the next one ("digits of the card and the date of birth")."""


def _objects(tokens: list[str], start: int) -> list[str]:
    """Every field of "ask for the order number and the email address"."""
    found: list[str] = []
    while (what := _object(tokens, start)) is not None:
        found.append(what[0])
        # "the last four digits of the card and the customer's date of birth": a second field after "and the".
        joint = next(
            (
                j
                for j in range(what[1], min(what[1] + AND_WINDOW, len(tokens) - 1))
                if tokens[j] in cues.COLLECT_AND and tokens[j + 1] in cues.COLLECT_DETERMINERS
            ),
            None,
        )
        if joint is None:
            break
        start = joint + 1
    return found


def _object(tokens: list[str], start: int) -> tuple[str, int] | None:
    """The noun phrase after a collect verb: skip who is asked and a determiner, keep up to a few content words."""
    index = start
    for _ in range(3):  # "the customer for their", "au client le"
        if index < len(tokens) and tokens[index] in _ASKED:
            index += 1
    if index >= len(tokens) or tokens[index] not in cues.COLLECT_DETERMINERS:
        return None
    index += 1
    while index < len(tokens) and tokens[index] in cues.COLLECT_DETERMINERS:
        index += 1
    kept: list[str] = []
    while index < len(tokens) and len(kept) < cues.COLLECT_MAX_WORDS:
        token = tokens[index]
        if token in cues.COLLECT_STOP or (not kept and token in cues.COLLECT_CONNECTORS):
            break
        kept.append(token)
        index += 1
    while kept and kept[-1] in cues.COLLECT_CONNECTORS | cues.COLLECT_DETERMINERS:
        kept.pop()
    if not kept or all(t in cues.COLLECT_CONNECTORS for t in kept):
        return None
    return " ".join(kept), index


__all__ = ["actions", "fields", "handoff_condition", "handoff_conditions", "situation", "with_antecedent"]
