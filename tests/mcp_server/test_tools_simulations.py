"""The simulation tools through the in-process MCP client: list, add, mark, re-run and read reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from mcp_server.tools.simulations import ScenarioList
from oratio.platform import Platform
from schemas import Agent, AgentStatus, Principal
from schemas.simulation import Scenario, SimulationReport
from tests.support.mcp import call_as, call_error
from tests.support.tenants import new_principal

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
- Never share another customer's order details.
## Escalation
- Hand off to a human when the customer asks for a manager.
"""
OWN: dict[str, Any] = {
    "id": "opening_hours",
    "name": "opening hours stay with the agent",
    "origin": "derived",  # an admin cannot pass a scenario off as derived
    "customer_messages": ["When are you open?"],
    "assertions": [{"kind": "not_handed_off"}],
}


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


@pytest.fixture
def platform(platform: Platform) -> Platform:
    return attach_creator(platform)


@pytest.fixture
def acme(platform: Platform) -> Principal:
    return new_principal(platform, "Acme")


@pytest.fixture
async def client(platform: Platform, acme: Principal) -> AsyncIterator[Client]:
    async with Client(build_server(platform, OperatorPrincipal(acme))) as connected:
        yield connected


@pytest.fixture
async def agent(client: Client) -> Agent:
    spec = {"name": "Desk", "sop": SOP, "handoff": {"enabled": True}}
    created = await call_as(client, "create_agent", {"spec": spec}, Agent)
    assert created.status is AgentStatus.ACTIVE
    return created


async def test_the_derived_scenarios_of_the_last_build_are_listed(client: Client, agent: Agent) -> None:
    listed = await call_as(client, "list_scenarios", {"agent_id": agent.id}, ScenarioList)

    by_id = {s.id: s for s in listed.scenarios}
    assert "greeting_stays" in by_id and any(k.startswith("handoff_") for k in by_id), sorted(by_id)
    never = [s for s in listed.scenarios if s.assertions[0].kind == "refused"]
    assert never and never[0].critical and never[0].origin == "derived"


async def test_an_added_scenario_is_the_admins_and_runs_on_the_next_run(client: Client, agent: Agent) -> None:
    added = await call_as(client, "add_scenario", {"agent_id": agent.id, "scenario": OWN}, Scenario)
    assert (added.origin, added.critical) == ("admin", False)

    report = await call_as(client, "run_simulations", {"agent_id": agent.id}, SimulationReport)

    assert report.version == 1 and report.passed
    [mine] = [r for r in report.results if r.scenario_id == "opening_hours"]
    assert mine.passed and mine.transcript[0].text == "When are you open?"
    stored = await call_as(client, "get_simulation_report", {"agent_id": agent.id, "version": 1}, SimulationReport)
    assert stored == report
    listed = await call_as(client, "list_scenarios", {"agent_id": agent.id}, ScenarioList)
    assert [s.origin for s in listed.scenarios if s.id == "opening_hours"] == ["admin"]


async def test_a_bad_or_duplicate_scenario_is_refused_naming_the_field(client: Client, agent: Agent) -> None:
    no_assertions = {**OWN, "assertions": []}
    error = await call_error(client, "add_scenario", {"agent_id": agent.id, "scenario": no_assertions})
    assert "assertions" in error
    unknown_kind = {**OWN, "assertions": [{"kind": "reads_minds"}]}
    assert "assertions" in await call_error(client, "add_scenario", {"agent_id": agent.id, "scenario": unknown_kind})
    await call_as(client, "add_scenario", {"agent_id": agent.id, "scenario": OWN}, Scenario)
    again = await call_error(client, "add_scenario", {"agent_id": agent.id, "scenario": OWN})
    assert "conflict: " in again and "opening_hours" in again
    derived = await call_error(
        client, "add_scenario", {"agent_id": agent.id, "scenario": {**OWN, "id": "greeting_stays"}}
    )
    assert "conflict: " in derived


async def test_marking_a_derived_scenario_changes_the_next_report(client: Client, agent: Agent) -> None:
    marked = await call_as(
        client,
        "set_scenario_critical",
        {"agent_id": agent.id, "scenario_id": "greeting_stays", "critical": False},
        Scenario,
    )
    assert marked.critical is False

    report = await call_as(client, "run_simulations", {"agent_id": agent.id}, SimulationReport)

    assert [r.critical for r in report.results if r.scenario_id == "greeting_stays"] == [False]
    missing = await call_error(
        client, "set_scenario_critical", {"agent_id": agent.id, "scenario_id": "nope", "critical": True}
    )
    assert "not_found: " in missing


async def test_reports_of_unknown_versions_are_a_clear_error(client: Client, agent: Agent) -> None:
    assert "not_found: " in await call_error(client, "get_simulation_report", {"agent_id": agent.id, "version": 7})
    assert "invalid_state: " in await call_error(client, "run_simulations", {"agent_id": agent.id, "version": 7})
