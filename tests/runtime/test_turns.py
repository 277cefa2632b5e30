"""A turn: the customer's words stored first, the agent answering from the knowledge base with sources,
history rebuilt from the store (so it survives a restart), streaming that adds up to the stored reply."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from oratio.models import CallTool, Say, ScriptedModel, after_tool
from oratio.platform import open_platform
from oratio.runtime import TurnResult
from schemas import Channel, Limits, Role, SessionStatus, ToolName
from tests.support.engine import EngineWorld, deployed_agent, engine_over
from tests.support.platforms import test_settings
from tests.support.tenants import new_principal

pytestmark = pytest.mark.anyio


def cite_first_passage(result: str) -> Say:
    passage = json.loads(result)["passages"][0]
    return Say(f"Refunds are possible within 30 days (source: {passage['document']}).")


async def test_a_knowledge_question_gets_an_answer_citing_the_uploaded_document(world: EngineWorld) -> None:
    world.model.add(
        CallTool("knowledge_search", {"query": "refund receipt"}), after_tool("knowledge_search", cite_first_passage)
    )

    result = await world.engine().turn_async(world.tenant_id, world.agent.id, None, "Can I get a refund?", Channel.TEXT)

    assert result.reply == "Refunds are possible within 30 days (source: refunds.md)."
    [source] = result.sources
    assert (source.document_id, source.document_name, source.location) == (world.document.id, "refunds.md", "Refunds")
    assert "30 days" in source.snippet
    assert (result.handoff, result.ended, result.status) == (False, False, SessionStatus.ACTIVE)
    # The model was shown the passage itself, with where it came from.
    [outcome] = world.model.prompts[1].tool_outcomes()
    assert "within 30 days of purchase" in outcome.text and '"document": "refunds.md"' in outcome.text
    transcript = world.platform.sessions.get(world.principal, result.session_id)
    assert [(t.role, t.text) for t in transcript.turns] == [
        (Role.CUSTOMER, "Can I get a refund?"),
        (Role.AGENT, result.reply),
    ]
    assert transcript.turns[1].sources == result.sources
    assert transcript.session.channel is Channel.TEXT


async def test_the_model_is_given_the_plan_prompt_and_only_the_plan_tools(world: EngineWorld) -> None:
    plan = world.platform.agents.artifact(world.tenant_id, world.agent.id)[1].plan
    narrow = deployed_agent(
        world.platform, world.principal, "Narrow", plan.model_copy(update={"tools": [ToolName.END_SESSION]})
    )
    world.model.add(Say("Hi."))

    await world.engine().turn_async(world.tenant_id, narrow.id, None, "hello", Channel.TEXT)

    [prompt] = world.model.prompts
    assert prompt.system_prompt == plan.system_prompt
    assert prompt.tool_names == ("end_session",)


async def test_history_is_restored_from_the_store_after_a_restart(tmp_path: Path) -> None:
    model = ScriptedModel([Say("Hello! How can I help?"), Say("Your order ships tomorrow.")])
    with open_platform(test_settings(tmp_path)) as first:
        principal = new_principal(first, "Acme")
        agent = deployed_agent(first, principal)
        opened = await engine_over(first, lambda spec: model).turn_async(
            principal.tenant_id, agent.id, None, "Hi there", Channel.TEXT
        )

    with open_platform(test_settings(tmp_path)) as second:
        later = await engine_over(second, lambda spec: model).turn_async(
            principal.tenant_id, agent.id, opened.session_id, "Where is my order?", Channel.TEXT
        )

    assert later.session_id == opened.session_id
    assert later.reply == "Your order ships tomorrow."
    assert model.prompts[-1].texts == [
        ("user", "Hi there"),
        ("assistant", "Hello! How can I help?"),
        ("user", "Where is my order?"),
    ]


async def test_stream_turn_yields_deltas_that_add_up_to_the_stored_reply(world: EngineWorld) -> None:
    world.model.add(
        CallTool("knowledge_search", {"query": "refunds"}, text="Let me check our refund policy."),
        after_tool("knowledge_search", cite_first_passage),
    )
    deltas: list[str] = []
    results: list[TurnResult] = []

    async for item in world.engine().stream_turn(world.tenant_id, world.agent.id, None, "Refunds?", Channel.TEXT):
        if isinstance(item, TurnResult):
            results.append(item)
        else:
            assert not results, "deltas come before the result"
            deltas.append(item)

    [result] = results
    assert len(deltas) > 2
    assert "".join(deltas) == result.reply
    assert (
        result.reply == "Let me check our refund policy.\n\nRefunds are possible within 30 days (source: refunds.md)."
    )
    stored = world.platform.sessions.get(world.principal, result.session_id).turns[-1]
    assert stored.text == result.reply and stored.sources == result.sources


async def test_an_overlong_answer_is_cut_to_what_a_turn_can_hold(world: EngineWorld) -> None:
    world.model.add(Say("word " * 3000))
    deltas: list[str] = []

    async for item in world.engine().stream_turn(world.tenant_id, world.agent.id, None, "Tell me all", Channel.TEXT):
        if isinstance(item, str):
            deltas.append(item)

    stored = world.platform.sessions.get(
        world.principal, world.platform.sessions.list_live(world.principal).items[0].id
    )
    reply = stored.turns[-1].text
    assert 7000 < len(reply) <= Limits.TURN_TEXT_MAX
    assert "".join(deltas) == reply


async def test_turns_on_different_sessions_run_concurrently(world: EngineWorld) -> None:
    world.model = ScriptedModel(rules=[lambda prompt: Say(f"You said: {prompt.last_user_text()}")])
    engine = world.engine()
    results: dict[int, TurnResult] = {}

    async def converse(n: int) -> None:
        first = await engine.turn_async(world.tenant_id, world.agent.id, None, f"first {n}", Channel.TEXT)
        results[n] = await engine.turn_async(
            world.tenant_id, world.agent.id, first.session_id, f"second {n}", Channel.TEXT
        )

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            for n in range(6):
                group.start_soon(converse, n)

    assert len({r.session_id for r in results.values()}) == 6
    for n, result in results.items():
        assert result.reply == f"You said: second {n}"
        turns = world.platform.sessions.get(world.principal, result.session_id).turns
        assert [t.text for t in turns] == [f"first {n}", f"You said: first {n}", f"second {n}", f"You said: second {n}"]


async def test_a_stream_abandoned_mid_reply_leaves_the_customer_turn_and_a_usable_session(world: EngineWorld) -> None:
    world.model.add(Say("A long answer that nobody waits for."), Say("Here again."))
    engine = world.engine()
    stream = engine.stream_turn(world.tenant_id, world.agent.id, None, "Question one", Channel.TEXT)

    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]

    assert first == "A "
    [session] = world.platform.sessions.list_live(world.principal).items
    turns = world.platform.sessions.get(world.principal, session.id).turns
    assert [(t.role, t.text) for t in turns] == [(Role.CUSTOMER, "Question one")]
    again = await engine.turn_async(world.tenant_id, world.agent.id, session.id, "Question two", Channel.TEXT)
    assert again.reply == "Here again."
    # The unanswered question is sent again with the new one, in one user message (roles must alternate).
    assert world.model.prompts[-1].messages == [
        {"role": "user", "content": [{"text": "Question one"}, {"text": "Question two"}]}
    ]
