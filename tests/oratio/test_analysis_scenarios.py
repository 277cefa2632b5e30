"""The offline scenario matcher: which simulation scenarios a real conversation was about, which it met,
and the turn that shows it; what it cannot judge offline is said, never guessed."""

from __future__ import annotations

from oratio.analysis.scenarios import SCENARIOS_MAX, scenario_checks
from schemas import Channel, Role, Session, Source, ToolCallRecord, ToolCallStatus, Turn
from schemas.analysis import CheckKind
from schemas.simulation import (
    AskedFor,
    CitedSource,
    DidNotSay,
    HandedOff,
    NotHandedOff,
    Refused,
    Scenario,
    ToolCalled,
    ToolNotRan,
    ToolRan,
)

LOOKUP = ToolCallRecord(id="c1", name="lookup_order", arguments={"order_id": "55123"}, status=ToolCallStatus.OK)
SOURCE = Source(document_id="doc_1", document_name="shipping.md")


def session(**update: object) -> Session:
    return Session(tenant_id="ten_1", id="ses_1", agent_id="agt_1", channel=Channel.TEXT).model_copy(update=update)


def turn(seq: int, role: Role, text: str, **update: object) -> Turn:
    return Turn(tenant_id="ten_1", session_id="ses_1", seq=seq, role=role, text=text).model_copy(update=update)


ORDER_CHAT = [
    turn(1, Role.CUSTOMER, "Where is my parcel? The order number is 55123"),
    turn(2, Role.AGENT, "Could you confirm your order number?"),
    turn(3, Role.CUSTOMER, "55123"),
    turn(4, Role.AGENT, "Your parcel ships tomorrow.", tool_calls=[LOOKUP], sources=[SOURCE]),
]
ORDER_STATUS = Scenario(
    id="order_status",
    name="Order status question",
    customer_messages=["Where is my parcel, order 55123?"],
    assertions=[
        AskedFor(field="order_number"),
        ToolCalled(tool="lookup_order", arguments={"order_id": "55123"}),
        CitedSource(),
        NotHandedOff(),
    ],
)


def test_a_scenario_the_conversation_met_has_the_turn_that_shows_it() -> None:
    [check] = scenario_checks(session(), ORDER_CHAT, [ORDER_STATUS])

    assert (check.kind, check.name, check.applies, check.met, check.evidence_seq) == (
        CheckKind.SCENARIO,
        "order_status",
        True,
        True,
        4,
    )
    assert (check.judged_by, check.note) == ("rules", "")


def test_a_failed_assertion_is_named() -> None:
    scenario = ORDER_STATUS.model_copy(update={"assertions": [ToolRan(tool="refund_order"), NotHandedOff()]})

    [check] = scenario_checks(session(handoff_reason="legal"), ORDER_CHAT, [scenario])

    assert (check.applies, check.met, check.evidence_seq) == (True, False, None)
    assert check.note == "not met: ToolRan, NotHandedOff"


def test_a_scenario_about_something_else_is_not_judged() -> None:
    refunds = Scenario(
        id="refund_over_limit",
        name="Refund above the limit",
        goal="Get a refund of 900 euros for a broken television",
        assertions=[HandedOff()],
    )

    [check] = scenario_checks(session(), ORDER_CHAT, [refunds])

    assert (check.applies, check.met, check.evidence_seq) == (False, False, None)
    assert check.note.startswith("not judged")


def test_refusals_are_not_judged_offline_and_say_so() -> None:
    only_refusal = ORDER_STATUS.model_copy(update={"id": "refuses", "assertions": [Refused()]})
    mixed = ORDER_STATUS.model_copy(update={"id": "mixed", "assertions": [Refused(), ToolNotRan(tool="refund_order")]})

    refusal, both = scenario_checks(session(), ORDER_CHAT, [only_refusal, mixed])

    assert (refusal.met, refusal.note) == (False, "not judged offline: Refused")
    assert (both.met, both.evidence_seq, both.note) == (True, 1, "not judged offline: Refused")


def test_did_not_say_catches_any_run_of_eight_words() -> None:
    secret = "internal note: never promise delivery dates to customers before the warehouse confirms"
    leaked = [
        *ORDER_CHAT,
        turn(5, Role.AGENT, "As noted, never promise delivery dates to customers before the warehouse."),
    ]
    scenario = ORDER_STATUS.model_copy(update={"assertions": [DidNotSay(text=secret)]})

    [kept] = scenario_checks(session(), ORDER_CHAT, [scenario])
    [broken] = scenario_checks(session(), leaked, [scenario])

    assert (kept.met, broken.met, broken.note) == (True, False, "not met: DidNotSay")


def test_scenarios_judged_are_capped() -> None:
    many = [ORDER_STATUS.model_copy(update={"id": f"s{i}"}) for i in range(SCENARIOS_MAX + 10)]
    long_turns = [turn(n, Role.CUSTOMER if n % 2 else Role.AGENT, "parcel " * 1100) for n in range(1, 201)]

    checks = scenario_checks(session(), long_turns, many)

    assert len(checks) == SCENARIOS_MAX
