"""Between Strands' Converse-shaped messages and a chat-templated local model's text.

The GGUF's own chat template (Qwen2.5's, for the packaged models) is given OpenAI-style messages
and tool definitions; the model then writes tool calls as `<tool_call>{"name", "arguments"}</tool_call>`
in its text. `ToolCallSplitter` separates, while tokens stream, the text a customer may see from
the tool calls the agent loop must run, so no half-written call ever reaches the reply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from strands.types.content import ContentBlock, Messages
from strands.types.tools import ToolResult, ToolSpec

OPEN = "<tool_call>"
HELD_STARTS = ("{", "`", "<tools>", "<function")
CLOSE = "</tool_call>"
_FENCE = "```"
_TAGS = ("tools", "function_call", "functions")
_LANGUAGE = re.compile(r"[a-zA-Z]*")

ChatMessage = dict[str, Any]
INLINE_INTRO = "Passages from our knowledge base for that message (answer from them and name the document):"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


def _result_text(result: ToolResult) -> str:
    parts: list[str] = []
    for item in result.get("content", []):
        if "text" in item:
            parts.append(str(item["text"]))
        elif "json" in item:
            parts.append(json.dumps(item["json"], ensure_ascii=False))
    text = "\n".join(parts)
    return text if result.get("status", "success") == "success" else f"error: {text}"


def chat_messages(
    messages: Messages, system_prompt: str | None, inline: frozenset[str] = frozenset()
) -> list[ChatMessage]:
    """Converse messages (text, toolUse, toolResult blocks) as the chat template expects them.

    Calls to the `inline` tools (made in code, not by the model) are left out, and their results shown
    as plain context: a small model shown a call it "made" repeats it instead of answering.
    """
    out: list[ChatMessage] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    hidden: set[str] = set()
    for message in messages:
        blocks: list[ContentBlock] = list(message["content"])
        text = "".join(str(block["text"]) for block in blocks if "text" in block)
        if message["role"] == "assistant":
            calls = []
            for block in blocks:
                if "toolUse" not in block:
                    continue
                use = block["toolUse"]
                if use["name"] in inline:
                    hidden.add(use["toolUseId"])
                    continue
                # Qwen's template writes `arguments | tojson`: it must stay an object, not a string.
                function = {"name": use["name"], "arguments": use["input"]}
                calls.append({"id": use["toolUseId"], "type": "function", "function": function})
            if not text and not calls:
                continue
            entry: ChatMessage = {"role": "assistant", "content": text}
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
            continue
        for block in blocks:
            if "toolResult" in block:
                result = block["toolResult"]
                if result["toolUseId"] in hidden:
                    context = f"{INLINE_INTRO}\n{_result_text(result)}"
                    out.append({"role": "user", "content": context})
                else:
                    out.append({"role": "tool", "tool_call_id": result["toolUseId"], "content": _result_text(result)})
        if text:
            out.append({"role": "user", "content": text})
    return out


def chat_tools(tool_specs: list[ToolSpec] | None) -> list[dict[str, Any]] | None:
    if not tool_specs:
        return None
    return [
        {
            "type": "function",
            "function": {
                "name": spec["name"],
                "description": spec["description"],
                "parameters": spec["inputSchema"].get("json", {"type": "object", "properties": {}}),
            },
        }
        for spec in tool_specs
    ]


def unfenced(text: str) -> str:
    """`text` without a Markdown code fence or a `<tools>` wrapper around it: the 1.5B model writes
    calls as ```json ...``` and as `<tools>{...}</tools>` (the tag its prompt lists the tools in)."""
    return _unwrapped(_unfenced_once(text.strip()))


# Plain string checks, not `\s*(.*?)\s*` regexes: those were quadratic on a long run of spaces in the
# model's text (which a customer can steer).
def _unfenced_once(text: str) -> str:
    if len(text) < 2 * len(_FENCE) or not (text.startswith(_FENCE) and text.endswith(_FENCE)):
        return text
    body = text[len(_FENCE) : -len(_FENCE)]
    language = _LANGUAGE.match(body)
    return body[language.end() if language else 0 :].strip()


def _unwrapped(text: str) -> str:
    opening = next((tag for tag in _TAGS if text.startswith(f"<{tag}>")), None)
    if opening is None:
        return text
    body = text[len(opening) + 2 :]
    closing = next((tag for tag in _TAGS if body.endswith(f"</{tag}>")), None)
    if closing is not None:
        body = body[: -(len(closing) + 3)]
    return body.strip()


def _call_bodies(text: str) -> list[str]:
    """The text inside each OPEN ... CLOSE (or OPEN ... end of text), stripped."""
    bodies: list[str] = []
    position = text.find(OPEN)
    while position >= 0:
        start = position + len(OPEN)
        end = text.find(CLOSE, start)
        bodies.append(text[start : end if end >= 0 else len(text)].strip())
        position = text.find(OPEN, end + len(CLOSE)) if end >= 0 else -1
    return bodies


def looks_like_call(text: str) -> bool:
    """A JSON object with a name and arguments: never a reply a customer should read."""
    data = _first_object(unfenced(text))
    return isinstance(data, dict) and ("name" in data or "function" in data) and "arguments" in data


def _first_object(body: str) -> Any:
    """The JSON object in `body`, or the first one that starts with `{"name"` inside it: the 1.5B model
    writes `{{"name": ..., "arguments": {...}}}`, doubling the braces of the template's placeholder."""
    try:
        return json.loads(body)
    except ValueError:
        pass
    start = body.find('{"name"')
    if start < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(body, start)[0]
    except ValueError:
        return None


def last_user_text(messages: Messages) -> str | None:
    """The customer's newest text when the model is about to answer it for the first time (no tool
    results since), else None."""
    if not messages or messages[-1]["role"] != "user":
        return None
    blocks = list(messages[-1]["content"])
    if any("toolResult" in block for block in blocks):
        return None
    text = " ".join(str(block["text"]) for block in blocks if "text" in block).strip()
    return text or None


def parse_calls(text: str, known: frozenset[str]) -> list[ToolCall]:
    """Every well-formed call to a known tool in `text`; a malformed or unknown one is dropped."""
    calls: list[ToolCall] = []
    bodies = _call_bodies(text)
    bare = unfenced(text)
    if not bodies and bare.startswith("{"):
        bodies = [bare]  # a small model sometimes forgets the tags around a bare (or fenced) call
    for body in bodies:
        data = _first_object(body)
        if isinstance(data, dict) and "name" not in data and isinstance(data.get("function"), str):
            data = {**data, "name": data["function"]}  # the 1.5B model sometimes writes "function"
        if not isinstance(data, dict) or data.get("name") not in known:
            continue
        arguments = data.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError:
                continue
        if isinstance(arguments, dict):
            calls.append(ToolCall(name=str(data["name"]), arguments=arguments))
    return calls


class ToolCallSplitter:
    """Feed streamed text; get back what is safe to show. Text from the first `<tool_call>` on is held.

    A reply that opens with `{` or a code fence is held whole too (it may be an untagged call);
    `finish` releases it as text if it was not a call after all, and drops a call to an unknown tool.
    """

    def __init__(self, tools: frozenset[str]) -> None:
        self._tools = tools
        self._shown = 0
        self._text = ""
        self._held = False

    @property
    def text(self) -> str:
        return self._text

    def feed(self, delta: str) -> str:
        self._text += delta
        if not self._tools:
            return self._release(len(self._text))
        if self._held:
            return ""
        opening = self._text.lstrip()
        if self._shown == 0 and any(start.startswith(opening) for start in HELD_STARTS):
            return ""  # "<tool" may still become "<tools>": wait for the next piece
        if self._text.lstrip().startswith(HELD_STARTS):
            self._held = True  # maybe a bare, fenced or wrapped call: decided in `finish`
            return ""
        start = self._text.find(OPEN)
        if start >= 0:
            self._held = True
            return self._release(start)
        # Keep back a tail that could be the start of `<tool_call>`.
        safe = len(self._text)
        for size in range(min(len(OPEN) - 1, len(self._text)), 0, -1):
            if OPEN.startswith(self._text[-size:]):
                safe = len(self._text) - size
                break
        if not self._text[:safe].strip():
            return ""  # leading whitespace waits: the reply may still turn out to be a bare `{...}` call
        return self._release(safe)

    def finish(self) -> tuple[str, list[ToolCall]]:
        """The text not yet shown (if it held no call) and the calls found."""
        calls = parse_calls(self._text, self._tools) if self._tools else []
        if calls:
            return "", calls
        if self._tools and OPEN not in self._text and looks_like_call(self._text):
            return "", []  # a call to a tool the agent does not have: dropped, not shown
        if self._text.lstrip().startswith(HELD_STARTS) or OPEN not in self._text:
            return self._release(len(self._text)), []
        return self._release(self._text.find(OPEN)), []

    def _release(self, end: int) -> str:
        shown, self._shown = self._text[self._shown : end], max(self._shown, end)
        return shown


__all__ = [
    "ChatMessage",
    "ToolCall",
    "ToolCallSplitter",
    "chat_messages",
    "chat_tools",
    "last_user_text",
    "parse_calls",
]
