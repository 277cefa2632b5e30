"""SOP-derived test conversations, run against a candidate plan before it may serve anyone.

The tests are derived in code from the parsed SOP and the plan: every trigger rule must fire on a
message that states its condition and must not fire on an in-scope one, an ordinary greeting must not
hand off, and when the agent has documents a question about them must come back with sources.
Judgement conditions get no derived test here (simulations replace this module). They run through
the runtime's own agent loop (`oratio.runtime.agent_run`) with the real knowledge base, so a plan passes only if it
behaves as it will in production; nothing is stored, and the customer's own systems (`call_webhook`)
are not called by a rehearsal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from strands.models import Model

from creator_agent.coverage import amount_example
from oratio.ids import new_id
from oratio.runtime.agent_run import AgentRun, stream_reply
from oratio.runtime.handoff import could_not_help, matching_rule, rule_matches
from oratio.runtime.history import conversation
from oratio.runtime.reply import ReplyBuilder
from oratio.runtime.settle import Rehearsed, settle
from oratio.runtime.tools import TurnOutcome
from oratio.services.knowledge import KnowledgeService
from schemas import AgentPlan, HandoffRule, Role, SessionStatus, TestConversation, TestOutcome, Turn

GREETING = "Hello, I have a quick question."
IN_SCOPE = "Hi. I cannot find how this is handled on your website; could you explain it to me?"
"""An ordinary question that holds words a keyword list compiled from a judgement condition would catch
("cannot", "handled"): no handoff rule may fire on it."""
HUMAN_REQUEST = "Hi. Can I talk to a human, please?"


def derive_tests(plan: AgentPlan, knowledge_question: str | None) -> list[TestConversation]:
    """The checks a plan must pass: per trigger rule a message that fires it and an in-scope one that must
    not, a greeting, and a knowledge question.

    The plan's rules were checked against the parsed SOP's trigger conditions by the plan reviewer, so
    testing every rule tests every trigger. Judgement conditions (`handoff_judgement`) get no test here:
    whether the model judges them well cannot be decided by the code that wrote them.
    """
    tests = [TestConversation(name="a greeting does not hand off", customer_messages=[GREETING])]
    for rule in plan.handoff_rules:
        example = _firing_example(rule)
        if example is not None:
            tests.append(
                TestConversation(
                    name=f"handoff rule '{rule.id}' fires: {rule.description}"[:200],
                    customer_messages=[example],
                    expect_handoff=True,
                )
            )
        negative = amount_example(rule, above=False) if rule.kind == "amount" else IN_SCOPE
        # One in-scope turn reaches a repeated-failures count of one when the agent cannot answer it: not a
        # false handoff, so that rule gets a negative case only when one turn cannot reach it.
        single_turn = rule.kind == "repeated_failures" and (rule.failures_over or 0) <= 1
        if rule.kind != "regex" and not single_turn and negative is not None and not rule_matches(rule, negative):
            tests.append(
                TestConversation(
                    name=f"handoff rule '{rule.id}' does not fire in scope: {rule.description}"[:200],
                    customer_messages=[negative],
                )
            )
    if knowledge_question is not None:
        tests.append(
            TestConversation(
                name="a question about the documents gets a cited answer",
                customer_messages=[knowledge_question],
                expect_sources=True,
            )
        )
    return tests


def _firing_example(rule: HandoffRule) -> str | None:
    match rule.kind:
        case "keywords":
            return f"Hi. {rule.patterns[0]}"
        case "amount":
            return amount_example(rule)
        case "human_request":
            return HUMAN_REQUEST
        case _:
            # A hand-written regex has no canonical example (its compile check ran at deploy time); a
            # repeated-failures rule needs the agent to fail, which a single scripted message cannot show.
            return None


class Rehearsal:
    def __init__(self, knowledge: KnowledgeService, model_factory: Callable[[], Model], *, time_limit_s: float) -> None:
        self._knowledge = knowledge
        self._models = model_factory
        self._limit = time_limit_s
        self.model_calls = 0

    async def run(
        self, tenant_id: str, agent_id: str, agent_name: str, plan: AgentPlan, tests: Sequence[TestConversation]
    ) -> list[TestOutcome]:
        return [await self._one(tenant_id, agent_id, agent_name, plan, test) for test in tests]

    async def _one(
        self, tenant_id: str, agent_id: str, agent_name: str, plan: AgentPlan, test: TestConversation
    ) -> TestOutcome:
        session_id = new_id("session")  # never stored: it only gives the in-memory turns an owner
        turns: list[Turn] = []
        handed_off = False
        effects = Rehearsed()  # what the conversation would have done to a session; nothing is stored
        status = SessionStatus.ACTIVE
        sourced = False
        replies: list[str] = []
        failed_turns = 0
        for text in test.customer_messages:
            outcome = TurnOutcome()
            reply = ReplyBuilder()
            rule = matching_rule(plan, text)
            rule_reason = None if rule is None else f"handoff rule '{rule.id}'"
            failures: int | None = None
            if rule_reason is None:
                history, prompt = conversation(turns, text)
                run = AgentRun(
                    plan=plan,
                    model=self._models(),
                    knowledge=self._knowledge,
                    tenant_id=tenant_id,
                    agent_id=agent_id,
                    agent_name=agent_name,
                    outcome=outcome,
                )
                self.model_calls += 1
                async for _ in stream_reply(
                    run, history, prompt, reply, time_limit_s=self._limit, system_prompt=plan.system_prompt
                ):
                    pass
                if run.failure is not None:
                    return TestOutcome(name=test.name, passed=False, detail=f"the model failed: {run.failure}")
                failures = failed_turns + 1 if could_not_help(outcome, reply.text, failed=False) else 0
                failed_turns = failures
            settled = settle(effects, status, outcome, rule_reason=rule_reason, failures=failures, plan=plan)
            status = settled.status
            if (words := settled.final_words(plan)) is not None:
                reply.finish(words)
            handed_off = handed_off or settled.handoff
            sourced = sourced or bool(outcome.sources)
            replies.append(reply.text)
            seq = len(turns)
            turns.append(_turn(tenant_id, session_id, seq + 1, Role.CUSTOMER, text))
            turns.append(_turn(tenant_id, session_id, seq + 2, Role.AGENT, reply.text or "(no reply)"))
        problems = []
        if handed_off != test.expect_handoff:
            problems.append("expected a handoff" if test.expect_handoff else "handed off unexpectedly")
        if test.expect_sources and not sourced:
            problems.append("expected an answer with sources")
        said = " ".join(replies).casefold()
        problems.extend(f"reply lacks {part!r}" for part in test.expect_reply_contains if part.casefold() not in said)
        detail = "; ".join(problems) if problems else f"replied: {' | '.join(replies)[:300]}"
        return TestOutcome(name=test.name, passed=not problems, detail=detail)


def _turn(tenant_id: str, session_id: str, seq: int, role: Role, text: str) -> Turn:
    return Turn(tenant_id=tenant_id, session_id=session_id, seq=seq, role=role, text=text[:8000])
