"""Running scenarios against a plan through the runtime's own agent loop, storing nothing.

Each customer message goes the way a production turn goes: the plan's handoff rules are checked in
code first (`oratio.runtime.handoff.matching_rule`), then the plan's Strands agent runs on the model
that will serve customers (`oratio.runtime.agent_run`), and the outcome is settled by
`oratio.runtime.settle` on an in-memory `Rehearsed` session: no session row, no transcript, no
alert. The customer's own systems are not called (no webhook caller is given, so `call_webhook` is
never offered to the model; the admin's tools answer from `SandboxRunner` through the engine's own
`ActionTurn`, write calls held by its confirmation `Gate` until the customer confirms, the confirmed
call reaching the model through `settled_messages`, as in a customer's turn). What the model asked its
tools for is recorded by wrapping the model (`RecordingModel`), so `tool_called` sees
the arguments exactly as the model sent them.

Offline the scripted messages are sent. With `customer` (a model) a simulated customer plays the
scenario's persona and goal for up to `max_turns` turns, and `judge` decides the wording assertions
the markers in `checks.py` did not confirm. Each scenario is bounded by `time_limit_s` as a whole.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

import anyio
from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from creator_agent._llm import ModelFactory
from creator_agent.errors import CreationFailed
from creator_agent.simulation import checks
from creator_agent.simulation.judge import judge, next_message
from creator_agent.simulation.sandbox import SandboxRunner
from oratio.ids import new_id
from oratio.runtime.action_tools import settled_messages
from oratio.runtime.action_turn import ActionTurn, catalog
from oratio.runtime.agent_run import AgentRun, stream_reply
from oratio.runtime.confirmation import Gate, Verdict
from oratio.runtime.handoff import matching_rule
from oratio.runtime.history import conversation
from oratio.runtime.reply import ReplyBuilder
from oratio.runtime.settle import Rehearsed, settle
from oratio.runtime.tools import TurnOutcome
from oratio.services.knowledge import KnowledgeService
from schemas import AgentPlan, Role, SessionStatus, ToolCallRecord, ToolCallStatus, Turn
from schemas.simulation import TRANSCRIPT_TEXT_MAX, Scenario, ScenarioResult, SimulationReport, TranscriptLine

NEEDS_MODEL = "needs a model: a simulated customer plays this goal; none is configured (set ORATIO_MODEL)"


class RecordingModel(Model):
    """A model that passes everything through to `inner` and records the tool calls it asks for."""

    def __init__(self, inner: Model, calls: list[tuple[str, dict[str, Any]]]) -> None:
        self._inner = inner
        self._calls = calls

    def update_config(self, **model_config: Any) -> None:
        self._inner.update_config(**model_config)

    def get_config(self) -> Any:
        return self._inner.get_config()

    def structured_output(self, *args: Any, **kwargs: Any) -> Any:
        return self._inner.structured_output(*args, **kwargs)

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        name: str | None = None
        raw: list[str] = []
        async for event in self._inner.stream(messages, tool_specs, system_prompt, **kwargs):
            if "contentBlockStart" in event:
                use = event["contentBlockStart"].get("start", {}).get("toolUse")
                if use is not None:
                    name, raw = use["name"], []
            elif "contentBlockDelta" in event and name is not None:
                raw.append(str(event["contentBlockDelta"].get("delta", {}).get("toolUse", {}).get("input", "")))
            elif "contentBlockStop" in event and name is not None:
                self._calls.append((name, _arguments("".join(raw))))
                name = None
            yield event


def _arguments(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class Simulator:
    """Runs scenarios against one plan; `model_calls` counts the serving model's, customer's and judge's calls."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        serving: Callable[[], Model],
        *,
        time_limit_s: float,
        customer: ModelFactory | None = None,
        judge: ModelFactory | None = None,
        run_budget_s: float | None = None,
        sandbox: Callable[[], SandboxRunner] = SandboxRunner,
    ) -> None:
        """`time_limit_s` bounds each scenario; `run_budget_s` (None: none) bounds a whole `run`, after which
        the scenarios left fail as not run (a hung model must not hold a run for scenarios x limit)."""
        self._knowledge = knowledge
        self._sandbox = sandbox
        self._budget = run_budget_s
        self._serving = serving
        self._limit = time_limit_s
        self._customer = customer
        self._judge = judge
        self.model_calls = 0

    async def run(
        self,
        tenant_id: str,
        agent_id: str,
        agent_name: str,
        plan: AgentPlan,
        scenarios: Sequence[Scenario],
        version: int,
        notes: Sequence[str] = (),
    ) -> SimulationReport:
        deadline = None if self._budget is None else anyio.current_time() + self._budget
        results = []
        for scenario in scenarios:
            if deadline is not None and anyio.current_time() >= deadline:
                results.append(_not_run(scenario, f"not run: the run's time budget of {self._budget:g}s ran out"))
                continue
            results.append(await self.one(tenant_id, agent_id, agent_name, plan, scenario))
        passed = not any(r.critical and not r.passed and r.skipped is None for r in results)
        return SimulationReport(
            version=version,
            results=results,
            scenarios=list(scenarios),
            passed=passed,
            simulated_customer=self._customer is not None,
            notes=list(notes)[:20],
        )

    async def one(
        self, tenant_id: str, agent_id: str, agent_name: str, plan: AgentPlan, scenario: Scenario
    ) -> ScenarioResult:
        played = self._customer is not None and scenario.goal is not None
        if not played and scenario.needs_model:
            return ScenarioResult(
                scenario_id=scenario.id,
                name=scenario.name,
                passed=False,
                critical=scenario.critical,
                skipped=NEEDS_MODEL,
            )
        sandbox = self._sandbox()
        sandbox.failing = sandbox.failing | frozenset(scenario.failing_tools)
        conversation_ = _Conversation(tenant_id, agent_id, plan, sandbox)
        seen = checks.Observed()
        with anyio.move_on_after(self._limit) as scope:
            await self._converse(conversation_, seen, tenant_id, agent_id, agent_name, plan, scenario, played)
        failures = []
        if scope.cancelled_caught:
            failures.append(f"the scenario did not finish within {self._limit:g}s")
        if seen.failure is not None:
            failures.append(seen.failure)
        else:
            failures += await self._decide(scenario, seen, conversation_.lines)
        return ScenarioResult(
            scenario_id=scenario.id,
            name=scenario.name,
            passed=not failures,
            critical=scenario.critical,
            transcript=conversation_.lines[-20:],
            failures=[f[:500] for f in failures[:20]],
        )

    async def _converse(
        self,
        talk: _Conversation,
        seen: checks.Observed,
        tenant_id: str,
        agent_id: str,
        agent_name: str,
        plan: AgentPlan,
        scenario: Scenario,
        played: bool,
    ) -> None:
        scripted = list(scenario.customer_messages)
        turns = scenario.max_turns if played else len(scripted)
        for _ in range(turns):
            if played:
                assert self._customer is not None
                self.model_calls += 1
                try:
                    turn = await next_message(self._customer, scenario, plan.language, talk.lines, self._limit)
                except CreationFailed as exc:
                    seen.failure = f"the simulated customer failed: {exc.reason}"
                    return
                if turn.done or not turn.message.strip():
                    return
                text = turn.message
            else:
                text = scripted.pop(0)
            await self._turn(talk, seen, tenant_id, agent_id, agent_name, plan, text)
            if seen.failure is not None or seen.handed_off or talk.status is not SessionStatus.ACTIVE:
                return

    async def _turn(
        self,
        talk: _Conversation,
        seen: checks.Observed,
        tenant_id: str,
        agent_id: str,
        agent_name: str,
        plan: AgentPlan,
        text: str,
    ) -> None:
        outcome = TurnOutcome()
        reply = ReplyBuilder()
        calls: list[tuple[str, dict[str, Any]]] = []
        rule = matching_rule(plan, text)
        rule_reason = None if rule is None else f"handoff rule '{rule.id}'"
        # The engine's gate, rule 2: the customer's message settles a held write action before any model
        # runs (a handoff rule that matches drops it), exactly as `ConversationEngine` does.
        held = talk.gate.pending
        verdict = Verdict.OTHER
        if held is not None:
            verdict = talk.gate.customer_said(text, plan.language) if rule is None else Verdict.OTHER
            talk.gate.pending, talk.gate.approved = None, held if verdict is Verdict.CONFIRM else None
        actions = ActionTurn(
            runner=talk.sandbox,
            actions=talk.actions,
            tenant_id=tenant_id,
            agent_id=agent_id,
            session_id=None,
            language=plan.language,
            turn_seq=len(talk.turns) + 2,
            outcome=outcome,
            gate=talk.gate,
        )
        settled_ = None if held is None else await actions.settle_held(verdict, held)
        history, said = conversation(talk.turns, text, tools=True)
        prompt: Any = said if settled_ is None else settled_messages(said, settled_)
        if rule_reason is None:
            run = AgentRun(
                plan=plan,
                model=RecordingModel(self._serving(), calls),
                knowledge=self._knowledge,
                tenant_id=tenant_id,
                agent_id=agent_id,
                agent_name=agent_name,
                outcome=outcome,
                actions=actions,
            )
            self.model_calls += 1
            async for _ in stream_reply(
                run, history, prompt, reply, time_limit_s=self._limit, system_prompt=plan.system_prompt
            ):
                pass
            if run.failure is not None:
                seen.failure = f"the model failed: {run.failure}"
                return
        settled = settle(talk.effects, talk.status, outcome, rule_reason=rule_reason)
        talk.status = settled.status
        proposed = talk.gate.pending
        if (words := settled.final_words(plan)) is not None:
            reply.finish(words)
            talk.gate.pending = None  # as in the engine: a reply that ends the turn this way holds nothing
        elif proposed is not None and proposed.statement not in reply.text:
            reply.finish(proposed.statement)  # rule 1: the customer hears, rendered in code, what would run
        talk.proposed += [c.name for c in outcome.tool_calls if c.status is ToolCallStatus.AWAITING_CONFIRMATION]
        seen.handed_off = seen.handed_off or settled.handoff
        seen.sources += len(outcome.sources)
        seen.tool_calls += calls
        seen.ran = list(talk.sandbox.ran)
        seen.confirmations = list(talk.proposed)
        seen.replies.append(reply.text)
        talk.add(text, reply.text, [name for name, _ in calls], outcome.tool_calls)

    async def _decide(self, scenario: Scenario, seen: checks.Observed, lines: list[TranscriptLine]) -> list[str]:
        failures = []
        for assertion in scenario.assertions:
            problem = checks.check(assertion, seen)
            if problem is not None and self._judge is not None and checks.judged_by_model(assertion):
                self.model_calls += 1
                verdict = await judge(self._judge, assertion, scenario, lines, self._limit)
                problem = None if verdict.holds else f"{problem} (judge: {verdict.reason})"
            if problem is not None:
                failures.append(problem)
        return failures


def _not_run(scenario: Scenario, why: str) -> ScenarioResult:
    return ScenarioResult(
        scenario_id=scenario.id, name=scenario.name, passed=False, critical=scenario.critical, failures=[why]
    )


class _Conversation:
    """The in-memory conversation of one scenario: turns for the model's history, lines for the report."""

    def __init__(self, tenant_id: str, agent_id: str, plan: AgentPlan, sandbox: SandboxRunner) -> None:
        self._tenant = tenant_id
        self._session = new_id("session")  # never stored: it only gives the in-memory turns an owner
        self.turns: list[Turn] = []
        self.lines: list[TranscriptLine] = []
        self.effects = Rehearsed()  # what the conversation would have done to a session; nothing is stored
        self.status = SessionStatus.ACTIVE
        # The admin's tools answer from a sandbox that never calls out; write calls go through the gate.
        self.sandbox = sandbox
        self.actions = catalog(plan)
        self.gate = Gate()  # the conversation's held write action, as `Session.pending_action` keeps it
        self.proposed: list[str] = []
        """Write tools held for a confirmation whose statement the customer was shown."""

    def add(self, customer: str, agent: str, tools: list[str], calls: Sequence[ToolCallRecord] = ()) -> None:
        seq = len(self.turns)
        shown = agent or "(no reply)"
        self.turns.append(_turn(self._tenant, self._session, seq + 1, Role.CUSTOMER, customer))
        # The agent's turn keeps its tool calls, as a stored turn does: the model's history shows them.
        self.turns.append(
            _turn(self._tenant, self._session, seq + 2, Role.AGENT, shown).model_copy(
                update={"tool_calls": list(calls)}
            )
        )
        self.lines.append(TranscriptLine(role="customer", text=customer[:TRANSCRIPT_TEXT_MAX]))
        self.lines.append(TranscriptLine(role="agent", text=shown[:TRANSCRIPT_TEXT_MAX], tools=tools[:50]))


def _turn(tenant_id: str, session_id: str, seq: int, role: Role, text: str) -> Turn:
    return Turn(tenant_id=tenant_id, session_id=session_id, seq=seq, role=role, text=text[:8000])
