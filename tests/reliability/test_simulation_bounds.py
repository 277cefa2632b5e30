"""Simulations are tenant-scoped and bounded: another tenant reaches none of an agent's scenarios or
reports, and admin scenarios (count, bytes), re-runs (one at a time, a rate) and scenarios per run
are capped, each refusal a clear tool error (issue 17, item 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from creator_agent.models import attach_creator
from mcp_server import OperatorPrincipal, build_server
from oratio.platform import Platform
from oratio.services.simulations import BOOK_BYTES_MAX, book_key
from schemas import Agent, AgentStatus, Principal
from schemas.simulation import Scenario, SimulationReport
from tests.support.mcp import call_as, call_error
from tests.support.tenants import new_principal

pytestmark = pytest.mark.anyio

SOP = """# Desk SOP
## Steps
1. Greet the customer.
## Rules
- Never share another customer's order details.
- Never promise a delivery date.
## Escalation
- Hand off to a human when the customer asks for a manager.
"""


def own(n: int, size: int = 10) -> dict[str, Any]:
    return {
        "id": f"own_{n}",
        "name": f"own {n}",
        "customer_messages": ["x" * size] * (10 if size > 10 else 1),
        "assertions": [{"kind": "not_handed_off"}],
    }


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def platform_settings(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"model": "scripted", **overrides}


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
async def rival(platform: Platform) -> AsyncIterator[Client]:
    async with Client(build_server(platform, OperatorPrincipal(new_principal(platform, "Globex")))) as connected:
        yield connected


@pytest.fixture
async def agent(client: Client) -> Agent:
    spec = {"name": "Desk", "sop": SOP, "handoff": {"enabled": True}}
    created = await call_as(client, "create_agent", {"spec": spec}, Agent)
    assert created.status is AgentStatus.ACTIVE
    return created


async def test_another_tenant_reaches_no_scenario_or_report(
    platform: Platform, client: Client, rival: Client, acme: Principal, agent: Agent
) -> None:
    await call_as(client, "add_scenario", {"agent_id": agent.id, "scenario": own(1)}, Scenario)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_scenarios", {"agent_id": agent.id}),
        ("add_scenario", {"agent_id": agent.id, "scenario": own(2)}),
        ("set_scenario_critical", {"agent_id": agent.id, "scenario_id": "own_1", "critical": True}),
        ("run_simulations", {"agent_id": agent.id}),
        ("get_simulation_report", {"agent_id": agent.id}),
        ("get_simulation_report", {"agent_id": agent.id, "version": 1}),
    ]
    for tool, arguments in calls:
        error = await call_error(rival, tool, arguments)
        assert "not_found: " in error and acme.tenant_id not in error, (tool, error)
    # Nothing of the rival's calls landed in Acme's book, and Acme's book lives under Acme's prefix only.
    book = platform.simulations.book(acme.tenant_id, agent.id)
    assert [s.id for s in book.scenarios] == ["own_1"] and book.critical == {}
    assert book_key(acme.tenant_id, agent.id).startswith(f"{acme.tenant_id}/agents/{agent.id}/")


@pytest.mark.parametrize("overrides", [{"simulation_admin_scenarios_max": 2}])
async def test_admin_scenarios_are_capped_in_count(client: Client, agent: Agent) -> None:
    for n in range(2):
        await call_as(client, "add_scenario", {"agent_id": agent.id, "scenario": own(n)}, Scenario)
    error = await call_error(client, "add_scenario", {"agent_id": agent.id, "scenario": own(9)})
    assert "invalid_input: an agent holds at most 2 admin scenarios" in error


async def test_admin_scenarios_are_capped_in_bytes(platform: Platform, client: Client, agent: Agent) -> None:
    big = len(Scenario.model_validate(own(0, 2000)).model_dump_json())
    fits = BOOK_BYTES_MAX // big
    for n in range(fits):
        await call_as(client, "add_scenario", {"agent_id": agent.id, "scenario": own(n, 2000)}, Scenario)
    error = await call_error(client, "add_scenario", {"agent_id": agent.id, "scenario": own(fits, 2000)})
    assert "invalid_input: " in error and f"{BOOK_BYTES_MAX}-byte limit" in error
    assert len(platform.backends.blobs.get(book_key(agent.tenant_id, agent.id))) <= BOOK_BYTES_MAX


@pytest.mark.parametrize("overrides", [{"simulation_runs_per_minute": 1}])
async def test_re_runs_are_rate_limited_per_tenant(client: Client, rival: Client, agent: Agent) -> None:
    await call_as(client, "run_simulations", {"agent_id": agent.id}, SimulationReport)
    error = await call_error(client, "run_simulations", {"agent_id": agent.id})
    assert "rate_limited: " in error
    # Another tenant's budget is its own.
    theirs = await call_as(rival, "create_agent", {"spec": {"name": "Desk", "sop": SOP}}, Agent)
    await call_as(rival, "run_simulations", {"agent_id": theirs.id}, SimulationReport)


async def test_one_re_run_per_tenant_at_a_time(platform: Platform, client: Client, agent: Agent) -> None:
    async with platform.simulations.run_slot(agent.tenant_id):  # a run in progress
        error = await call_error(client, "run_simulations", {"agent_id": agent.id})
    assert "conflict: a simulation run is already in progress" in error
    await call_as(client, "run_simulations", {"agent_id": agent.id}, SimulationReport)  # the slot is free again


@pytest.mark.parametrize("overrides", [{"simulation_scenarios_max": 2}])
async def test_a_run_holds_at_most_the_cap_critical_first(client: Client, agent: Agent) -> None:
    await call_as(client, "add_scenario", {"agent_id": agent.id, "scenario": own(1)}, Scenario)

    report = await call_as(client, "run_simulations", {"agent_id": agent.id}, SimulationReport)

    assert len(report.results) == 2 and all(r.critical for r in report.results)
    assert report.notes and "over the limit of 2" in report.notes[0]
