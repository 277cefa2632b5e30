"""A rehearsal settles each turn through `oratio.runtime.settle`, as the runtime does: what a tested plan
says at a handoff or an ending is what a customer would hear, and nothing is stored."""

from __future__ import annotations

import pytest

from creator_agent.rehearsal import Rehearsal
from oratio.models import CallTool, ScriptedModel
from oratio.platform import Platform
from schemas import AgentPlan, HandoffRule, TestConversation

pytestmark = pytest.mark.anyio

PLAN = AgentPlan(
    persona="Acme's support assistant",
    system_prompt="You are Acme's support assistant.",
    handoff_rules=[HandoffRule(id="legal", description="Legal threats", kind="keywords", patterns=["lawyer"])],
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_an_ending_says_the_plans_closing_message_as_in_production(platform: Platform) -> None:
    model = ScriptedModel([CallTool("end_session", {}, text="Glad I could help.")])
    rehearsal = Rehearsal(platform.knowledge, lambda: model, time_limit_s=30)
    test = TestConversation(
        name="the agent says goodbye",
        customer_messages=["That is all, thanks."],
        expect_reply_contains=[PLAN.closing_message],
    )

    [outcome] = await rehearsal.run("ten_rehearsal", "agt_1", "Support", PLAN, [test])

    assert outcome.passed, outcome.detail


async def test_a_rule_hands_off_with_the_plans_message_and_no_model_call(platform: Platform) -> None:
    rehearsal = Rehearsal(platform.knowledge, ScriptedModel, time_limit_s=30)
    test = TestConversation(
        name="legal goes to a person",
        customer_messages=["My lawyer will call."],
        expect_handoff=True,
        expect_reply_contains=[PLAN.handoff_message],
    )

    [outcome] = await rehearsal.run("ten_rehearsal", "agt_1", "Support", PLAN, [test])

    assert outcome.passed, outcome.detail
    assert rehearsal.model_calls == 0
