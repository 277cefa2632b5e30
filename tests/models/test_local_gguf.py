"""The `local` provider's parts that need no llama.cpp: specs, message shaping, tool-call splitting, schemas."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr, ValidationError
from strands.types.content import Messages

from oratio.config import Settings
from oratio.errors import ConfigError
from oratio.models import ModelCache, ModelSpec, create_model, parse_model_spec
from oratio.models.gguf_chat import (
    INLINE_INTRO,
    ToolCall,
    ToolCallSplitter,
    chat_messages,
    chat_tools,
    last_user_text,
    parse_calls,
)
from oratio.models.gguf_files import GGUF_MAGIC, ModelFileError
from oratio.models.local_gguf import LIST_GRAMMAR_MAX, STRING_GRAMMAR_MAX, LocalGgufModel, fit, grammar_schema
from schemas import AgentPlan, PlanReview

TOOLS = frozenset({"knowledge_search", "end_session"})


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "mine.gguf"
    path.write_bytes(GGUF_MAGIC + b"weights")
    return path


@pytest.fixture
def settings(tmp_path: Path, gguf: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        jwt_secret=SecretStr("x" * 40),
        embeddings=False,
        local_model_path=gguf,
        model_cache_dir=tmp_path / "models",
    )


def test_a_local_spec_takes_a_path_or_name_and_bounded_options() -> None:
    assert parse_model_spec("local?n_ctx=4096&threads=2&temperature=0") == ModelSpec(
        "local", None, {"n_ctx": 4096, "threads": 2, "temperature": 0.0}
    )
    assert parse_model_spec("local:/models/x.gguf").model_id == "/models/x.gguf"
    with pytest.raises(ConfigError, match="option 'n_ctx' must be between 256 and 131072"):
        parse_model_spec("local?n_ctx=10")


def test_local_builds_without_loading_and_is_shared(settings: Settings, gguf: Path) -> None:
    model = create_model("local?n_ctx=2048&max_tokens=64&temperature=0.1", settings)

    assert isinstance(model, LocalGgufModel)
    config = model.get_config()
    assert (config["model_id"], config["n_ctx"], config["max_tokens"], config["temperature"]) == (
        str(gguf),
        2048,
        64,
        0.1,
    )
    models = ModelCache(settings)
    assert models("local") is models("local")  # no loop-bound client; the weights are shared anyway


def test_a_local_spec_naming_a_missing_file_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no GGUF model file at"):
        create_model(f"local:{tmp_path / 'absent.gguf'}", settings)


def test_messages_become_chat_template_messages_with_tool_calls_and_results() -> None:
    messages: Messages = [
        {"role": "user", "content": [{"text": "What is the refund policy?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "knowledge_search", "input": {"query": "refund"}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t1", "status": "success", "content": [{"text": "30 days"}]}}],
        },
        {"role": "assistant", "content": [{"text": "Within 30 days."}]},
    ]

    chat = chat_messages(messages, "Be brief.")

    assert chat == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the refund policy?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "t1",
                    "type": "function",
                    "function": {"name": "knowledge_search", "arguments": {"query": "refund"}},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "t1", "content": "30 days"},
        {"role": "assistant", "content": "Within 30 days."},
    ]


def test_a_failed_tool_result_says_error() -> None:
    messages: Messages = [
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "status": "error", "content": [{"json": {}}]}}]}
    ]

    assert chat_messages(messages, None) == [{"role": "tool", "tool_call_id": "t", "content": "error: {}"}]


def test_tool_specs_become_function_tools() -> None:
    schema = {"type": "object", "properties": {"query": {"type": "string"}}}

    tools = chat_tools([{"name": "knowledge_search", "description": "Search.", "inputSchema": {"json": schema}}])

    assert tools == [
        {"type": "function", "function": {"name": "knowledge_search", "description": "Search.", "parameters": schema}}
    ]
    assert chat_tools([]) is None


def _split(pieces: list[str], tools: frozenset[str] = TOOLS) -> tuple[str, list[ToolCall]]:
    splitter = ToolCallSplitter(tools)
    shown = "".join(splitter.feed(piece) for piece in pieces)
    rest, calls = splitter.finish()
    return shown + rest, calls


def test_plain_text_streams_through() -> None:
    splitter = ToolCallSplitter(TOOLS)

    assert splitter.feed("Hello") == "Hello"
    assert splitter.feed(" there, <") == " there, "  # `<` may open a tool call: held
    assert splitter.feed("b>friend") == "<b>friend"
    assert splitter.finish() == ("", [])


def test_a_tagged_tool_call_is_never_shown_and_is_parsed() -> None:
    call = '{"name": "knowledge_search", "arguments": {"query": "refunds"}}'
    pieces = ["Let me check.", "\n<tool", "_call>\n", call[:20], call[20:], "\n</tool_call>"]

    shown, calls = _split(pieces)

    assert shown == "Let me check.\n"
    assert calls == [ToolCall("knowledge_search", {"query": "refunds"})]


def test_several_calls_an_untagged_call_and_string_arguments_are_understood() -> None:
    two = (
        '<tool_call>{"name": "knowledge_search", "arguments": "{\\"query\\": \\"a\\"}"}</tool_call>'
        '<tool_call>{"name": "end_session", "arguments": {}}</tool_call>'
    )
    assert _split([two])[1] == [ToolCall("knowledge_search", {"query": "a"}), ToolCall("end_session", {})]
    assert _split(['  {"name": "end_session", "arguments": {}}']) == ("", [ToolCall("end_session", {})])


def test_a_call_with_doubled_braces_is_understood() -> None:
    """What the 1.5B model writes, copying the `{"name": <function-name>, ...}` placeholder's braces."""
    text = '{{"name": "knowledge_search", "arguments": {"query": "refund policy"}}}'

    assert _split([text]) == ("", [ToolCall("knowledge_search", {"query": "refund policy"})])


def test_a_fenced_call_is_understood_and_a_fenced_call_to_an_unknown_tool_is_not_shown() -> None:
    """The 1.5B model's reply in the Acme demo, before this was handled: a call in a ```json fence."""
    fenced = '```json\n{ "name": "end_session", "arguments": {} }\n```'
    unknown = '```json\n{ "name": "refund", "arguments": {"amount": 5} }\n```'

    assert _split([fenced[:9], fenced[9:]]) == ("", [ToolCall("end_session", {})])
    assert _split([unknown]) == ("", [])
    assert _split(["```python\nprint(1)\n```"]) == ("```python\nprint(1)\n```", [])
    wrapped = '<tools>\n{"name": "end_session", "arguments": {}}\n</tools>'  # the 1.5B model, in the demo
    assert _split([wrapped[:4], wrapped[4:]]) == ("", [ToolCall("end_session", {})])
    assert _split(["<tools", wrapped[6:]]) == ("", [ToolCall("end_session", {})])  # "<tools" alone is held


def test_unknown_or_broken_calls_are_dropped_and_json_text_is_shown() -> None:
    assert _split(['<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>']) == ("", [])
    assert _split(["Sure. <tool_call>{not json"]) == ("Sure. ", [])
    assert _split(['{"price": 10}']) == ('{"price": 10}', [])
    assert parse_calls('<tool_call>{"name": "end_session", "arguments": 3}</tool_call>', TOOLS) == []


def test_without_tools_everything_is_text() -> None:
    assert _split(['<tool_call>{"name": "end_session"}</tool_call>'], frozenset()) == (
        '<tool_call>{"name": "end_session"}</tool_call>',
        [],
    )


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


def test_the_grammar_schema_requires_every_field_and_drops_long_bounds() -> None:
    schema = grammar_schema(AgentPlan.model_json_schema())

    objects = [node for node in _walk(schema) if node.get("type") == "object" and "properties" in node]
    assert objects and all(node["required"] == list(node["properties"]) for node in objects)
    assert all(node.get("maxLength", 0) <= STRING_GRAMMAR_MAX for node in _walk(schema))
    assert all(node.get("maxItems", 0) <= LIST_GRAMMAR_MAX for node in _walk(schema))
    assert not any("title" in node or "default" in node for node in _walk(schema))
    rule = schema["$defs"]["HandoffRule"]
    # a property named `description` stays
    assert rule["required"] == ["id", "description", "kind", "patterns", "amount_over", "currency", "failures_over"]
    review = grammar_schema(PlanReview.model_json_schema())
    assert json.dumps(review).count('"pattern"') == 1  # severity stays constrained


class _Limited(BaseModel):
    name: str = Field(max_length=5)
    tags: list[str] = Field(max_length=2)
    count: int = Field(ge=0)


def test_fit_trims_what_is_too_long_and_refuses_what_is_wrong() -> None:
    fitted = fit(_Limited, {"name": "abcdefgh", "tags": ["a", "b", "c"], "count": 1})

    assert (fitted.name, fitted.tags) == ("abcde", ["a", "b"])
    with pytest.raises(ValidationError):
        fit(_Limited, {"name": "abcdefgh", "tags": [], "count": -1})


def test_last_user_text_is_the_new_question_only() -> None:
    question: Messages = [{"role": "user", "content": [{"text": " Is there a fee? "}]}]
    answered: Messages = [
        *question,
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t", "name": "end_session", "input": {}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": "t", "status": "success", "content": []}}]},
    ]

    assert last_user_text(question) == "Is there a fee?"
    assert last_user_text(answered) is None
    assert last_user_text([]) is None


SEARCH_SPEC: Any = {
    "name": "knowledge_search",
    "description": "Search.",
    "inputSchema": {"json": {"type": "object", "properties": {"query": {"type": "string"}}}},
}


def test_search_first_calls_knowledge_search_in_code_without_the_model(gguf: Path) -> None:
    """The file is no model at all: had the provider run llama.cpp, the turn would fail."""
    model = LocalGgufModel(gguf)
    question: Messages = [{"role": "user", "content": [{"text": "What is the refund policy?"}]}]

    async def events() -> list[Any]:
        return [event async for event in model.stream(question, tool_specs=[SEARCH_SPEC], system_prompt="Hi")]

    got = asyncio.run(events())

    assert got[0] == {"messageStart": {"role": "assistant"}}
    start = got[1]["contentBlockStart"]["start"]["toolUse"]
    assert start["name"] == "knowledge_search"
    assert json.loads(got[2]["contentBlockDelta"]["delta"]["toolUse"]["input"]) == {
        "query": "What is the refund policy?"
    }
    assert got[4] == {"messageStop": {"stopReason": "tool_use"}}
    assert parse_model_spec("local?search_first=0").options == {"search_first": 0}


def test_calls_made_in_code_are_shown_as_context_not_as_the_models_own_calls() -> None:
    messages: Messages = [
        {"role": "user", "content": [{"text": "Refunds?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "s1", "name": "knowledge_search", "input": {"query": "Refunds?"}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "s1", "status": "success", "content": [{"text": "30 days"}]}}],
        },
    ]

    chat = chat_messages(messages, None, frozenset({"knowledge_search"}))

    assert chat == [
        {"role": "user", "content": "Refunds?"},
        {"role": "user", "content": f"{INLINE_INTRO}\n30 days"},
    ]
