"""The `local` provider on a real packaged GGUF (the small 0.5B one) through llama.cpp.

Needs the `local-model-small` extra (llama-cpp-python built from source, and the model's parts), so
these are marked `local_model` and skipped where that is not installed, as in CI's default path.
Greedy decoding (temperature 0) keeps the model's answers the same on every run.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import anyio
import pytest
from strands import Agent, tool
from strands.types.content import Messages
from strands.types.streaming import StreamEvent

from oratio.models.gguf_files import QWEN_CODER_0_5B, ModelFiles, default_cache_dir, parts_installed
from oratio.models.local_gguf import LOADED, LocalGgufModel
from schemas import ParsedSop, PlanReview

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or not parts_installed(QWEN_CODER_0_5B),
        reason="needs the local-model-small extra: pip install 'oratio[local-model-small]'",
    ),
]

LIMIT = 300.0
"""Seconds any one test may take: generous, for a shared 2-core machine."""


@pytest.fixture(scope="module")
def gguf() -> Path:
    return ModelFiles(default_cache_dir()).path(QWEN_CODER_0_5B)


def _model(gguf: Path, **options: Any) -> LocalGgufModel:
    return LocalGgufModel(gguf, n_ctx=4096, temperature=0.0, **options)


def _ask(text: str) -> Messages:
    return [{"role": "user", "content": [{"text": text}]}]


async def _events(model: LocalGgufModel, messages: Messages, **kwargs: Any) -> list[StreamEvent]:
    with anyio.fail_after(LIMIT):
        return [event async for event in model.stream(messages, **kwargs)]


def _text(events: list[StreamEvent]) -> str:
    return "".join(str(e["contentBlockDelta"]["delta"].get("text", "")) for e in events if "contentBlockDelta" in e)


def test_a_reply_streams_as_converse_events_and_the_weights_load_once(gguf: Path) -> None:
    first, second = _model(gguf, max_tokens=24), _model(gguf, max_tokens=24)

    events = asyncio.run(_events(first, _ask("Say hello in three words."), system_prompt="Be brief."))
    again = asyncio.run(_events(second, _ask("Say hello in three words."), system_prompt="Be brief."))

    assert events[0] == {"messageStart": {"role": "assistant"}}
    assert events[1] == {"contentBlockStart": {"start": {}}}
    assert _text(events).strip() and _text(events) == _text(again)
    stop = [e["messageStop"]["stopReason"] for e in events if "messageStop" in e]
    assert stop in (["end_turn"], ["max_tokens"])
    usage = events[-1]["metadata"]["usage"]
    assert usage["inputTokens"] > 10 and 0 < usage["outputTokens"] <= 24
    assert first.loaded() is second.loaded()
    assert LOADED.loaded().count(gguf.resolve()) == 1


def test_structured_output_always_fits_the_schema(gguf: Path) -> None:
    model = _model(gguf)
    sop = (
        "Greet the customer. Ask for their order number. Never share another customer's data. "
        "Hand off to a human when the customer is angry."
    )

    async def ask(output: type[Any], text: str) -> Any:
        with anyio.fail_after(LIMIT):
            results = [e["output"] async for e in model.structured_output(output, _ask(text)) if "output" in e]
        return results[-1]

    parsed = asyncio.run(ask(ParsedSop, f"Extract the steps, rules and handoff conditions of this SOP:\n{sop}"))
    review = asyncio.run(ask(PlanReview, "Review cycle 1 of a plan that greets the customer. Approve it."))

    assert isinstance(parsed, ParsedSop) and isinstance(review, PlanReview)
    assert parsed.steps or parsed.must_rules or parsed.never_rules  # the grammar forced every field; some hold text
    assert all(issue.severity in ("blocker", "major", "minor") for issue in review.issues)


def test_two_concurrent_generations_are_serialised_and_both_complete(gguf: Path) -> None:
    model = _model(gguf, max_tokens=16)

    async def both() -> list[list[StreamEvent]]:
        results: list[list[StreamEvent]] = [[], []]

        async def one(index: int, text: str) -> None:
            results[index] = await _events(model, _ask(text))

        async with anyio.create_task_group() as group:
            group.start_soon(one, 0, "Name a colour.")
            group.start_soon(one, 1, "Name a fruit.")
        return results

    first, second = asyncio.run(both())

    assert _text(first).strip() and _text(second).strip()


def test_a_stream_closed_early_frees_the_model_for_the_next_call(gguf: Path) -> None:
    model = _model(gguf, max_tokens=200)

    async def cut_then_ask() -> str:
        stream = model.stream(_ask("Count from 1 to 100, one number per line."))
        assert isinstance(stream, AsyncGenerator)
        with anyio.fail_after(LIMIT):
            async for event in stream:
                if "contentBlockDelta" in event:
                    break
            await stream.aclose()
            return _text(await _events(_model(gguf, max_tokens=8), _ask("Say yes.")))

    assert asyncio.run(cut_then_ask()).strip()


def _search_tool(asked: list[str]) -> Any:
    @tool
    def knowledge_search(query: str) -> str:
        """Search the company's documents for passages about the customer's question."""
        asked.append(query)
        return '{"passages": [{"n": 1, "document": "refunds.md", "text": "Refunds are possible within 30 days."}]}'

    return knowledge_search


def test_the_agent_loop_searches_first_and_answers_from_the_passage(gguf: Path) -> None:
    asked: list[str] = []
    agent = Agent(
        model=_model(gguf, max_tokens=96),
        tools=[_search_tool(asked)],
        system_prompt="You are a support agent. Answer from the knowledge_search results only.",
        callback_handler=None,
    )

    async def run() -> str:
        with anyio.fail_after(LIMIT):
            result = await agent.invoke_async("What is your refund policy?")
        return str(result)

    answer = asyncio.run(run())

    assert asked == ["What is your refund policy?"]
    assert "30" in answer
