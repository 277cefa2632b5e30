"""The offline demo model acts: it picks the example's tool from the customer's words, fills its
arguments by the tool's JSON Schema, asks for what is missing, and reports the answer; run by a
real Strands agent whose tools have the specs the engine offers (name, description, inputSchema)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from strands import Agent
from strands.tools.tools import PythonAgentTool
from strands.types.content import Messages
from strands.types.tools import ToolResult, ToolSpec, ToolUse

from oratio.models import demo_model
from oratio.models.demo import FALLBACK
from oratio.models.demo_actions import DECLINED, fill_arguments, pick_tool
from oratio_app.cli import EXAMPLES
from schemas import HttpTool

pytestmark = pytest.mark.anyio

TOOLS = [HttpTool.model_validate(item) for item in json.loads((EXAMPLES / "orders_desk" / "tools.json").read_text())]
DESCRIPTIONS = {tool.name: tool.description for tool in TOOLS}
SCHEMAS = {tool.name: tool.parameters for tool in TOOLS}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def spec(tool: HttpTool) -> ToolSpec:
    """The Strands spec the engine offers for an admin's tool."""
    return {"name": tool.name, "description": tool.description, "inputSchema": {"json": tool.parameters}}


Answer = Callable[[str, dict[str, Any]], Any]


def tools_answering(answer: Answer, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """The example's tools as real Strands tools; each call is recorded and answered with `answer`'s JSON."""

    def make(name: str) -> Callable[..., ToolResult]:
        def run(tool_use: ToolUse, **_: Any) -> ToolResult:
            calls.append((name, dict(tool_use["input"])))
            text = json.dumps(answer(name, dict(tool_use["input"])))
            return {"toolUseId": tool_use["toolUseId"], "status": "success", "content": [{"text": text}]}

        return run

    return [PythonAgentTool(tool.name, spec(tool), make(tool.name)) for tool in TOOLS]


async def reply_of(agent: Agent, message: str) -> str:
    result = await agent.invoke_async(message)
    return str(result).strip()


@pytest.mark.parametrize(
    ("message", "tool", "arguments"),
    [
        ("Hi, where is my order A1001?", "lookup_order", {"order_id": "A1001"}),
        ("what is the status of a1001", "lookup_order", {"order_id": "A1001"}),
        ("Please cancel order A1002, I ordered it by mistake.", "cancel_order", {"order_id": "A1002"}),
        ("I want to return A1003, it arrived damaged.", "start_return", {"order_id": "A1003", "reason": "damaged"}),
        ("Send back A1004, it is too small", "start_return", {"order_id": "A1004", "reason": "too small"}),
        ("Wrong item in A1004, can I return it?", "start_return", {"order_id": "A1004", "reason": "wrong item"}),
    ],
)
def test_the_tool_is_the_one_the_message_is_about_with_arguments_read_by_schema(
    message: str, tool: str, arguments: dict[str, Any]
) -> None:
    picked = pick_tool(message, DESCRIPTIONS, SCHEMAS)

    assert picked == tool
    assert fill_arguments(SCHEMAS[tool], message) == (arguments, [])


@pytest.mark.parametrize("message", ["Hello", "Can you change the delivery address?", "A1001", "thanks a lot"])
def test_no_tool_without_a_real_overlap(message: str) -> None:
    assert pick_tool(message, DESCRIPTIONS, SCHEMAS) is None


def test_a_pattern_value_is_a_whole_word_and_a_number_is_not_read_inside_an_id() -> None:
    schema = {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "pattern": "^A[0-9]{4}$"},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
            "amount": {"type": "number"},
            "size": {"type": "string", "enum": ["small", "extra_large"]},
            "note": {"type": "string"},
        },
        "required": ["order_id", "quantity", "note"],
    }

    arguments, missing = fill_arguments(schema, "BA10012 is wrong; A1001 x 99 then 2 of them, $12.50, extra large")

    assert arguments == {"order_id": "A1001", "quantity": 2, "amount": 99.0, "size": "extra_large"}
    assert missing == ["note"]  # free text is never guessed: it is asked for


def test_a_pattern_re2_refuses_is_never_run_and_its_argument_is_asked_for() -> None:
    look_ahead = {"type": "string", "pattern": "^(?=A)A\\d+$"}
    schema = {"type": "object", "properties": {"code": look_ahead}, "required": ["code"]}

    assert fill_arguments(schema, "code A123 " + "a" * 50_000) == ({}, ["code"])


async def test_a_lookup_is_called_and_its_answer_reported_in_a_sentence() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    order = {"order_id": "A1001", "status": "shipped", "carrier": "UPS", "items": [{"name": "Rain jacket"}]}
    model = demo_model()
    agent = Agent(model=model, tools=tools_answering(lambda name, args: order, calls), callback_handler=None)

    reply = await reply_of(agent, "Hi, where is my order A1001?")

    assert calls == [("lookup_order", {"order_id": "A1001"})]
    assert reply == "Order A1001 is shipped. Details: carrier: UPS; items: Rain jacket."
    assert model.prompts[0].tool_schemas["lookup_order"] == SCHEMAS["lookup_order"]


async def test_a_write_held_for_confirmation_adds_nothing_to_the_statement_the_engine_appends() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    held = {"status": "awaiting_confirmation", "note": "Nothing has been done yet. The customer must confirm."}
    agent = Agent(model=demo_model(), tools=tools_answering(lambda name, args: held, calls), callback_handler=None)

    reply = await reply_of(agent, "Please cancel order A1002")

    assert calls == [("cancel_order", {"order_id": "A1002"})]
    assert reply == ""


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"message": "Order A1002 is cancelled; nothing will be charged."}, "Order A1002 is cancelled; nothing"),
        (
            {"error": 'the tool answered HTTP 409: {"error": "A1003 was delivered 40 days ago; returns close at 30"}'},
            "I'm sorry, I was unable to do that: A1003 was delivered 40 days ago; returns close at 30.",
        ),
        ({"status": "declined", "note": "Nothing was done."}, DECLINED),
        ({"return_id": "R-1", "status": "return_started"}, "Return R-1 is return started."),
        ({"count": 2, "open": True}, "Here is what I found: count: 2; open: yes."),
    ],
)
async def test_the_answer_of_a_write_action_is_reported(answer: dict[str, Any], said: str) -> None:
    """After the engine ran (or dropped) the confirmed call, the model sees it as the last toolUse/toolResult."""
    messages: Messages = [
        {"role": "user", "content": [{"text": "yes"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "c1", "name": "cancel_order", "input": {}}}]},
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "c1", "status": "success", "content": [{"json": answer}]}}],
        },
    ]
    model = demo_model()
    events = [event async for event in model.stream(messages, [spec(tool) for tool in TOOLS])]

    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text.startswith(said)


async def test_a_missing_argument_is_asked_for_and_the_answer_completes_the_call() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    answer = {"message": "Return R-1 started for order A1004."}
    agent = Agent(model=demo_model(), tools=tools_answering(lambda name, args: answer, calls), callback_handler=None)

    asked = await reply_of(agent, "I would like to return a jacket, it is too small")
    done = await reply_of(agent, "It was order A1004")

    assert asked == "I can help with that (start return). Please tell me the order id."
    assert calls == [("start_return", {"order_id": "A1004", "reason": "too small"})]
    assert done == "Return R-1 started for order A1004."


async def test_a_question_with_nothing_to_act_on_goes_to_the_documents_not_the_tool() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    model = demo_model()
    agent = Agent(model=model, tools=tools_answering(lambda name, args: {}, calls), callback_handler=None)

    reply = await reply_of(agent, "What is your returns policy?")

    assert calls == [] and reply == FALLBACK  # no knowledge_search offered here, so the fallback


async def test_a_plain_no_to_the_statement_is_answered_with_nothing_done() -> None:
    messages: Messages = [
        {"role": "user", "content": [{"text": "cancel A1002"}]},
        {
            "role": "assistant",
            "content": [{"text": "To confirm: I will cancel order A1002. Shall I go ahead? Please answer yes or no."}],
        },
        {"role": "user", "content": [{"text": "No."}]},
    ]
    events = [event async for event in demo_model().stream(messages, [spec(tool) for tool in TOOLS])]

    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text == DECLINED


FREE = {
    "type": "object",
    "properties": {
        "order_number": {"type": "string", "description": "The customer's order number, as on the receipt."},
        "customer_email": {"type": "string", "format": "email"},
        "address": {"type": "string", "description": "Where the parcel goes."},
        "quantity": {"type": "integer"},
    },
    "required": ["order_number"],
}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("My order number is NW-10422.", {"order_number": "NW-10422"}),
        ("my email: x@y.z", {"customer_email": "x@y.z"}),
        (
            "Hi, order number: NW-7 please, and my email is a.b@shop.example.",
            {"order_number": "NW-7", "customer_email": "a.b@shop.example"},
        ),
        ("The order number, it's 55 - send 3.", {"order_number": "55", "quantity": 3}),
        (
            "My address is 12 High Street, Leeds LS1 4AB. Order number = NW-1",
            {"address": "12 High Street, Leeds LS1 4AB", "order_number": "NW-1"},
        ),
    ],
)  # fmt: skip
def test_a_free_text_argument_the_customer_names_and_states_is_filled(message: str, expected: dict[str, Any]) -> None:
    assert fill_arguments(FREE, message)[0] == expected


@pytest.mark.parametrize(
    "message",
    [
        "What is my order number?",
        "I lost my order number",
        "my order number is wrong",
        "Where do I find the order number? It is NW-10422",  # the value is in another sentence
        "my order number.\nIs NW-10422 late?",
        "my email is broken, write to x@y.z",
    ],
)
def test_a_mere_mention_or_a_value_in_another_sentence_fills_nothing(message: str) -> None:
    arguments, missing = fill_arguments(FREE, message)
    assert "order_number" not in arguments and "customer_email" not in arguments
    assert missing == ["order number"]


def test_a_free_text_clause_stops_at_the_sentence_end_and_is_bounded() -> None:
    arguments = fill_arguments(FREE, "My address is 4 Elm Road! Order number: NW-2.")[0]
    assert arguments == {"address": "4 Elm Road", "order_number": "NW-2"}
    long = fill_arguments(FREE, "My address is " + "Long Street " * 40)[0]["address"]
    assert len(long) <= 200 and long.split()[-1] in {"Long", "Street"}  # cut at a word, not inside one


def test_a_stated_value_is_not_taken_from_another_arguments_span() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ticket": {"type": "string", "pattern": "^T-[0-9]+$"},
            "reference": {"type": "string", "description": "The reference"},
        },
    }
    # the pattern took T-5; "reference is" then points at that same span and fills nothing
    assert fill_arguments(schema, "my reference is T-5")[0] == {"ticket": "T-5"}


def test_a_tool_whose_order_number_has_no_pattern_is_called_with_what_the_customer_states() -> None:
    tools = {"look_up_order": "Look up an order's status by its order number"}
    schema = {"type": "object", "properties": {"order_number": {"type": "string"}}, "required": ["order_number"]}
    schemas: dict[str, dict[str, Any]] = {"look_up_order": schema}
    message = "Where is my parcel? My order number is NW-10422."
    assert pick_tool(message, tools, schemas) == "look_up_order"
    assert fill_arguments(schemas["look_up_order"], message) == ({"order_number": "NW-10422"}, [])


def test_a_stated_identifier_wins_over_a_word_after_the_label_in_a_repeated_description() -> None:
    message = "Please look up an order by its order number: status, items and shipping. My order number is NW-10422."
    assert fill_arguments(FREE, message)[0] == {"order_number": "NW-10422"}


async def test_a_stated_order_number_completes_the_call_and_the_agents_own_words_are_never_read() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    schema = {"type": "object", "properties": {"order_number": {"type": "string"}}, "required": ["order_number"]}
    get_order: ToolSpec = {
        "name": "get_order",
        "description": "Look up an order by its order number: status, items and shipping.",
        "inputSchema": {"json": schema},
    }

    def run(tool_use: ToolUse, **_: Any) -> ToolResult:
        calls.append(("get_order", dict(tool_use["input"])))
        text = json.dumps({"order_number": tool_use["input"]["order_number"], "status": "shipped"})
        return {"toolUseId": tool_use["toolUseId"], "status": "success", "content": [{"text": text}]}

    history: Messages = [
        {"role": "user", "content": [{"text": "Hello"}]},
        {"role": "assistant", "content": [{"text": "Hi! An example: the order number is NW-99999."}]},
    ]
    tool = PythonAgentTool("get_order", get_order, run)
    agent = Agent(model=demo_model(), tools=[tool], messages=history, callback_handler=None)

    asked = await reply_of(agent, "Please look up my order.")
    assert calls == [] and asked == "I can help with that (get order). Please tell me the order number."

    await reply_of(agent, "Sure, order number: NW-10422.")
    assert calls == [("get_order", {"order_number": "NW-10422"})]


def test_a_value_cut_by_the_read_bound_is_not_read_and_a_restated_label_is_not_a_value() -> None:
    # the bound (4,000 characters) falls inside NW-10422: a hard cut would call the tool with "NW-1"
    message = "word " * 795 + "My order number is NW-10422."
    assert len(message[:4000].rsplit(" ", 1)[-1]) < len("NW-10422")
    assert "order_number" not in fill_arguments(FREE, message)[0]
    assert "order_number" not in fill_arguments(FREE, "order number: " * 300)[0]


def test_a_camel_case_name_is_a_label_and_a_pronoun_description_is_not() -> None:
    schema = {
        "type": "object",
        "properties": {
            "orderNumber": {"type": "string"},
            "note": {"type": "string", "description": "It is shown to staff."},
        },
    }
    assert fill_arguments(schema, "Order number: NW-3, and it is urgent.")[0] == {"orderNumber": "NW-3"}
