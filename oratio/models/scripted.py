"""A real Strands model that plays a script: for tests, offline demos and benchmarks.

It speaks the same ConverseStream events as a provider (messageStart, text deltas, toolUse blocks,
messageStop with end_turn/tool_use, usage metadata), so the whole agent loop (tool execution,
streaming, cancellation, timeouts) runs for real; only the words are decided in advance. A script is
a queue of steps played one per model call; when it runs dry, standing rules pick the step from
the conversation. Every call is recorded so a test can check what the model was shown.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel
from strands.models import Model
from strands.types.content import ContentBlock, Messages
from strands.types.event_loop import StopReason
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from oratio.tenant_patterns import contains_phrase

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Say:
    """Reply with text, streamed in word-sized deltas."""

    text: str


@dataclass(frozen=True)
class CallTool:
    """Ask for a tool call, optionally saying `text` first."""

    name: str
    input: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class Fail:
    """Raise `error` from the model call, after streaming `text` (to fail mid-reply)."""

    error: Exception
    text: str = ""


@dataclass(frozen=True)
class Hang:
    """Stream `text`, then wait for an event nobody sets: the call ends only when it is cancelled."""

    text: str = ""


@dataclass(frozen=True)
class Data:
    """The payload `structured_output` validates into the requested model."""

    payload: dict[str, Any]


Step = Say | CallTool | Fail | Hang | Data


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    text: str


@dataclass(frozen=True)
class Prompt:
    """What one model call was shown."""

    messages: Messages
    system_prompt: str | None
    tool_names: tuple[str, ...]
    tool_descriptions: dict[str, str] = field(default_factory=dict)
    """Each offered tool's description, as the model is shown it (name -> description)."""
    tool_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each offered tool's JSON Schema of its arguments (`inputSchema.json` of its spec; name -> schema)."""

    @property
    def texts(self) -> list[tuple[str, str]]:
        """(role, text) of every text block, oldest first."""
        return [(m["role"], block["text"]) for m in self.messages for block in m["content"] if "text" in block]

    def last_user_text(self) -> str:
        """The newest user text (the customer's message), skipping tool-result messages."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                text = " ".join(block["text"] for block in message["content"] if "text" in block)
                if text:
                    return text
        return ""

    def tool_outcomes(self) -> list[ToolOutcome]:
        """Results of the tools called by the previous model call, if the newest message carries any."""
        if not self.messages or self.messages[-1]["role"] != "user":
            return []
        names = {
            block["toolUse"]["toolUseId"]: block["toolUse"]["name"]
            for message in self.messages
            for block in message["content"]
            if "toolUse" in block
        }
        outcomes = []
        for block in self.messages[-1]["content"]:
            if "toolResult" in block:
                result = block["toolResult"]
                text = "".join(_result_text(item) for item in result["content"])
                outcomes.append(ToolOutcome(name=names.get(result["toolUseId"], ""), text=text))
        return outcomes


def _result_text(item: Any) -> str:
    """A tool result item as text: its text, or its JSON (a tool may answer `{"json": ...}`)."""
    if "text" in item:
        return str(item["text"])
    if "json" in item:
        return json.dumps(item["json"])
    return ""


def _input_schema(spec: ToolSpec) -> dict[str, Any]:
    schema = spec.get("inputSchema", {})
    inner = schema.get("json") if isinstance(schema, dict) else None
    return inner if isinstance(inner, dict) else {}


Rule = Callable[[Prompt], Step | None]
"""Looks at the conversation and returns a step, or None to let the next rule decide."""


class ScriptExhausted(RuntimeError):
    """The model was called with no step queued and no rule matching: the script is too short."""


class ScriptedModel(Model):
    """A Strands `Model` whose replies come from `script` (played in order), then from `rules`.

    `delay` (seconds) is waited between streamed chunks, for demos that should look typed; the
    default of zero keeps benchmarks measuring the platform, not the script.
    """

    def __init__(self, script: Iterable[Step | Rule] = (), *, rules: Sequence[Rule] = (), delay: float = 0.0) -> None:
        self._queue: deque[Step | Rule] = deque(script)
        self._rules = tuple(rules)
        self._delay = delay
        self._ids = itertools.count(1)
        self.prompts: list[Prompt] = []
        self.config: dict[str, Any] = {"model_id": "scripted", "delay": delay}

    def add(self, *steps: Step | Rule) -> None:
        """Queue more steps (a test continuing a conversation)."""
        self._queue.extend(steps)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def _next(self, prompt: Prompt) -> Step:
        if self._queue:
            entry = self._queue.popleft()
            step = entry(prompt) if callable(entry) else entry
            if step is None:
                raise ScriptExhausted("a queued rule did not match the conversation")
            return step
        for rule in self._rules:
            found = rule(prompt)
            if found is not None:
                return found
        raise ScriptExhausted("the model was called again but the script has no step left")

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        prompt = Prompt(
            messages=messages,
            system_prompt=system_prompt,
            tool_names=tuple(spec["name"] for spec in tool_specs or ()),
            tool_descriptions={spec["name"]: spec.get("description", "") for spec in tool_specs or ()},
            tool_schemas={spec["name"]: _input_schema(spec) for spec in tool_specs or ()},
        )
        self.prompts.append(prompt)
        step = self._next(prompt)
        if isinstance(step, Data):
            raise TypeError("a Data step answers structured_output, not a conversation turn")
        yield {"messageStart": {"role": "assistant"}}
        text = step.text
        async for event in self._text_block(text):
            yield event
        if isinstance(step, Fail):
            raise step.error
        if isinstance(step, Hang):
            await anyio.Event().wait()
        stop: StopReason = "end_turn"
        if isinstance(step, CallTool):
            stop = "tool_use"
            tool_use_id = f"tooluse_{next(self._ids)}"
            yield {"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_use_id, "name": step.name}}}}
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(step.input)}}}}
            yield {"contentBlockStop": {}}
        yield {"messageStop": {"stopReason": stop}}
        words = len(text.split()) + (len(json.dumps(step.input)) // 4 if isinstance(step, CallTool) else 0)
        used = _estimate(messages)
        yield {
            "metadata": {
                "usage": {"inputTokens": used, "outputTokens": words, "totalTokens": used + words},
                "metrics": {"latencyMs": 0},
            }
        }

    async def _text_block(self, text: str) -> AsyncGenerator[StreamEvent, None]:
        if not text:
            return
        yield {"contentBlockStart": {"start": {}}}
        for chunk in re.findall(r"\S+\s*|\s+", text):
            if self._delay:
                await anyio.sleep(self._delay)
            yield {"contentBlockDelta": {"delta": {"text": chunk}}}
        yield {"contentBlockStop": {}}

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        recorded = Prompt(messages=prompt, system_prompt=system_prompt, tool_names=())
        self.prompts.append(recorded)
        step = self._next(recorded)
        if isinstance(step, Fail):
            raise step.error
        if isinstance(step, Hang):
            await anyio.Event().wait()
        if not isinstance(step, Data):
            raise TypeError(f"structured_output needs a Data step, the script has {type(step).__name__}")
        yield {"output": output_model.model_validate(step.payload)}


def _estimate(messages: Messages) -> int:
    """A rough input token count (characters / 4), so usage metrics are plausible."""
    blocks: list[ContentBlock] = [block for m in messages for block in m["content"]]
    return sum(len(json.dumps(block, default=str)) for block in blocks) // 4


def when_user_says(*phrases: str, then: Step) -> Rule:
    """A rule: if the customer's newest message contains any phrase (whole words, any case), play `then`."""

    def rule(prompt: Prompt) -> Step | None:
        if prompt.tool_outcomes():
            return None
        text = prompt.last_user_text()
        return then if any(contains_phrase(text, phrase) for phrase in phrases) else None

    return rule


def after_tool(name: str, answer: Callable[[str], Step]) -> Rule:
    """A rule: once the tool `name` has answered, build the next step from its result text."""

    def rule(prompt: Prompt) -> Step | None:
        for outcome in prompt.tool_outcomes():
            if outcome.name == name:
                return answer(outcome.text)
        return None

    return rule


__all__ = [
    "CallTool",
    "Data",
    "Fail",
    "Hang",
    "Prompt",
    "Rule",
    "Say",
    "ScriptExhausted",
    "ScriptedModel",
    "Step",
    "ToolOutcome",
    "after_tool",
    "when_user_says",
]
