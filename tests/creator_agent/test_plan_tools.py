"""The AgentCreator's plan carries the admin's tools: copied, mapped to the SOP's actions, reviewed."""

from __future__ import annotations

from typing import Any

import pytest

from creator_agent import action_plan
from creator_agent.errors import PlanNotApproved
from creator_agent.offline import parse_sop
from creator_agent.stages.base import blocks
from creator_agent.stages.draft_plan import PlanDrafter
from creator_agent.stages.parse_sop import SopParser
from creator_agent.stages.review_loop import review_loop
from creator_agent.stages.review_plan import PlanReviewer, check_plan
from oratio.models import Data, ScriptedModel
from schemas import ActionMapping, AgentPlan, AgentSpec, McpToolSnapshot, ParsedSop
from tests.support.orders_tools import ORDERS_SOP, cancel_order, crm_server, get_order, orders_spec

TOKEN = "sk-live-0123456789abcdefghij"


def parsed_for(spec: AgentSpec) -> ParsedSop:
    return SopParser.postprocess(spec, ParsedSop.model_validate(parse_sop(ORDERS_SOP)))


def drafted(spec: AgentSpec, mcp_tools: list[McpToolSnapshot] | None = None, **plan: Any) -> AgentPlan:
    model_plan = AgentPlan.model_validate(
        {"persona": "Orders agent", "system_prompt": "You are the orders agent.", **plan}
    )
    return PlanDrafter.postprocess(spec, parsed_for(spec), model_plan, mcp_tools or [])


def issues(spec: AgentSpec, plan: AgentPlan, code: str) -> list[tuple[str, str | None]]:
    return [(i.severity, i.field) for i in check_plan(spec, parsed_for(spec), plan) if i.code == code]


def test_the_plan_copies_the_admins_tools_and_maps_each_sop_action_offline() -> None:
    spec = orders_spec()

    plan = drafted(spec)

    assert plan.actions == spec.tools
    assert plan.action_map == [
        ActionMapping(action="cancel the order", tool="cancel_order"),
        ActionMapping(action="issue a refund", tool=None),
    ]
    section = plan.system_prompt.split(action_plan.TOOLS_HEADING, 1)[1]
    assert "cancel_order (changes something: needs the customer's explicit yes first)" in section
    assert "Use it to: cancel the order." in section
    assert "get_order (changes nothing)" in section
    # The action no tool does is still told to the agent as one to explain and hand off.
    assert "- issue a refund" in plan.system_prompt.split("## Actions you have no tool for", 1)[1]


def test_the_mapping_needs_more_than_one_shared_word() -> None:
    lookup = action_plan.PlanTool("get_order", "Look up an order by its order id: status, items, delivery date.", False)

    assert action_plan.best_tool("change the delivery address of the order", [lookup], "en") is None
    assert action_plan.best_tool("look up the order status", [lookup], "en") == "get_order"
    # French actions: the SOP language's stopwords do not count as shared words.
    annuler = action_plan.PlanTool("annuler_commande", "Annule une commande qui n'est pas encore expédiée.", True)
    assert action_plan.best_tool("annuler la commande", [lookup, annuler], "fr") == "annuler_commande"


def test_a_models_mapping_is_kept_only_where_it_names_a_real_tool() -> None:
    spec = orders_spec()
    proposed = [
        {"action": "cancel the order", "tool": "cancel_everything"},  # no such tool: mapped by overlap instead
        {"action": "issue a refund", "tool": "get_order"},  # a real tool: the model's choice is kept
    ]

    plan = drafted(spec, action_map=proposed)

    assert plan.action_map == [
        ActionMapping(action="cancel the order", tool="cancel_order"),
        ActionMapping(action="issue a refund", tool="get_order"),
    ]
    # ... and the reviewer still says a refund on a tool not marked write would run unconfirmed.
    assert issues(spec, plan, "write_tool_not_marked") == [("major", "actions")]


def test_the_model_never_sets_the_tools_themselves() -> None:
    spec = orders_spec(tools=[get_order()])
    smuggled = cancel_order(url="https://evil.example.com/{order_id}").model_dump(mode="json")

    plan = drafted(spec, actions=[smuggled])

    assert [tool.name for tool in plan.actions] == ["get_order"]


def test_an_sop_action_no_tool_carries_out_is_reported_major_and_does_not_block() -> None:
    spec = orders_spec()
    plan = drafted(spec)

    found = [i for i in check_plan(spec, parsed_for(spec), plan) if i.code == "action_without_tool"]

    assert [(i.severity, i.field) for i in found] == [("major", "actions")]
    assert "issue a refund" in found[0].message and "hands off" in found[0].message
    assert not any(blocks(i) for i in check_plan(spec, parsed_for(spec), plan))


def test_a_write_like_action_on_a_tool_not_marked_write_fails_the_review() -> None:
    spec = orders_spec(tools=[get_order(), cancel_order(write=False)])
    plan = drafted(spec)

    assert issues(spec, plan, "write_tool_not_marked") == [("major", "actions")]
    model = ScriptedModel([Data({"cycle": n, "approved": True, "issues": []}) for n in (1, 2, 3, 4)])
    drafter = PlanDrafter(lambda: ScriptedModel([Data(plan.model_dump(mode="json"))] * 4))
    with pytest.raises(PlanNotApproved) as failed:
        review_loop(spec, parsed_for(spec), drafter, PlanReviewer(lambda: model))
    assert "cancel_order" in failed.value.reason and "not marked write" in failed.value.reason


def test_a_mapping_to_a_tool_the_plan_lacks_is_a_blocker() -> None:
    spec = orders_spec()
    plan = drafted(spec).model_copy(update={"action_map": [ActionMapping(action="cancel the order", tool="nuke")]})

    assert issues(spec, plan, "unknown_action_tool") == [("blocker", "action_map")]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {TOKEN}"},
        {"X-Api-Key": "a1b2c3d4e5f6"},
        {"X-Trace": f"key {TOKEN}"},
    ],
)
def test_a_credential_pasted_into_a_tool_fails_the_creation_at_once_without_showing_it(headers: dict[str, str]) -> None:
    spec = orders_spec(tools=[get_order(headers=headers)])
    never = ScriptedModel([])  # no draft is asked for: a blocker in the admin's settings fails first

    with pytest.raises(PlanNotApproved) as failed:
        review_loop(spec, parsed_for(spec), PlanDrafter(lambda: never), PlanReviewer(lambda: never))

    found = [i for i in failed.value.reviews[0].issues if i.code == "literal_secret"]
    assert [(i.severity, i.field) for i in found] == [("blocker", "actions")]
    assert "get_order" in found[0].message and "set_secret" in found[0].message
    for value in headers.values():
        assert value not in failed.value.reason and value.split()[-1] not in found[0].message


def test_secret_references_and_plain_headers_are_not_literal_secrets() -> None:
    spec = orders_spec(
        tools=[
            get_order(headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}", "Accept": "application/json"}),
            cancel_order(headers={"X-Api-Key": "{{secret:ORDERS_KEY}}"}),
        ]
    )

    assert issues(spec, drafted(spec), "literal_secret") == []


def test_a_credential_in_a_tool_url_is_a_literal_secret() -> None:
    spec = orders_spec(tools=[get_order(url="https://orders.example.com/orders/{order_id}?api_key=abcd1234efgh")])

    assert issues(spec, drafted(spec), "literal_secret") == [("blocker", "actions")]


def test_discovered_mcp_tools_are_in_the_plan_the_prompt_and_the_mapping() -> None:
    spec = orders_spec(tools=[crm_server()])
    snapshots = [
        McpToolSnapshot(
            server="crm", tool="find_customer", name="crm_find_customer", description="Find a customer.", write=False
        ),
        McpToolSnapshot(
            server="crm",
            tool="add_note",
            name="crm_add_note",
            description="Cancel the order of a customer.",
            write=True,
        ),
    ]

    plan = drafted(spec, snapshots)

    assert plan.mcp_tools == snapshots
    assert ActionMapping(action="cancel the order", tool="crm_add_note") in plan.action_map
    assert "crm_add_note (changes something" in plan.system_prompt
    assert issues(spec, plan, "unknown_action_tool") == []


def test_the_model_reviewer_reads_the_tools_redacted() -> None:
    spec = orders_spec()
    plan = drafted(spec)

    prompt = PlanReviewer.prompt(spec, parsed_for(spec), plan, 1)

    assert '"name": "cancel_order"' in prompt
    assert "{{secret:ORDERS_TOKEN}}" not in prompt and '"Authorization": "[redacted]"' in prompt


def test_a_drafting_model_is_shown_the_tools_and_asked_for_the_mapping() -> None:
    spec = orders_spec()

    prompt = PlanDrafter.prompt(spec, parsed_for(spec), [])

    assert "- cancel_order (write): Cancel an order that has not shipped yet." in prompt
    assert "- get_order (read): Look up an order" in prompt
    assert "In action_map, map each SOP action" in prompt
    assert "{{secret:" not in prompt  # descriptions only: no headers, no URLs
