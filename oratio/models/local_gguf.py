"""The `local` provider: a GGUF model run in this process by llama.cpp (llama-cpp-python), no server.

The weights (0.5-1.1 GB) are loaded once per process and shared by every agent, turn and creator
stage: `LOADED` is the process-wide registry, keyed by file and context size. A llama.cpp context
is not thread-safe, so each loaded model has a lock and generations run one at a time; a turn that
arrives while another generates waits (inside its own turn timeout). Generation runs on a worker
thread and hands text to the event loop through a queue, so a slow model never blocks the loop.

Search first (on by default, `local?search_first=0` turns it off): when the agent has
`knowledge_search`, each customer message is searched in code before the model speaks, with the
message as the query. Small models often answer from their own guesses instead of calling the tool
(the 0.5B did, every time), while the SOPs say to answer from the documents and cite them; this also
saves one model call per turn. The model still decides on handoff and ending after reading the results.

`structured_output` decodes under a grammar built from the pydantic model's JSON schema, so even a
small model always produces JSON of the right shape; lengths the grammar cannot bound cheaply are
trimmed to the schema's limits in code before validation. Tool calls use the model's own chat
template (Qwen2.5 writes `<tool_call>` blocks); see `oratio.models.gguf_chat`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import threading
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing, closing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from strands.models import Model
from strands.types.content import Messages
from strands.types.event_loop import StopReason
from strands.types.exceptions import ContextWindowOverflowException
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from oratio.errors import ConfigError, OratioError
from oratio.models.gguf_chat import (
    ChatMessage,
    ToolCall,
    ToolCallSplitter,
    chat_messages,
    chat_tools,
    last_user_text,
)

T = TypeVar("T", bound=BaseModel)

SEARCH_TOOL = "knowledge_search"
SEARCH_QUERY_MAX = 1000
DEFAULT_CONTEXT = 8192
DEFAULT_MAX_TOKENS = 512
DEFAULT_TEMPERATURE = 0.3
STRUCTURED_MAX_TOKENS = 3072
STRING_GRAMMAR_MAX = 200
"""Longer `maxLength`s are left out of the grammar (a bound of n characters is n nested rules) and
enforced by trimming after decoding."""
LIST_GRAMMAR_MAX = 20
"""Lists are cut to this many items by the grammar: greedy decoding of a small model can repeat one
item until the schema's limit (seen: 50 identical handoff rules from the 0.5B model)."""


def default_threads() -> int:
    """Half the cores, as llama-cpp-python does: llama.cpp's threads spin at every barrier, so on a busy
    machine one thread per core is slower by far (measured 6x on 2 shared cores; see bench/local_llm.py)."""
    return max(1, (os.cpu_count() or 2) // 2)


class LocalModelError(OratioError):
    """The local model could not run or gave an answer that cannot be used."""

    code = "local_model"


def llama_cpp_module() -> ModuleType:
    """llama-cpp-python, imported on first use: it is the optional `local-model` extra."""
    try:
        return importlib.import_module("llama_cpp")
    except ImportError:
        raise ConfigError(
            "the local model provider needs llama-cpp-python, which is not installed: pip install 'oratio[local-model]'"
        ) from None


class LoadedGguf:
    """One GGUF in memory with its chat template. Hold `lock` for every use of `llama`."""

    def __init__(self, path: Path, *, n_ctx: int, threads: int) -> None:
        module = llama_cpp_module()
        self.path = path
        self.n_ctx = n_ctx
        self.lock = threading.Lock()
        self.llama: Any = module.Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
        )
        template = self.llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise LocalModelError(f"{path.name} has no chat template: use an instruct (chat) model")
        eos = self.llama.token_eos()
        bos = self.llama.token_bos()
        text = self.llama._model.token_get_text
        self._formatter: Any = module.llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=text(eos) if eos != -1 else "",
            bos_token=text(bos) if bos != -1 else "",
            stop_token_ids=[eos],
        )
        self._grammar_type: Any = module.LlamaGrammar
        self._grammars: dict[str, Any] = {}

    def prompt(self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None) -> tuple[list[int], list[str]]:
        """The chat as tokens, and the stop strings of the template."""
        result = self._formatter(messages=messages, tools=tools)
        tokens: list[int] = self.llama.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)
        stop = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return tokens, [str(s) for s in stop]

    def grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            # The grammar keeps the schema's property order (goals before steps...), so not `key`.
            self._grammars[key] = self._grammar_type.from_json_schema(json.dumps(schema), verbose=False)
        return self._grammars[key]

    def complete(self, tokens: list[int], request: Generation) -> Iterator[str]:
        """Text pieces as they are sampled; the caller holds `lock`."""
        stream = self.llama.create_completion(
            prompt=tokens,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=request.stop,
            grammar=request.grammar,
            stream=True,
        )
        with closing(stream):
            for chunk in stream:
                choice = chunk["choices"][0]
                if choice.get("finish_reason") == "length":
                    request.truncated = True
                if choice["text"]:
                    yield str(choice["text"])


class GgufRegistry:
    """Loaded models by (file, context size): each is loaded once, by the first thread that asks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[tuple[Path, int], LoadedGguf] = {}

    def load(self, path: Path, *, n_ctx: int, threads: int) -> LoadedGguf:
        key = (path.resolve(), n_ctx)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = LoadedGguf(key[0], n_ctx=n_ctx, threads=threads)
            return self._loaded[key]

    def loaded(self) -> list[Path]:
        with self._lock:
            return [path for path, _ in self._loaded]


LOADED = GgufRegistry()
"""The process's loaded models. A process-wide registry on purpose: weights are a process resource,
and every platform, engine and creator in the process must share one copy and one lock."""


@dataclass
class Generation:
    max_tokens: int
    temperature: float
    top_p: float
    stop: list[str]
    grammar: Any = None
    truncated: bool = False
    prompt_tokens: int = 0
    output_pieces: int = 0


_DONE = object()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class LocalGgufModel(Model):
    """A Strands model over a local GGUF; cheap to build (the weights load on first use, once per process)."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = DEFAULT_CONTEXT,
        threads: int | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float = 0.9,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        search_first: bool = True,
        registry: GgufRegistry = LOADED,
    ) -> None:
        self._registry = registry
        self._config: dict[str, Any] = {
            "model_id": str(path),
            "n_ctx": n_ctx,
            "threads": threads or default_threads(),
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
            "search_first": search_first,
        }

    def update_config(self, **model_config: Any) -> None:
        self._config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def loaded(self) -> LoadedGguf:
        """The model in memory, loading it if this process has not yet (blocking: call off the event loop)."""
        config = self._config
        return self._registry.load(Path(config["model_id"]), n_ctx=int(config["n_ctx"]), threads=config["threads"])

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        tools = frozenset(spec["name"] for spec in tool_specs or [])
        if self._config["search_first"] and SEARCH_TOOL in tools:
            question = last_user_text(messages)
            if question is not None:
                async for event in _calls([ToolCall(SEARCH_TOOL, {"query": question[:SEARCH_QUERY_MAX]})]):
                    yield event
                return
            # Searched already: a small model shown the tool again repeats the same call until the cycle limit.
            tool_specs = [spec for spec in tool_specs or [] if spec["name"] != SEARCH_TOOL]
            tools = tools - {SEARCH_TOOL}
            inline = frozenset({SEARCH_TOOL})
        else:
            inline = frozenset()
        request = self._request(self._config["max_tokens"], self._config["temperature"])
        splitter = ToolCallSplitter(tools)
        yield {"messageStart": {"role": "assistant"}}
        opened = False
        pieces = self._generate(chat_messages(messages, system_prompt, inline), chat_tools(tool_specs), request)
        async with aclosing(pieces) as generated:
            async for piece in generated:
                if shown := splitter.feed(piece):
                    if not opened:
                        opened = True
                        yield {"contentBlockStart": {"start": {}}}
                    yield {"contentBlockDelta": {"delta": {"text": shown}}}
        rest, calls = splitter.finish()
        if rest:
            if not opened:
                opened = True
                yield {"contentBlockStart": {"start": {}}}
            yield {"contentBlockDelta": {"delta": {"text": rest}}}
        if opened:
            yield {"contentBlockStop": {}}
        for event in _tool_blocks(calls):
            yield event
        stop: StopReason = "tool_use" if calls else "max_tokens" if request.truncated else "end_turn"
        yield {"messageStop": {"stopReason": stop}}
        used, made = request.prompt_tokens, request.output_pieces
        yield {
            "metadata": {
                "usage": {"inputTokens": used, "outputTokens": made, "totalTokens": used + made},
                "metrics": {"latencyMs": 0},
            }
        }

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        schema = output_model.model_json_schema()
        instruction = "Answer with one JSON object and nothing else. It must match this JSON schema:\n" + json.dumps(
            schema, separators=(",", ":")
        )
        system = f"{system_prompt}\n\n{instruction}" if system_prompt else instruction
        request = self._request(STRUCTURED_MAX_TOKENS, 0.0, schema=grammar_schema(schema))
        pieces = self._generate(chat_messages(prompt, system), None, request)
        async with aclosing(pieces) as generated:
            text = "".join([piece async for piece in generated])
        try:
            data = json.loads(text)
        except ValueError:
            cut = f" (cut at {request.max_tokens} tokens)" if request.truncated else ""
            raise LocalModelError(f"the local model's {output_model.__name__} is not complete JSON{cut}") from None
        yield {"output": fit(output_model, data)}

    def _request(self, max_tokens: int, temperature: float, schema: dict[str, Any] | None = None) -> Generation:
        request = Generation(max_tokens=int(max_tokens), temperature=float(temperature), top_p=0.9, stop=[])
        request.top_p = float(self._config["top_p"])
        request.grammar = schema
        return request

    async def _generate(
        self, messages: list[ChatMessage], tools: list[dict[str, Any]] | None, request: Generation
    ) -> AsyncGenerator[str, None]:
        """Sample on a worker thread (holding the model's lock), handing pieces to this loop as they come."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop closed: nobody is listening any more
                stop.set()

        def produce() -> None:
            try:
                loaded = self.loaded()
                with loaded.lock:
                    if stop.is_set():
                        return
                    tokens, template_stop = loaded.prompt(messages, tools)
                    room = loaded.n_ctx - len(tokens)
                    if room < 16:
                        raise ContextWindowOverflowException(
                            f"the conversation ({len(tokens)} tokens) does not fit the local model's context "
                            f"({loaded.n_ctx}); raise n_ctx"
                        )
                    request.max_tokens = min(request.max_tokens, room)
                    request.stop = template_stop
                    request.prompt_tokens = len(tokens)
                    if isinstance(request.grammar, dict):
                        request.grammar = loaded.grammar(request.grammar)
                    for piece in loaded.complete(tokens, request):
                        request.output_pieces += 1
                        put(piece)
                        if stop.is_set():
                            break
            except BaseException as exc:  # the thread's outermost handler: the error goes to the caller
                put(_Failed(exc))
            finally:
                put(_DONE)

        threading.Thread(target=produce, name="oratio-llama-cpp", daemon=True).start()
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, _Failed):
                    raise item.error
                yield str(item)
        finally:
            stop.set()


def _tool_blocks(calls: list[ToolCall]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for index, call in enumerate(calls):
        tool_use_id = f"tooluse_local_{index}_{os.urandom(6).hex()}"
        events.append({"contentBlockStart": {"start": {"toolUse": {"toolUseId": tool_use_id, "name": call.name}}}})
        events.append({"contentBlockDelta": {"delta": {"toolUse": {"input": json.dumps(call.arguments)}}}})
        events.append({"contentBlockStop": {}})
    return events


async def _calls(calls: list[ToolCall]) -> AsyncGenerator[StreamEvent, None]:
    """A model turn that only calls tools, decided in code (no tokens generated)."""
    yield {"messageStart": {"role": "assistant"}}
    for event in _tool_blocks(calls):
        yield event
    yield {"messageStop": {"stopReason": "tool_use"}}
    yield {"metadata": {"usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}, "metrics": {"latencyMs": 0}}}


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema the grammar enforces: every property required (a small model must fill each one),
    no long `maxLength`s (STRING_GRAMMAR_MAX), at most LIST_GRAMMAR_MAX items a list, and no titles,
    defaults or descriptions (they only grow the grammar; the model is shown the full schema)."""

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                out[key] = {name: walk(sub) for name, sub in value.items()}  # names, not keywords: keep all
            elif key not in ("title", "default", "description"):
                out[key] = walk(value)
        if out.get("type") == "object" and isinstance(out.get("properties"), dict):
            out["required"] = list(out["properties"])
        if isinstance(out.get("maxLength"), int) and out["maxLength"] > STRING_GRAMMAR_MAX:
            del out["maxLength"]
        if isinstance(out.get("maxItems"), int) and out["maxItems"] > LIST_GRAMMAR_MAX:
            out["maxItems"] = max(LIST_GRAMMAR_MAX, int(out.get("minItems", 0)))
        return out

    result: dict[str, Any] = walk(schema)
    return result


def fit(output_model: type[T], data: Any) -> T:
    """Validate, trimming strings and lists that are over their schema limits first (once)."""
    try:
        return output_model.model_validate(data)
    except ValidationError as exc:
        trimmed = False
        for error in exc.errors():
            limit = (error.get("ctx") or {}).get("max_length")
            if error["type"] not in ("string_too_long", "too_long") or not isinstance(limit, int):
                raise
            parent: Any = data
            for part in error["loc"][:-1]:
                parent = parent[part]
            key = error["loc"][-1]
            parent[key] = parent[key][:limit]
            trimmed = True
        if not trimmed:
            raise
        return output_model.model_validate(data)


__all__ = [
    "DEFAULT_CONTEXT",
    "LOADED",
    "GgufRegistry",
    "LoadedGguf",
    "LocalGgufModel",
    "LocalModelError",
    "fit",
    "grammar_schema",
    "llama_cpp_module",
]
