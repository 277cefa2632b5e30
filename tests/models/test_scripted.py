"""The scripted model is a real Strands model: a real Agent streams it, runs its tool calls and records prompts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from pydantic import BaseModel
from strands import Agent, tool
from strands.types.content import Messages

from oratio.models import (
    CallTool,
    Data,
    Fail,
    Hang,
    Say,
    ScriptedModel,
    ScriptExhausted,
    after_tool,
    demo_model,
    when_user_says,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@tool
def lookup(query: str) -> str:
    """Look a word up.

    Args:
        query: The word.
    """
    return f"'{query}' means a small bird"


def agent(model: ScriptedModel, **options: Any) -> Agent:
    return Agent(model=model, tools=[lookup], callback_handler=None, system_prompt="You are a test.", **options)


async def texts(events: AsyncIterator[Any]) -> list[str]:
    return [event["data"] async for event in events if "data" in event]


async def test_a_reply_streams_as_converse_stream_events() -> None:
    model = ScriptedModel([Say("Hello there, friend.")])

    events = [event async for event in model.stream([{"role": "user", "content": [{"text": "hi"}]}])]

    kinds = [next(iter(event)) for event in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert deltas == ["Hello ", "there, ", "friend."]
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 3


async def test_an_agent_runs_the_scripted_tool_call_and_the_model_sees_the_result() -> None:
    model = ScriptedModel(
        [CallTool("lookup", {"query": "wren"}, text="Let me look."), after_tool("lookup", lambda r: Say(f"So: {r}."))]
    )

    streamed = await texts(agent(model).stream_async("What is a wren?"))

    assert "".join(streamed) == "Let me look.So: 'wren' means a small bird."
    assert [p.last_user_text() for p in model.prompts] == ["What is a wren?", "What is a wren?"]
    assert model.prompts[1].tool_outcomes()[0].name == "lookup"
    assert model.prompts[0].system_prompt == "You are a test." and model.prompts[0].tool_names == ("lookup",)


async def test_standing_rules_answer_once_the_script_runs_dry() -> None:
    model = ScriptedModel(
        [Say("First.")],
        rules=[when_user_says("help", then=Say("Helping.")), lambda prompt: Say(f"Echo {prompt.last_user_text()}")],
    )
    assistant = agent(model)

    replies = [await texts(assistant.stream_async(text)) for text in ("one", "I need HELP now", "helpful?")]

    assert ["".join(r) for r in replies] == ["First.", "Helping.", "Echo helpful?"]
    assert model.pending == 0
    assert model.prompts[-1].texts[:2] == [("user", "one"), ("assistant", "First.")]


async def test_a_failing_step_raises_from_the_model_after_its_text() -> None:
    model = ScriptedModel([Fail(ConnectionError("provider down"), text="Part")])
    seen: list[str] = []

    with pytest.raises(Exception, match="provider down"):
        async for event in agent(model, retry_strategy=None).stream_async("hi"):
            if "data" in event:
                seen.append(event["data"])

    assert seen == ["Part"]


async def test_a_hanging_step_ends_only_when_cancelled() -> None:
    model = ScriptedModel([Hang()])

    with pytest.raises(TimeoutError), anyio.fail_after(0.05):
        await agent(model).invoke_async("hi")


async def test_an_exhausted_script_says_so() -> None:
    with pytest.raises(Exception, match="no step left") as caught:
        await agent(ScriptedModel(), retry_strategy=None).invoke_async("hi")
    assert isinstance(caught.value.__cause__ or caught.value, ScriptExhausted)


class Verdict(BaseModel):
    approved: bool
    reason: str


async def test_structured_output_validates_the_scripted_payload() -> None:
    model = ScriptedModel([Data({"approved": True, "reason": "fine"}), Data({"approved": "maybe"})])
    prompt: Messages = [{"role": "user", "content": [{"text": "judge"}]}]

    outputs = [event async for event in model.structured_output(Verdict, prompt)]

    assert outputs == [{"output": Verdict(approved=True, reason="fine")}]
    with pytest.raises(ValueError, match="validation error"):
        async for _ in model.structured_output(Verdict, prompt):
            pass


PASSAGES = json.dumps(
    {"passages": [{"n": 1, "document": "refunds.md", "location": "Refunds", "text": "Refunds\n\nWithin 30 days."}]}
)


@tool(name="knowledge_search")
def fake_search(query: str) -> str:
    """Search the documents.

    Args:
        query: What to find.
    """
    return PASSAGES


@tool(name="request_handoff")
def fake_handoff(reason: str) -> str:
    """Ask for a human.

    Args:
        reason: Why.
    """
    return "ok"


@tool(name="end_session")
def fake_end() -> str:
    """End the conversation."""
    return "ok"


@pytest.mark.parametrize(
    ("text", "tool_name", "tool_input"),
    [
        ("Can I talk to a person?", "request_handoff", {"reason": "the customer asked to talk to a person"}),
        ("ok, goodbye", "end_session", {}),
        ("How long do refunds take?", "knowledge_search", {"query": "How long do refunds take"}),
    ],
)
async def test_the_demo_model_calls_the_tool_a_support_agent_would(
    text: str, tool_name: str, tool_input: dict[str, Any]
) -> None:
    model = demo_model()
    demo = Agent(model=model, tools=[fake_search, fake_handoff, fake_end], callback_handler=None)

    await demo.invoke_async(text)

    [call] = [block["toolUse"] for block in demo.messages[1]["content"] if "toolUse" in block]
    assert (call["name"], call["input"]) == (tool_name, tool_input)


async def test_the_demo_model_answers_from_the_best_passage_with_its_source() -> None:
    demo = Agent(model=demo_model(), tools=[fake_search], callback_handler=None)

    streamed = await texts(demo.stream_async("How long do refunds take?"))

    assert "".join(streamed) == "Within 30 days. (source: refunds.md, Refunds)"


@tool(name="knowledge_search")
def empty_search(query: str) -> str:
    """Search the documents (nothing matches).

    Args:
        query: What to find.
    """
    return json.dumps({"passages": []})


@pytest.mark.parametrize(
    ("tools", "offers_a_person"),
    [([empty_search, fake_handoff], True), ([empty_search], False)],
    ids=["handoff-enabled", "handoff-disabled"],
)
async def test_the_demo_model_offers_a_person_only_if_it_can(tools: list[Any], offers_a_person: bool) -> None:
    """An agent built with handoff disabled has no request_handoff: "connect you with a member of our team"
    would promise what it cannot do (the dashboard's test chat said it to "Can I speak to a human?")."""
    demo = Agent(model=demo_model(), tools=tools, callback_handler=None)

    reply = "".join(await texts(demo.stream_async("Do you sell gaming consoles?")))

    assert reply.startswith("I couldn't find that in our documents.")
    assert ("member of our team" in reply) is offers_a_person, reply


async def test_without_tools_the_demo_model_says_what_it_is() -> None:
    model = demo_model()

    await Agent(model=model, callback_handler=None).invoke_async("hello")

    assert model.prompts[0].tool_names == ()
