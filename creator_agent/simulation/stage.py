"""The pipeline's `simulate` stage, and `AgentCreator.simulate` for an admin-edited plan: which scenarios
run (derived + the admin's, as marked, critical first, at most `ORATIO_SIMULATION_SCENARIOS_MAX`),
on which models, and what a report means for a build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strands.models import Model

from creator_agent._llm import ModelFactory
from creator_agent.context import CreatorServices
from creator_agent.simulation.derive import derive_scenarios, with_admin
from creator_agent.simulation.run import Simulator
from schemas import AgentPlan, ParsedSop, TestOutcome
from schemas.simulation import ScenarioResult, SimulationReport


@dataclass(frozen=True)
class SimulationInput:
    tenant_id: str
    agent_id: str
    agent_name: str
    plan: AgentPlan
    parsed: ParsedSop
    version: int
    knowledge_question: str | None


async def simulate(
    platform: CreatorServices,
    given: SimulationInput,
    serving: Callable[[], Model],
    *,
    players: ModelFactory | None,
    time_limit_s: float,
) -> tuple[SimulationReport, int]:
    """Run the agent's scenarios on `given.plan`; returns the report and the model calls spent.

    `players` (a real model, or None offline) plays the customer and judges wording.
    """
    book = platform.simulations.book(given.tenant_id, given.agent_id)
    scenarios = with_admin(derive_scenarios(given.plan, given.parsed, given.knowledge_question), book)
    cap = platform.settings.simulation_scenarios_max
    ordered = sorted(scenarios, key=lambda s: not s.critical)  # stable: critical ones first, in derived order
    notes = []
    if len(ordered) > cap:
        notes.append(f"{len(ordered) - cap} scenarios over the limit of {cap} per run were not run")
    simulator = Simulator(
        platform.knowledge,
        serving,
        time_limit_s=time_limit_s,
        customer=players,
        judge=players,
        run_budget_s=platform.settings.simulation_run_seconds,
    )
    report = await simulator.run(
        given.tenant_id, given.agent_id, given.agent_name, given.plan, ordered[:cap], given.version, notes
    )
    return report, simulator.model_calls


def outcomes(report: SimulationReport) -> list[TestOutcome]:
    """One line per scenario for the creation record (`CreationRecord.tests`)."""
    return [
        TestOutcome(name=r.name or r.scenario_id, passed=r.passed, detail=_detail(r)[:2000]) for r in report.results
    ]


def _detail(result: ScenarioResult) -> str:
    marking = "critical" if result.critical else "reported"
    if result.skipped is not None:
        return f"{marking}, skipped: {result.skipped}"
    if result.failures:
        return f"{marking}: {'; '.join(result.failures)}"
    said = " | ".join(line.text for line in result.transcript if line.role == "agent")
    return f"{marking}, passed; replied: {said[:300]}"


def failure_reason(report: SimulationReport) -> str:
    failed = report.critical_failures
    names = "; ".join(f"{r.name} ({'; '.join(r.failures)})" for r in failed)
    return f"{len(failed)} critical scenario(s) of {len(report.results)} failed: {names}"


def summary(report: SimulationReport) -> str:
    ran = [r for r in report.results if r.skipped is None]
    passed = sum(r.passed for r in ran)
    skipped = len(report.results) - len(ran)
    text = f"{passed} of {len(ran)} scenarios passed (every critical one)"
    return text + (f"; {skipped} skipped (need a model)" if skipped else "")
