"""Free-text arguments the customer states: "My order number is NW-10422." fills `order_number`.

The offline demo model (`demo_actions`) never guesses free text, but a customer who names an
argument and gives its value has not left anything to guess. So a string argument with no
`pattern` and no `enum` is read only in that shape: its label (the property name in words, its
`title`, or the first noun phrase of its `description`), then "is", ":", "=" or "it's", then the
value, all in one sentence. The value is one token-like span (letters, digits and - _ . @ / #),
or, for an address, a name or a reason, the rest of the clause up to the sentence's end (at most
`CLAUSE_MAX` characters). A mere mention ("what is my order number?", "my order number is wrong")
fills nothing, and nor does a span another argument already took.

Schemas are the tenant's and messages the customer's, so this is plain string scanning: each label
is found with `str.find`, and each value read is bounded, so the work is linear in the message.
"""

from __future__ import annotations

import re
from typing import Any, Final

CLAUSE_MAX: Final = 200
"""The longest free-text value (an address, a name, a reason) read from one clause."""
LABEL_WORDS_MAX: Final = 4
LABELS_MAX: Final = 4

_FREE_TEXT_WORDS: Final = frozenset({"address", "name", "reason"})
_TOKEN_EXTRA: Final = frozenset("-_.@/#")
_TRAILING: Final = ".-_/#,;:!?)\"'"
_CONNECTORS: Final = (":", "=", "is", "it's", "it\u2019s", "it is")
_SENTENCE_END: Final = frozenset(".!?\n;")
_DETERMINERS: Final = frozenset({"the", "a", "an", "your", "my", "their", "our", "its", "customer's", "user's"})
_PHRASE_BREAKS: Final = frozenset(
    {"of", "to", "for", "that", "which", "as", "in", "on", "at", "with", "from", "by", "e.g", "eg", "used", "is", "or"}
)
_NOT_VALUES: Final = frozenset(
    {
        "a", "an", "the", "not", "no", "none", "missing", "wrong", "invalid", "incorrect", "correct", "right",
        "unknown", "lost", "above", "below", "attached", "here", "there", "same", "different", "still", "also",
        "now", "just", "what", "that", "this", "it", "my", "your", "empty", "broken", "fine", "ok", "okay",
        "changed", "new", "old", "gone", "too", "very", "so", "in", "on", "at", "under", "and", "but",
        "something", "nothing", "blank", "mine", "yours", "fake", "real", "valid", "listed", "shown",
    }
)  # fmt: skip
_VAGUE: Final = frozenset({"it", "this", "that", "these", "those", "value", "one", "thing", "must", "be", "should"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold()[:CLAUSE_MAX])


def _noun_phrase(description: str) -> str:
    """The first noun phrase of a description: its leading words, less determiners, up to a break word."""
    clause = re.split(r"[,.;:()\n]", description[:CLAUSE_MAX], maxsplit=1)[0]
    words = _words(clause)
    while words and words[0] in _DETERMINERS:
        words.pop(0)
    phrase: list[str] = []
    for word in words:
        if word in _PHRASE_BREAKS or len(phrase) == LABEL_WORDS_MAX:
            break
        phrase.append(word)
    return " ".join(phrase)


def _name_words(name: str) -> list[str]:
    """A property name in words: "order_number", "order-number" and "orderNumber" are "order number"."""
    return _words(_CAMEL.sub(" ", name[:CLAUSE_MAX]).replace("_", " ").replace("-", " "))


def labels(name: str, prop: dict[str, Any]) -> list[str]:
    """How a customer may name the argument, most specific first: "order number", "email", ...

    A label of pronouns and fillers only ("it", from a description "It is ...") names nothing.
    """
    found = [" ".join(_name_words(name))]
    first, _, rest = found[0].partition(" ")
    if first in {"customer", "user", "caller", "client"} and rest:
        found.append(rest)  # "customer_email" is "my email"
    for key in ("title", "description"):
        text = prop.get(key)
        if isinstance(text, str):
            found.append(" ".join(_words(text)[:LABEL_WORDS_MAX]) if key == "title" else _noun_phrase(text))
    unique = [label for label in dict.fromkeys(found) if set(label.split()) - _VAGUE]
    return sorted(unique, key=len, reverse=True)[:LABELS_MAX]


def _free_text(name: str, prop: dict[str, Any]) -> bool:
    said = set(_name_words(name))
    for label in labels(name, prop):
        said.update(label.split())
    return bool(said & _FREE_TEXT_WORDS) and "email" not in said


def _after_connector(text: str, at: int) -> int | None:
    """Where the value starts after the label ending at `at`: past spaces, a connector and spaces."""
    i = at
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == ",":  # "order number, it's NW-1"
        i += 1
        while i < len(text) and text[i] in " \t":
            i += 1
    rest = text[i : i + 6].casefold()
    for connector in _CONNECTORS:
        if rest.startswith(connector):
            end = i + len(connector)
            if connector[-1].isalpha() and end < len(text) and text[end].isalnum():
                continue  # "island" is not "is"
            if end < len(text) and text[end] == ":":  # "is: NW-1"
                end += 1
            while end < len(text) and text[end] in " \t":
                end += 1
            return end
    return None


def _token(text: str, start: int) -> tuple[str, int]:
    end = start
    while end < len(text) and end - start < CLAUSE_MAX and (text[end].isalnum() or text[end] in _TOKEN_EXTRA):
        end += 1
    value = text[start:end].rstrip(_TRAILING)
    return value, start + len(value)


def _clause(text: str, start: int) -> tuple[str, int]:
    end = start
    limit = min(len(text), start + CLAUSE_MAX)
    while end < limit:
        char = text[end]
        if char in _SENTENCE_END and (char not in ".!?" or end + 1 == len(text) or text[end + 1].isspace()):
            break
        end += 1
    if end == limit < len(text) and " " in text[start:end]:
        end = text.rindex(" ", start, end)  # cut at a word, not inside one
    value = text[start:end].rstrip(" \t" + _TRAILING)
    return value, start + len(value)


def _plausible(value: str, email: bool) -> bool:
    """A stated value, not a comment on one: "NW-1", not "wrong" or "not here"; an email has an @."""
    first = value.split()[:1]
    return bool(first) and first[0].casefold().rstrip(_TRAILING) not in _NOT_VALUES and (not email or "@" in value)


def _id_like(value: str) -> bool:
    return any(char.isdigit() or char.isupper() or char in "@#/_-" for char in value)


def by_label(name: str, prop: dict[str, Any], text: str, taken: list[tuple[int, int]]) -> str | None:
    """The value the customer states for a free-text string argument, or None; its span joins `taken`.

    A single-token value that looks like an identifier (a digit, a capital, @ # / _ -) wins over a
    plain word stated earlier: a customer who repeats the tool's description ("order number: status,
    items...") and then says "My order number is NW-10422" means NW-10422.
    """
    folded = text.casefold()
    if len(folded) != len(text):
        return None  # a casefold that changes lengths (ß -> ss) would shift every index; nothing is read
    free, email = _free_text(name, prop), prop.get("format") == "email"
    found: list[tuple[str, int, int]] = []
    names = labels(name, prop)
    label_words = {word for label in names for word in label.split()}
    for label in names:
        at = folded.find(label)
        while at >= 0:
            end = at + len(label)
            bounded = (at == 0 or not folded[at - 1].isalnum()) and (end == len(text) or not folded[end].isalnum())
            start = _after_connector(text, end) if bounded else None
            if start is not None and start < len(text):
                value, stop = (_clause if free else _token)(text, start)
                restated = value.split()[0].casefold() in label_words if value else False  # "order number: order"
                if not restated and _plausible(value, email) and not any(s < stop and start < e for s, e in taken):
                    found.append((value, start, stop))
                    if free or _id_like(value):
                        break  # the first clause, or the first identifier, is the answer: no more scanning
            at = folded.find(label, end)
    if not found:
        return None
    value, start, stop = next((item for item in found if free or _id_like(item[0])), found[0])
    taken.append((start, stop))
    return value


__all__ = ["CLAUSE_MAX", "by_label", "labels"]
