"""The confirmation gate: a write action runs only after the customer explicitly says yes to it.

Why in code and not in the prompt: a model can be talked into "the customer already agreed", and a
refund or a cancellation cannot be taken back. So the engine holds a write tool call the model makes
(`Gate.propose`: nothing runs, the customer is told in code what will happen, `render_statement`),
reads the customer's next message before any model sees it (`Gate.customer_said`, with
`is_confirmation`), and runs exactly the held arguments only on an explicit yes. The text engine,
the creator's simulations and Nova Sonic (`Gate.may_run`: the model must call the tool again with
the same arguments after the caller said yes) share this one piece of plain code.

`is_confirmation` is deliberately conservative: the message must be made only of known yes-words
(or only of no-words) and politeness, in the plan's language or English. "yes but change the date",
"yes?", "no thanks, yes", "yes 42" are all OTHER: the action is dropped, never run. It is linear
in the message (one regex pass, a bounded phrase lookup per word) and reads at most
`CONFIRM_TEXT_MAX` characters.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from oratio.languages import messages
from schemas import HttpTool, McpServerTool, McpToolSnapshot, PendingAction


class Verdict(StrEnum):
    CONFIRM = "confirm"
    DECLINE = "decline"
    OTHER = "other"


CONFIRM_TEXT_MAX: Final = 120
"""A longer message says something more than yes or no: OTHER, whatever it contains."""
CONFIRM_WORDS_MAX: Final = 12
STATEMENT_MAX: Final = 500
"""A statement fits the reply's reserved ending (`oratio.runtime.reply.ENDING_MAX`)."""
ACTION_CHARS_MAX: Final = 160
VALUE_CHARS_MAX: Final = 200
ARGUMENTS_SHOWN_MAX: Final = 8
MASK: Final = "[hidden]"

_TOKEN = re.compile(r"[\w']+")
_FOREIGN = re.compile(r"[^\w\s.,!;:'\u2019\-]")
"""Anything but words, spaces and plain punctuation (a question mark, an emoji, a zero-width or control
character) makes a message OTHER: nothing hidden can ride along with a yes."""
_PHRASE_WORDS_MAX: Final = 4


def _phrases(text: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(item.split()) for item in text.split(",") if item.strip())


# Phrases are written tokenized: lower case, hyphens as spaces, one apostrophe kept inside a word.
_AFFIRM: Final[dict[str, frozenset[tuple[str, ...]]]] = {
    "en": _phrases(
        "yes, yeah, yep, yup, sure, ok, okay, go ahead, yes go ahead, confirm, confirmed, i confirm, correct,"
        "that's correct, that's right, that is right, do it, please do, proceed, please proceed, absolutely,"
        "definitely, of course, sounds good, alright, all right, yes do it, go for it"
    ),
    "fr": _phrases(
        "oui, ouais, d'accord, ok, okay, allez y, vas y, je confirme, confirme, confirmé, c'est bon, parfait,"
        "bien sûr, tout à fait, exactement, volontiers, c'est ça, entendu, oui allez y"
    ),
    "es": _phrases(
        "sí, si, vale, de acuerdo, claro, claro que sí, confirmo, lo confirmo, adelante, hágalo, hazlo, correcto,"
        "perfecto, por supuesto, ok, okay, exacto, sí adelante"
    ),
    "de": _phrases(
        "ja, jawohl, genau, in ordnung, ok, okay, bestätige, ich bestätige, bestätigt, machen sie das, mach das,"
        "einverstanden, passt, gerne, richtig, klar, na klar, ja genau, ja bitte, los"
    ),
}
_DECLINE: Final[dict[str, frozenset[tuple[str, ...]]]] = {
    "en": _phrases(
        "no, nope, nah, no way, not now, never mind, don't, do not, don't do it, do not do it, no don't,"
        "i don't want that, please don't, no thank you, no thanks"
    ),
    "fr": _phrases("non, non merci, surtout pas, pas maintenant, ne le faites pas, laissez tomber, non non"),
    "es": _phrases("no, no gracias, no lo haga, ahora no, mejor no, no no, déjelo"),
    "de": _phrases("nein, nein danke, lieber nicht, nicht jetzt, bitte nicht, machen sie das nicht, nee, nö"),
}
_FILLER: Final[dict[str, frozenset[tuple[str, ...]]]] = {
    "en": _phrases("please, thanks, thank you, thank you very much, thanks a lot, oh, well, then, great"),
    "fr": _phrases("merci, merci beaucoup, s'il vous plaît, s'il vous plait, s'il te plaît, alors, bon"),
    "es": _phrases("por favor, gracias, muchas gracias, pues, bueno"),
    "de": _phrases("bitte, danke, danke schön, vielen dank, gern, also, dann"),
}
_NEGATIONS: Final = frozenset(
    "no not nope nah never don't cannot can't won't non pas ne jamais rien nunca jamás tampoco nada "
    "nein nicht nie niemals kein keine keinen keinem keiner nee nö".split()
)
"""Any of these anywhere, in any of the four languages, and the message is not a confirmation."""


def _tokens(text: str) -> list[str]:
    folded = text.casefold().replace("\u2019", "'").replace("-", " ")
    return [token.strip("'") for token in _TOKEN.findall(folded) if token.strip("'")]


def _negated(token: str) -> bool:
    return token in _NEGATIONS or token.endswith("n't") or token.startswith("n'")


def is_confirmation(text: str, language: str) -> Verdict:
    """Whether `text` explicitly confirms (CONFIRM), explicitly declines (DECLINE), or neither (OTHER).

    Only the plan's `language` and English count. A question mark or any character but letters, digits,
    spaces and plain punctuation, a digit, a word outside the yes/no and politeness lists, or a yes
    together with a negation make it OTHER.
    """
    if len(text) > CONFIRM_TEXT_MAX:
        return Verdict.OTHER
    # Composed form (NFC) only: a keyboard or a speech engine that sends "sí" as s, i, U+0301 still means
    # sí. Not NFKC: look-alikes (fullwidth, mathematical letters) stay words outside the lists.
    text = unicodedata.normalize("NFC", text)
    if _FOREIGN.search(text) is not None:
        return Verdict.OTHER
    tokens = _tokens(text)
    if not tokens or len(tokens) > CONFIRM_WORDS_MAX:
        return Verdict.OTHER
    languages = dict.fromkeys((language, "en"))
    affirm = frozenset().union(*(_AFFIRM.get(code, frozenset()) for code in languages))
    decline = frozenset().union(*(_DECLINE.get(code, frozenset()) for code in languages))
    filler = frozenset().union(*(_FILLER.get(code, frozenset()) for code in languages))
    said_yes = said_no = False
    at = 0
    while at < len(tokens):
        for size in range(min(_PHRASE_WORDS_MAX, len(tokens) - at), 0, -1):
            phrase = tuple(tokens[at : at + size])
            if phrase in affirm:
                said_yes = True
            elif phrase in decline:
                said_no = True
            elif phrase not in filler:
                continue
            at += size
            break
        else:
            return Verdict.OTHER  # a word of substance: not a plain yes or no
    negated = any(_negated(token) for token in tokens)
    if said_no and not said_yes:
        return Verdict.DECLINE
    if said_yes and not said_no and not negated:
        return Verdict.CONFIRM
    return Verdict.OTHER


# -- the statement ---------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SENTENCE_END = re.compile(r"[.!?\n]")


def argument_words(name: str) -> str:
    """`order_id` / `orderId` -> "order id"."""
    return " ".join(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").split()).lower()


def _action(tool: HttpTool | McpToolSnapshot, language: str) -> str:
    match = _SENTENCE_END.search(tool.description)
    first = " ".join((tool.description[: match.start()] if match else tool.description).split())
    if not first:
        first = argument_words(tool.tool if isinstance(tool, McpToolSnapshot) else tool.name)
    elif language != "de" and not first[:2].isupper():  # German nouns keep their capital; "API" keeps its
        first = first[0].lower() + first[1:]
    return first[:ACTION_CHARS_MAX].rstrip()


def _value(value: Any) -> str:
    shown = _shown(value)
    return shown if len(shown) <= VALUE_CHARS_MAX else shown[: VALUE_CHARS_MAX - 1] + "…"


def _shown(value: Any) -> str:
    """A value as the statement says it, before any cut (`unstatable` refuses a write whose value would be cut)."""
    if isinstance(value, str):
        shown = " ".join(value.split())
    elif isinstance(value, bool) or value is None:
        shown = json.dumps(value)
    elif isinstance(value, int | float):
        shown = str(value)
    elif isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        shown = ", ".join(str(item) for item in value)
    else:
        shown = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return shown


def sensitive_names(tool: HttpTool | McpToolSnapshot) -> frozenset[str]:
    return frozenset(tool.sensitive_arguments) if isinstance(tool, HttpTool) else frozenset()


def render_statement(tool: HttpTool | McpToolSnapshot, arguments: Mapping[str, Any], language: str) -> str:
    """What the customer is told will happen, in the plan's language, rendered from the tool and arguments.

    "To confirm: I will cancel an order with order id A123 and reason damaged. Shall I go ahead? Please
    answer yes or no." Arguments follow the schema's property order (then the rest, sorted); sensitive
    ones are masked; at most ARGUMENTS_SHOWN_MAX are shown and the whole is at most STATEMENT_MAX.
    """
    lines = messages(language)
    properties = tool.parameters.get("properties")
    order = [name for name in properties if name in arguments] if isinstance(properties, dict) else []
    order += sorted(name for name in arguments if name not in set(order))
    hidden = sensitive_names(tool)
    parts = [
        f"{argument_words(name)} {MASK if name in hidden else _value(arguments[name])}"
        for name in order[:ARGUMENTS_SHOWN_MAX]
    ]
    if len(order) > ARGUMENTS_SHOWN_MAX:
        parts.append(f"{len(order) - ARGUMENTS_SHOWN_MAX} …")
    details = ""
    if parts:
        joined = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} {lines.confirm_and} {parts[-1]}"
        details = f" {lines.confirm_with} {joined}"
    intro = lines.confirm_intro.format(action=_action(tool, language), details=details)
    room = STATEMENT_MAX - len(lines.confirm_question) - 1
    if len(intro) > room:
        intro = intro[: room - 1] + "…"
    return f"{intro} {lines.confirm_question}"


def unstatable(tool: HttpTool | McpToolSnapshot, arguments: Mapping[str, Any], language: str) -> str | None:
    """Why the statement could not show the customer every argument of this write (None when it can).

    The customer confirms what they were told. A call with more than ARGUMENTS_SHOWN_MAX arguments, or
    whose statement would be cut at STATEMENT_MAX, would run with arguments the customer never heard
    (a model could put `"refund_to": "..."` ninth); such a call is never held: the model is told why.
    """
    if len(arguments) > ARGUMENTS_SHOWN_MAX:
        return (
            f"a write action is stated to the customer with every argument: pass at most {ARGUMENTS_SHOWN_MAX} "
            "(leave out optional ones)"
        )
    hidden = sensitive_names(tool)
    if any(len(_shown(value)) > VALUE_CHARS_MAX for name, value in arguments.items() if name not in hidden):
        return (
            "each argument of a write action is stated to the customer in full: "
            f"keep each under {VALUE_CHARS_MAX} characters"
        )
    if render_statement(tool, arguments, language).find("… " + messages(language).confirm_question) >= 0:
        return "the arguments are too long to state to the customer; shorten them"
    return None


# -- the gate --------------------------------------------------------------------------------------


def tool_digest(tool: HttpTool | McpToolSnapshot, server: McpServerTool | None = None) -> str:
    """sha256 of what a call to `tool` would do (its definition, and its MCP server's), for `PendingAction`.

    A yes answers the statement the customer heard about the tool as it was; if the admin changed the
    tool meanwhile (its URL, schema, write flag, server), the held call must not run under the new one.
    """
    parts = [tool.model_dump_json()]
    if server is not None:
        parts.append(server.model_dump_json())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def same_arguments(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as JSON (key order does not matter)."""
    return canonical(a) == canonical(b)


def canonical(arguments: Mapping[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class Gate:
    """One session's confirmation state, the rules of the gate as plain code.

    `pending` is what the session stores (`Session.pending_action`); `approved` is a held action the
    customer has just confirmed, which runs at most once (`take_approved`). Not thread-safe: one turn
    (or one voice call) owns its gate.
    """

    pending: PendingAction | None = None
    approved: PendingAction | None = None
    settled: PendingAction | None = field(default=None)
    """The held action the customer's last message settled (confirmed, declined or dropped)."""

    def propose(
        self,
        tool: HttpTool | McpToolSnapshot,
        call_id: str,
        arguments: Mapping[str, Any],
        language: str,
        turn_seq: int,
        server: McpServerTool | None = None,
    ) -> PendingAction:
        """Rule 1: hold a write call (nothing runs) and say in code what would happen."""
        action = PendingAction(
            call_id=call_id[:64],
            tool=tool.name,
            arguments=dict(arguments),
            statement=render_statement(tool, arguments, language),
            proposed_in_turn=turn_seq,
            tool_digest=tool_digest(tool, server),
        )
        self.pending = action
        self.approved = None  # a new proposal supersedes what the customer confirmed before it
        return action

    def customer_said(self, text: str, language: str) -> Verdict:
        """Rule 2: the customer's next message settles the held action, whatever it says.

        CONFIRM moves it to `approved` (run it now); DECLINE and OTHER drop it. With nothing held,
        OTHER. Either way an earlier confirmation not yet acted on lapses: a yes counts for the message after
        the statement only.
        """
        self.approved = None
        if self.pending is None:
            return Verdict.OTHER
        verdict = is_confirmation(text, language)
        self.settled, self.pending = self.pending, None
        self.approved = self.settled if verdict is Verdict.CONFIRM else None
        return verdict

    def may_run(self, tool: str, arguments: Mapping[str, Any]) -> bool:
        """Rule 4: the call equals the action the customer confirmed (tool and arguments)."""
        approved = self.approved
        return approved is not None and approved.tool == tool and same_arguments(approved.arguments, arguments)

    def take_approved(self, tool: str, arguments: Mapping[str, Any]) -> PendingAction | None:
        """The confirmed action, once: a second identical call gets None (it must not run twice)."""
        if not self.may_run(tool, arguments):
            return None
        approved, self.approved = self.approved, None
        return approved


__all__ = [
    "Gate",
    "Verdict",
    "argument_words",
    "canonical",
    "is_confirmation",
    "render_statement",
    "same_arguments",
    "tool_digest",
    "unstatable",
]
