"""After `return_session_to_agent` the model sees what the person told the customer, as the business's words.

`Role.HUMAN` turns come back as assistant messages prefixed "[a team member said] ", so the model
neither repeats nor contradicts them, and the customer turns the person answered are not answered
again: only the customer's new words are the prompt.
"""

from __future__ import annotations

import pytest

from oratio.models import Say
from oratio.runtime.history import HUMAN_PREFIX, conversation, to_messages
from schemas import Channel, Role, Turn
from tests.support.engine import PLAN, EngineWorld

pytestmark = pytest.mark.anyio


def _turn(seq: int, role: Role, text: str, author: str | None = None) -> Turn:
    return Turn(tenant_id="ten_1", session_id="ses_1", seq=seq, role=role, text=text, author=author)


TAKEN_OVER_AND_RETURNED = [
    _turn(1, Role.CUSTOMER, "My parcel is late"),
    _turn(2, Role.AGENT, "Let me get someone."),
    _turn(3, Role.SYSTEM, "Handoff taken over by sam@acme.test."),
    _turn(4, Role.CUSTOMER, "Hello?"),
    _turn(5, Role.HUMAN, "Hi, Sam here. I have refunded your shipping.", author="sam@acme.test"),
    _turn(6, Role.CUSTOMER, "Thanks! When does it arrive?"),
    _turn(7, Role.HUMAN, "Tomorrow before noon.", author="sam@acme.test"),
    _turn(8, Role.SYSTEM, "Handoff returned to the agent by sam@acme.test."),
]


def test_a_persons_turns_are_the_business_side_marked_as_a_team_members() -> None:
    messages = to_messages(TAKEN_OVER_AND_RETURNED)

    assert [(m["role"], [b["text"] for b in m["content"]]) for m in messages] == [
        ("user", ["My parcel is late"]),
        ("assistant", ["Let me get someone."]),
        ("user", ["Hello?"]),
        ("assistant", [HUMAN_PREFIX + "Hi, Sam here. I have refunded your shipping."]),
        ("user", ["Thanks! When does it arrive?"]),
        ("assistant", [HUMAN_PREFIX + "Tomorrow before noon."]),
    ]
    assert "sam@acme.test" not in str(messages)  # who the person is stays in the transcript


def test_only_the_new_customer_words_are_the_prompt_after_a_return() -> None:
    history, prompt = conversation(TAKEN_OVER_AND_RETURNED, "And the refund?")

    assert prompt == [{"text": "And the refund?"}]
    assert history[-1]["role"] == "assistant"


def test_customer_words_nobody_answered_before_the_return_reach_the_model_with_the_next_message() -> None:
    unanswered = [
        *TAKEN_OVER_AND_RETURNED[:7],
        _turn(8, Role.CUSTOMER, "Also, wrong colour"),
        TAKEN_OVER_AND_RETURNED[7],
    ]

    history, prompt = conversation(unanswered, "Can I swap it?")

    assert prompt == [{"text": "Also, wrong colour"}, {"text": "Can I swap it?"}]
    assert history[-1]["content"] == [{"text": HUMAN_PREFIX + "Tomorrow before noon."}]


async def test_the_returned_agent_is_shown_the_persons_words_and_answers_only_the_new_turn(world: EngineWorld) -> None:
    engine = world.engine()
    first = await engine.turn_async(world.tenant_id, world.agent.id, None, "Get me a lawyer", Channel.TEXT)
    session_id = first.session_id
    handoff = world.platform.handoff
    handoff.take_over(world.principal, session_id)
    await engine.turn_async(world.tenant_id, world.agent.id, session_id, "Is my case filed?", Channel.TEXT)
    handoff.say(world.principal, session_id, "Yes, case 7 was filed this morning.")
    handoff.return_to_agent(world.principal, session_id)
    world.model.add(Say("Anything else about case 7?"))

    back = await engine.turn_async(world.tenant_id, world.agent.id, session_id, "Thanks", Channel.TEXT)

    [prompt] = world.model.prompts
    assert back.reply == "Anything else about case 7?" and not back.paused
    assert ("assistant", HUMAN_PREFIX + "Yes, case 7 was filed this morning.") in prompt.texts
    assert prompt.texts[-1] == ("user", "Thanks")  # the question the person answered is not asked again
    assert prompt.texts.count(("user", "Is my case filed?")) == 1
    assert ("assistant", PLAN.handoff_message) in prompt.texts
