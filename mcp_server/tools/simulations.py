"""Simulation tools: see an agent's scenarios, add the admin's own, mark what blocks a deploy, re-run, read reports.

Scenarios are derived by the AgentCreator from the SOP and the plan at every build; an admin adds
scenarios of their own and marks any scenario critical (a failed critical scenario blocks the next
deploy) or not. A re-run holds the serving version's conversations again on its model and stores
the new report; it is bounded per tenant (one at a time, a few per minute, a capped scenario count).
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.tools._register import reads, tool, writes
from oratio.errors import InvalidState
from schemas import Identifier, Model
from schemas.simulation import Scenario, ScenarioId, SimulationReport

AgentId = Annotated[Identifier, Field(description="Id of the agent, e.g. agt_01...")]
Version = Annotated[
    int | None, Field(ge=1, description="Agent version (artifact_version); null means the version serving now")
]


class ScenarioList(Model):
    scenarios: list[Scenario]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, reads("List scenarios"))
    async def list_scenarios(agent_id: AgentId) -> ScenarioList:
        """List the scenarios an agent is held to: those derived from its SOP at the last build (origin
        "derived") and the admin's own ("admin"), each with its assertions and whether it is critical
        (a failed critical scenario blocks deployment; the others are reported)."""
        principal = tc.principal()
        return ScenarioList(scenarios=await tc.call(lambda: platform.simulations.scenarios(principal, agent_id)))

    @tool(server, writes("Add scenario", destructive=False, idempotent=False))
    async def add_scenario(agent_id: AgentId, scenario: Scenario) -> Scenario:
        """Add a scenario of your own to an agent; it runs from the next build or run_simulations on.

        Give scripted `customer_messages` (sent in order) and/or a `goal` and `persona` that a simulated
        customer plays when a model is configured, and `assertions` that must hold afterwards: handed_off,
        not_handed_off, tool_called {tool, arguments}, tool_not_called {tool}, refused, asked_for {field},
        cited_source, did_not_say {text}. Set `critical` true to block deploys when it fails.
        """
        principal = tc.principal()
        return await tc.call(lambda: platform.simulations.add(principal, agent_id, scenario))

    @tool(server, writes("Mark scenario critical", destructive=False, idempotent=True))
    async def set_scenario_critical(
        agent_id: AgentId,
        scenario_id: Annotated[ScenarioId, Field(description="The scenario's id, as list_scenarios shows it")],
        critical: Annotated[bool, Field(description="True: its failure blocks a deploy; false: only reported")],
    ) -> Scenario:
        """Mark one of the agent's scenarios (derived or your own) critical or not, from the next run on."""
        principal = tc.principal()
        return await tc.call(lambda: platform.simulations.set_critical(principal, agent_id, scenario_id, critical))

    @tool(server, writes("Run simulations", destructive=False, idempotent=False, open_world=True))
    async def run_simulations(agent_id: AgentId, version: Version = None) -> SimulationReport:
        """Run the agent's scenarios again on a deployed version (default: the one serving now) and store
        the report for that version. The conversations run on the agent's own model and nothing reaches
        customers or their systems. Bounded: one run per organisation at a time, a few per minute, and at
        most ORATIO_SIMULATION_SCENARIOS_MAX scenarios per run. Deployment is not changed by a re-run.
        """
        principal = tc.principal()
        builder = platform.builder
        if builder is None:
            with tool_errors():
                raise InvalidState("no AgentCreator is attached to this server, so nothing can run scenarios")
        _, plan, found = await tc.call(lambda: platform.simulations.plan(principal, agent_id, version))
        with tool_errors():
            async with platform.simulations.run_slot(principal.tenant_id):
                report = await builder.simulate(principal.tenant_id, agent_id, plan, found)
        await tc.call(lambda: platform.simulations.store_report(principal.tenant_id, agent_id, report))
        return report

    @tool(server, reads("Get simulation report"))
    async def get_simulation_report(agent_id: AgentId, version: Version = None) -> SimulationReport:
        """The stored simulation report of an agent version (default: the serving one): each scenario's
        result, transcript and failures, whether it is critical, and whether the version passed the policy."""
        principal = tc.principal()
        return await tc.call(lambda: platform.simulations.report(principal, agent_id, version))
