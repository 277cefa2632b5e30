"""The AgentCreator builds plans that carry the admin's tools, end to end on the offline (scripted) creator."""

from __future__ import annotations

from typing import Any

import pytest

from creator_agent.models import creator_models
from creator_agent.pipeline import AgentCreator
from oratio.errors import BackendUnavailable
from oratio.platform import Platform
from schemas import (
    ActionMapping,
    AgentStatus,
    AgentUpdate,
    CreateAgent,
    HttpTool,
    McpServerTool,
    McpToolSnapshot,
    NotificationType,
    Principal,
    Scope,
    StageName,
)
from tests.support.orders_tools import cancel_order, crm_server, get_order, orders_spec

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


class ListedTools:
    """A test double of `ToolDiscovery` (task C implements the real one): what each server lists."""

    def __init__(self, listed: dict[str, list[McpToolSnapshot]], *, failing: bool = False) -> None:
        self.listed = listed
        self.failing = failing
        self.asked: list[tuple[str, str]] = []

    async def discover(self, tenant_id: str, server: McpServerTool) -> list[McpToolSnapshot]:
        self.asked.append((tenant_id, server.name))
        if self.failing:
            raise BackendUnavailable("the MCP server did not answer within 10s")
        return self.listed.get(server.name, [])


def crm_listing() -> list[McpToolSnapshot]:
    # The server claims every tool is read-only; only the admin's read_only_tools count.
    return [
        McpToolSnapshot(server="crm", tool=name, name=f"crm_{name}", description=f"The CRM's {name}.", write=False)
        for name in ("find_customer", "add_note", "delete_everything")
    ]


def _agent(platform: Platform, tools: list[Any]) -> tuple[Principal, str]:
    tenant = platform.tenants.create_tenant("Shop")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    agent = platform.agents.create(owner, CreateAgent(spec=orders_spec(tools=tools)))
    return owner, agent.id


async def test_the_deployed_plan_carries_the_tools_and_their_mapping(platform: Platform) -> None:
    owner, agent_id = _agent(platform, [get_order(), cancel_order()])

    record = await AgentCreator(platform, creator_models(platform.settings)).create(owner.tenant_id, agent_id)

    assert record.succeeded is True, record.failure
    plan = platform.plans.artifact(owner, agent_id, 1).plan  # hash-checked against the deployed sha256
    assert [tool.name for tool in plan.actions] == ["get_order", "cancel_order"]
    assert ActionMapping(action="cancel the order", tool="cancel_order") in plan.action_map
    assert ActionMapping(action="issue a refund", tool=None) in plan.action_map
    # The action no tool carries out is shown to the admin in the record's review, and did not block the build.
    final = record.reviews[-1]
    assert final.approved
    assert [(i.severity, i.field) for i in final.issues if i.code == "action_without_tool"] == [("major", "actions")]


async def test_an_agent_with_an_mcp_server_and_no_discovery_is_refused_with_the_reason(platform: Platform) -> None:
    owner, agent_id = _agent(platform, [crm_server()])

    record = await AgentCreator(platform, creator_models(platform.settings)).create(owner.tenant_id, agent_id)

    assert record.succeeded is False
    assert record.failure is not None and record.failure.startswith("draft_plan: the agent uses the MCP server 'crm'")
    assert platform.agents.get(owner, agent_id).status is AgentStatus.FAILED


async def test_discovered_tools_keep_only_the_allowed_ones_and_the_admins_read_only_marking(platform: Platform) -> None:
    owner, agent_id = _agent(platform, [get_order(), crm_server()])
    discovery = ListedTools({"crm": crm_listing()})
    creator = AgentCreator(platform, creator_models(platform.settings), discovery=discovery)

    record = await creator.create(owner.tenant_id, agent_id)

    assert record.succeeded is True, record.failure
    assert discovery.asked == [(owner.tenant_id, "crm")]
    plan = platform.plans.artifact(owner, agent_id, 1).plan
    assert [(t.name, t.write) for t in plan.mcp_tools] == [("crm_find_customer", False), ("crm_add_note", True)]
    assert record.stages[1].detail.endswith("; 2 MCP tools discovered")


@pytest.mark.parametrize(
    ("discovery", "reason"),
    [
        (ListedTools({}, failing=True), "MCP server 'crm': the MCP server did not answer within 10s"),
        (ListedTools({"crm": crm_listing()[:1]}), "MCP server 'crm' has no tool named add_note"),
    ],
)
async def test_a_server_that_cannot_list_the_allowed_tools_fails_the_build_naming_it(
    platform: Platform, discovery: ListedTools, reason: str
) -> None:
    owner, agent_id = _agent(platform, [crm_server()])

    record = await AgentCreator(platform, creator_models(platform.settings), discovery=discovery).create(
        owner.tenant_id, agent_id
    )

    assert record.failure is not None and record.failure.startswith(f"{StageName.DRAFT_PLAN.value}: {reason}")


async def test_a_tool_change_rebuilds_the_agent_with_the_new_tools(platform: Platform) -> None:
    owner, agent_id = _agent(platform, [get_order()])
    creator = AgentCreator(platform, creator_models(platform.settings))
    first = await creator.create(owner.tenant_id, agent_id)
    assert first.succeeded is True, first.failure
    assert (
        ActionMapping(action="cancel the order", tool=None)
        in platform.plans.artifact(owner, agent_id, 1).plan.action_map
    )

    platform.agents.update(owner, agent_id, AgentUpdate(tools=[get_order(), cancel_order()]))
    second = await creator.create(owner.tenant_id, agent_id)

    assert second.succeeded is True, second.failure
    plan = platform.plans.artifact(owner, agent_id, 2).plan
    assert [tool.name for tool in plan.actions] == ["get_order", "cancel_order"]
    assert ActionMapping(action="cancel the order", tool="cancel_order") in plan.action_map
    assert "cancel_order" in plan.system_prompt


async def test_the_admin_sees_the_tools_and_the_actions_left_to_handoff(platform: Platform) -> None:
    owner, agent_id = _agent(platform, [get_order(), cancel_order()])

    record = await AgentCreator(platform, creator_models(platform.settings)).create(owner.tenant_id, agent_id)

    assert record.succeeded is True, record.failure
    left = "SOP actions no tool carries out, handled by handoff: issue a refund"
    review = next(stage for stage in record.stages if stage.stage is StageName.REVIEW_PLAN)
    assert left in review.detail
    ready = [n for n in platform.notifications.list(owner).items if n.type is NotificationType.AGENT_READY]
    assert [n.body for n in ready] == [left]
    view = platform.plans.view(owner, agent_id)
    assert [tool.name for tool in view.actions] == ["get_order", "cancel_order"]
    assert ActionMapping(action="issue a refund", tool=None) in view.action_map
    cancel = view.actions[1]
    assert isinstance(cancel, HttpTool) and cancel.headers == {"Authorization": "[redacted]"}
    assert any(i.code == "action_without_tool" and i.field == "actions" for i in view.review_issues)
