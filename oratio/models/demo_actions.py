"""The offline demo model acting: pick an admin's tool from the customer's words, fill its arguments, report.

With no language model at all, an agent given tools (`AgentPlan.actions`, MCP tools) should still
show what acting looks like, so the demo model:

- picks the offered tool whose name and description share the most words with the customer's
  message, and only when the overlap is real: a word of the tool's name, or two of its description
  (`pick_tool`); the built-in catalog (knowledge search, handoff, ...) is left to the other rules;
- fills the arguments from the message by the tool's JSON Schema (`fill_arguments`): a string with a
  `pattern` takes the first match in the message (RE2: the pattern is the tenant's, the message the
  customer's), an `enum` the value the message names, a number or integer the number it holds;
  a required argument it cannot find is asked for instead of calling, and the answer to that
  question is read together with the message that asked; a string with neither is read only where
  the customer names it and states it ("my order number is NW-10422", "email: x@y.z"), see
  `oratio.models.demo_labels`;
- reports the tool's answer in a plain sentence (`report`): the answer's own message, or its fields,
  or the error ("I'm sorry, I was unable to do that: <the service's reason>", worded so the creator's
  simulations recognise a refusal); a write action held for confirmation (`awaiting_confirmation`)
  adds nothing, because the engine appends the statement the customer confirms.

Everything here reads tenant and customer text, so it is linear in it: word scans, and RE2 for patterns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from oratio.models.demo_labels import by_label
from oratio.models.scripted import CallTool, Prompt, Say, Step
from oratio.tenant_patterns import PatternError, compile_on_re2, contains_phrase
from schemas.tools import RESERVED_TOOL_NAMES

TEXT_MAX: Final = 4_000
"""How much of the customer's message is read for a tool and its arguments."""
ANSWER_CHARS: Final = 300
FIELDS_SHOWN: Final = 8

ASK_OPENING = "I can help with that ("
DECLINED = "All right, I have not done anything. Is there anything else I can help with?"
CONFIRM_QUESTION = "Shall I go ahead?"
"""The closing question of the engine's confirmation statement (the contract's rule 1)."""

_WORD = re.compile(r"[^\W\d_]{4,}")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUESTION_OPENERS = frozenset({"what", "whats", "how", "when", "why", "which", "who", "can", "could", "do", "does"})
_DECLINES = ("no", "nope", "no thanks", "no thank you", "don't", "do not", "cancel that", "non", "nein")
_STOP = frozenset(
    {
        "about", "also", "have", "from", "hello", "just", "like", "need", "please", "that", "than", "thank",
        "thanks", "them", "then", "there", "they", "this", "want", "were", "will", "with", "would", "could",
        "your", "their", "what", "when", "which", "into", "been", "being", "does", "some", "tool", "tools",
    }
)  # fmt: skip


def head(text: str) -> str:
    """The first `TEXT_MAX` characters, cut at a space when longer: a value is read whole or not at all.

    A hard cut could end inside "NW-10422" and call the tool with "NW-1"; a message of more than
    `TEXT_MAX` characters with no space at all states nothing readable and gives "".
    """
    if len(text) <= TEXT_MAX:
        return text
    cut = max(text.rfind(" ", 0, TEXT_MAX + 1), text.rfind("\n", 0, TEXT_MAX + 1))
    return text[:cut] if cut > 0 else ""


def _stems(text: str) -> set[str]:
    """The first five letters of each word of four or more letters, minus common filler words."""
    return {word[:5] for word in _WORD.findall(text.casefold()) if word not in _STOP}


def _words(name: str) -> str:
    return name.replace("_", " ").replace("-", " ")


@dataclass(frozen=True)
class Choice:
    """The tool picked for a message, with what could be filled and what is still missing."""

    tool: str
    arguments: dict[str, Any]
    missing: list[str]


def action_tools(prompt: Prompt) -> list[str]:
    """The offered tools that are an admin's (not the built-in catalog), in the order offered."""
    return [name for name in prompt.tool_names if name not in RESERVED_TOOL_NAMES]


def pick_tool(text: str, tools: dict[str, str], schemas: dict[str, dict[str, Any]] | None = None) -> str | None:
    """The tool (name -> description) the message is about, or None when no overlap is real or two tie.

    Each shared word counts once, twice when it is in the tool's name, divided by how many of the
    tools use it: "order" in three tools' names says less than "return" in one. A value the message
    holds for a tool's arguments (an order id its `pattern` finds) counts as one shared word. Real
    means a word of the name, or two signals from the description and the values.
    """
    text = head(text)
    said = _stems(text)
    named = {name: _stems(_words(name)) for name in tools}
    described = {name: _stems(description) - named[name] for name, description in tools.items()}
    spread = {stem: sum(stem in named[n] or stem in described[n] for n in tools) for stem in said}
    valued = {name for name in tools if fill_arguments((schemas or {}).get(name, {}), text)[0]}
    scored: list[tuple[float, str]] = []
    for name in tools:
        by_name, by_description = named[name] & said, described[name] & said
        if by_name or len(by_description) + (name in valued) >= 2:
            score = sum(2 / spread[stem] for stem in by_name) + sum(1 / spread[stem] for stem in by_description)
            scored.append((score + (1 / len(valued) if name in valued else 0), name))
    scored.sort(reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] - scored[1][0] < 1e-9):
        return None
    return scored[0][1]


@lru_cache(maxsize=256)
def _case_sensitive(pattern: str) -> Any:
    return compile_on_re2(pattern, case_sensitive=True)


@lru_cache(maxsize=256)
def _search_pattern(pattern: str) -> Any:
    """`pattern` without its anchors, case-insensitive: finds candidates inside a sentence."""
    core = pattern.removeprefix("^").removeprefix("\\A")
    if core.endswith("$") and not core.endswith("\\$"):
        core = core[:-1]
    core = core.removesuffix("\\z")
    return compile_on_re2(core, case_sensitive=False)


def _fits_length(value: str, prop: dict[str, Any]) -> bool:
    low, high = prop.get("minLength", 0), prop.get("maxLength")
    return (not isinstance(low, int) or len(value) >= low) and (not isinstance(high, int) or len(value) <= high)


def _by_pattern(pattern: str, prop: dict[str, Any], text: str, taken: list[tuple[int, int]]) -> str | None:
    """The first whole-word match of the pattern in the text (its case fixed to what the pattern accepts)."""
    try:
        finder, check = _search_pattern(pattern), _case_sensitive(pattern)
    except PatternError:
        return None  # a pattern RE2 refuses is never run; the argument is asked for instead
    for match in finder.finditer(text):
        start, end = match.start(), match.end()
        found = str(match.group())
        if not found or (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
            continue
        for candidate in dict.fromkeys((found, found.upper(), found.lower())):
            if check.search(candidate) is not None and _fits_length(candidate, prop):
                taken.append((start, end))
                return candidate
    return None


def _by_enum(values: list[Any], text: str) -> Any:
    """The enum value the message names (underscores and dashes read as spaces), earliest named first."""
    folded = text.casefold()
    named = [
        (folded.find(variant.casefold()), value)
        for value in values
        if isinstance(value, str | int | float) and not isinstance(value, bool)
        for variant in dict.fromkeys((str(value), _words(str(value))))
        if contains_phrase(folded, variant, folded=False)
    ]
    return min(named, key=lambda pair: pair[0])[1] if named else None


def _by_number(prop: dict[str, Any], integer: bool, text: str, taken: list[tuple[int, int]]) -> int | float | None:
    for match in _NUMBER.finditer(text):
        if any(start < match.end() and match.start() < end for start, end in taken):
            continue
        raw = match.group()
        if integer and "." in raw:
            continue
        value: int | float = int(raw) if integer else float(raw)
        low, high = prop.get("minimum"), prop.get("maximum")
        if (isinstance(low, int | float) and value < low) or (isinstance(high, int | float) and value > high):
            continue
        taken.append((match.start(), match.end()))
        return value
    return None


def _types(prop: dict[str, Any]) -> set[str]:
    kind = prop.get("type")
    if isinstance(kind, str):
        return {kind}
    return {k for k in kind if isinstance(k, str)} if isinstance(kind, list) else set()


def fill_arguments(schema: dict[str, Any], text: str) -> tuple[dict[str, Any], list[str]]:
    """The arguments the message gives by the schema, and the labels of the required ones it does not.

    Patterns and enums are read first, so a number inside an order id is not taken as a quantity.
    A free-text string (no pattern, no enum) is never guessed: it is read only where the customer
    names it and states its value (`by_label`), outside the spans other arguments took; if required
    and not stated, it is asked for.
    """
    text = head(text)
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    props: dict[str, dict[str, Any]] = {
        name: prop for name, prop in (properties or {}).items() if isinstance(name, str) and isinstance(prop, dict)
    }
    arguments: dict[str, Any] = {}
    taken: list[tuple[int, int]] = []
    for name, prop in props.items():
        if isinstance(prop.get("enum"), list):
            value = _by_enum(prop["enum"], text)
        elif "string" in _types(prop) and isinstance(prop.get("pattern"), str):
            value = _by_pattern(prop["pattern"], prop, text, taken)
        else:
            continue
        if value is not None:
            arguments[name] = value
    for name, prop in props.items():
        if name not in arguments and "string" in _types(prop) and "enum" not in prop and "pattern" not in prop:
            stated = by_label(name, prop, text, taken)
            if stated is not None and _fits_length(stated, prop):
                arguments[name] = stated
    for name, prop in props.items():
        kinds = _types(prop)
        if name not in arguments and kinds & {"integer", "number"} and "enum" not in prop:
            number = _by_number(prop, "number" not in kinds, text, taken)
            if number is not None:
                arguments[name] = number
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    missing = [_label(name) for name in required or [] if isinstance(name, str) and name not in arguments]
    return arguments, missing


def _label(name: str) -> str:
    return _words(name)


def _is_question(text: str) -> bool:
    words = _WORD.findall(text.casefold()) or text.casefold().split()
    first = re.sub(r"\W", "", text.casefold().split()[0]) if text.split() else ""
    return text.rstrip().endswith("?") or first in _QUESTION_OPENERS or (bool(words) and words[0] in _QUESTION_OPENERS)


def ask(tool: str, missing: list[str]) -> str:
    listed = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    return f"{ASK_OPENING}{_words(tool)}). Please tell me the {listed}."


def _asked_for(prompt: Prompt) -> str | None:
    """The tool the previous agent reply asked arguments for, if it did (see `ask`)."""
    replies = [text for role, text in prompt.texts if role == "assistant"]
    if not replies or not replies[-1].startswith(ASK_OPENING):
        return None
    words = replies[-1][len(ASK_OPENING) :].partition(")")[0]
    return next((name for name in action_tools(prompt) if _words(name) == words), None)


def _previous_customer_text(prompt: Prompt) -> str:
    texts = [text for role, text in prompt.texts if role == "user"]
    return texts[-2] if len(texts) >= 2 else ""


def choose(prompt: Prompt) -> Choice | None:
    """The tool call (or the question for missing arguments) the customer's newest message calls for."""
    tools = action_tools(prompt)
    if not tools or prompt.tool_outcomes():
        return None
    text = head(prompt.last_user_text())
    name = pick_tool(text, {tool: prompt.tool_descriptions.get(tool, "") for tool in tools}, prompt.tool_schemas)
    if name is None and (name := _asked_for(prompt)) is not None:
        text = f"{head(_previous_customer_text(prompt))}\n{text}"  # the answer to the question we asked
    if name is None:
        return None
    arguments, missing = fill_arguments(prompt.tool_schemas.get(name, {}), text)
    if missing and not arguments and _is_question(prompt.last_user_text()):
        return None  # "what is your returns policy?" is a question for the documents, not a return
    return Choice(tool=name, arguments=arguments, missing=missing)


def act(prompt: Prompt) -> Step | None:
    """Rule: call the tool the message is about, or ask for the arguments it still needs."""
    choice = choose(prompt)
    if choice is None:
        return None
    if choice.missing:
        return Say(ask(choice.tool, choice.missing))
    return CallTool(choice.tool, choice.arguments)


def _inner_reason(text: str) -> str:
    """An error that quotes the service's JSON answer: the answer's own reason, if it gives one."""
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            inner = json.loads(text[start : end + 1])
        except ValueError:
            return text
        if isinstance(inner, dict):
            for key in ("error", "reason", "message", "detail"):
                if isinstance(inner.get(key), str) and inner[key].strip():
                    return str(inner[key])
    return text


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        parts = [_scalar(item) or _named(item) for item in value[:5]]
        shown = [part for part in parts if part]
        return ", ".join(shown) if shown else (f"{len(value)} entries" if value else None)
    return None


def _named(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in ("name", "title", "id"):
            if isinstance(item.get(key), str | int):
                return str(item[key])
    return None


def _sentence(text: str) -> str:
    text = " ".join(text.split())[:ANSWER_CHARS]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def report(name: str, result: str) -> Step:
    """The customer-facing sentence for a tool's answer (`result` is what the tool returned, usually JSON)."""
    try:
        answer: Any = json.loads(result)
    except ValueError:
        return Say(_sentence(result) if result.strip() else f"The {_words(name)} tool gave no answer.")
    if isinstance(answer, dict) and set(answer) <= {"result", "note", "truncated"} and "result" in answer:
        answer = answer["result"]
    if not isinstance(answer, dict):
        return Say(_sentence(f"Here is what I found: {_scalar(answer) or 'nothing'}"))
    status = answer.get("status")
    if status == "awaiting_confirmation":
        return Say("")  # the engine appends the statement the customer confirms
    if status == "declined":
        return Say(DECLINED)
    if "error" in answer:
        error = answer["error"]
        reason = _inner_reason(error) if isinstance(error, str) else _scalar(error) or "no reason given"
        return Say(_sentence(f"I'm sorry, I was unable to do that: {reason}"))
    if isinstance(answer.get("message"), str) and answer["message"].strip():
        return Say(_sentence(answer["message"]))
    return Say(_found(answer))


def _found(answer: dict[str, Any]) -> str:
    """A record as words: "Order A1001 is shipped." when it has an id and a status, then its other fields."""
    fields = {key: text for key, value in answer.items() if isinstance(key, str) and (text := _scalar(value))}
    id_key = next((key for key in fields if key == "id" or key.endswith("_id")), None)
    lead = ""
    if id_key is not None and "status" in fields:
        subject = _words(id_key.removesuffix("id")).strip().capitalize() or "It"
        lead = f"{subject} {fields.pop(id_key)} is {_words(fields.pop('status'))}. "
    shown = [f"{_words(key)}: {value}" for key, value in fields.items()][:FIELDS_SHOWN]
    if not shown:
        return _sentence(lead or "The request went through")
    return lead + _sentence(("Details: " if lead else "Here is what I found: ") + "; ".join(shown))


def report_action(prompt: Prompt) -> Step | None:
    """Rule: once an admin's tool has answered, say what it answered."""
    for outcome in prompt.tool_outcomes():
        if outcome.name and outcome.name not in RESERVED_TOOL_NAMES:
            return report(outcome.name, outcome.text)
    return None


def declined(prompt: Prompt) -> Step | None:
    """Rule: a plain "no" to the statement that asked to go ahead: nothing was done, and the agent says so."""
    if prompt.tool_outcomes():
        return None
    replies = [text for role, text in prompt.texts if role == "assistant"]
    said = " ".join(re.sub(r"[^\w\s']", " ", prompt.last_user_text().casefold()).split())
    if replies and CONFIRM_QUESTION in replies[-1] and said in _DECLINES:
        return Say(DECLINED)
    return None


__all__ = ["Choice", "act", "action_tools", "ask", "choose", "declined", "fill_arguments", "pick_tool", "report"]
