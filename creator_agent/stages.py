"""The AgentCreator's model stages: parse the SOP, draft a plan, review it (at least twice).

Each stage asks a model for one typed answer, then enforces in code what the SOP and the admin's
spec require, because models paraphrase and drop things: every handoff condition the admin listed
is kept verbatim, every rule and step reaches the system prompt, every handoff condition gets a rule
checked in code, and only vetted tools are used. Each stage counts its model calls for the record.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from creator_agent import coverage
from creator_agent._llm import ModelFactory, structured_call
from creator_agent.errors import CreationFailed, PlanNotApproved
from schemas.agents import AgentSpec, AgentType
from schemas.creation import ParsedSop, PlanReview, ReviewIssue, StageName
from schemas.plan import AgentPlan, HandoffRule, ToolName

DEFAULT_TIMEOUT = 120.0
"""Seconds for one model call of a stage; a creation runs in the background, not in a customer turn."""
BLOCKING = frozenset({"blocker", "major"})
SYSTEM_PROMPT_MAX = 20_000

TOOL_CATALOG: dict[ToolName, str] = {
    ToolName.KNOWLEDGE_SEARCH: "search the agent's knowledge base and cite the documents used",
    ToolName.REQUEST_HANDOFF: "hand the conversation to a human member of staff, with a reason",
    ToolName.END_SESSION: "end the conversation once the customer is done",
    ToolName.COLLECT_INFO: "record a piece of information the SOP says to collect (from information_to_collect)",
    ToolName.CALL_WEBHOOK: "call the organisation's own system (only when the admin configured one)",
}
"""The only tools a plan may use, described for the model; nothing else can run in an agent."""


def _limit(field: str, model: type[Any]) -> int:
    """A list field's `max_length` from the schema, so post-processing never builds an invalid model."""
    for meta in model.model_fields[field].metadata:
        if (value := getattr(meta, "max_length", None)) is not None:
            return int(value)
    raise AssertionError(f"{model.__name__}.{field} has no max_length")  # pragma: no cover


def _catalog_text() -> str:
    return "\n".join(f"- {tool.value}: {text}" for tool, text in TOOL_CATALOG.items())


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "- (none)"


class _Stage:
    """A model-backed stage: its factory, its per-call timeout and how many model calls it made."""

    stage: StageName

    def __init__(self, model_factory: ModelFactory, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._factory = model_factory
        self._timeout = timeout
        self.model_calls = 0

    async def _ask(self, output: type[Any], prompt: str, system_prompt: str) -> Any:
        self.model_calls += 1
        return await structured_call(
            stage=self.stage,
            factory=self._factory,
            output=output,
            prompt=prompt,
            system_prompt=system_prompt,
            seconds=self._timeout,
        )


# -- 1. parse the SOP ---------------------------------------------------------------------------

PARSER_SYSTEM = (
    "You read standard operating procedures (SOPs) for customer-facing support agents and extract what "
    "they require, faithfully and completely. Quote the SOP's own wording where you can; invent nothing. "
    "When the SOP is unclear, contradictory or silent on something an agent would need, say so in "
    "`ambiguities` instead of guessing."
)


class SopParser(_Stage):
    """SOP text -> `ParsedSop`. The admin's handoff conditions are added verbatim if the model missed any."""

    stage = StageName.PARSE_SOP

    def run(self, spec: AgentSpec) -> ParsedSop:
        """Blocking form of `run_async`, for worker threads; not for code inside an event loop."""
        return anyio.run(self.run_async, spec, backend="asyncio")

    async def run_async(self, spec: AgentSpec) -> ParsedSop:
        parsed: ParsedSop = await self._ask(ParsedSop, self.prompt(spec), PARSER_SYSTEM)
        return self.postprocess(spec, parsed)

    @staticmethod
    def prompt(spec: AgentSpec) -> str:
        conditions = _bullets(spec.handoff.conditions) if spec.handoff.enabled else "- (handoff is disabled)"
        return (
            f"Agent name: {spec.name}\n"
            f"Description: {spec.description or '(none)'}\n"
            f"Channel: {spec.agent_type.value}\n\n"
            f"Handoff conditions the admin configured:\n{conditions}\n\n"
            "Extract from the SOP below:\n"
            "- goals: what the agent is for;\n"
            "- steps: the procedure's steps, in order, one per entry;\n"
            "- information_to_collect: what the agent must ask the customer for;\n"
            "- must_rules: what the agent must always do;\n"
            "- never_rules: what the agent must never do;\n"
            "- handoff_conditions: when a human must take over (escalation), including every admin condition;\n"
            "- tone: how the agent should sound;\n"
            "- ambiguities: what the SOP leaves unclear.\n\n"
            f"<sop>\n{spec.sop}\n</sop>"
        )

    @staticmethod
    def postprocess(spec: AgentSpec, parsed: ParsedSop) -> ParsedSop:
        """Trim and de-duplicate every list; put the admin's handoff conditions first, verbatim.

        What small models get wrong is fixed here too: "None" placeholders are dropped, a "Never ..."
        rule filed under must_rules moves to never_rules, and a condition worded "Hand off to a human
        when X" becomes X and is dropped when an admin condition already says it.
        """
        ambiguities = list(parsed.ambiguities)
        musts = [rule for rule in parsed.must_rules if not coverage.is_never_rule(rule)]
        nevers = [*parsed.never_rules, *(rule for rule in parsed.must_rules if coverage.is_never_rule(rule))]
        conditions = [coverage.strip_handoff_lead(c) for c in parsed.handoff_conditions]
        if spec.handoff.enabled:
            admin = spec.handoff.conditions
            conditions = [
                c for c in conditions if not any(coverage.covers(a, c) or coverage.covers(c, a) for a in admin)
            ]
            conditions = [*admin, *conditions]
        elif conditions:
            ambiguities.append(
                "The SOP describes handoff conditions, but handoff is disabled for this agent: "
                "the agent cannot hand conversations to a human."
            )

        def clean(field: str, items: list[str]) -> list[str]:
            kept = [item for item in items if not coverage.is_placeholder(item)]
            return coverage.clean_list(kept, _limit(field, ParsedSop))

        return ParsedSop(
            goals=clean("goals", parsed.goals),
            steps=clean("steps", parsed.steps),
            information_to_collect=clean("information_to_collect", parsed.information_to_collect),
            must_rules=clean("must_rules", musts),
            never_rules=clean("never_rules", nevers),
            handoff_conditions=clean("handoff_conditions", conditions),
            tone=" ".join(parsed.tone.split()),
            ambiguities=clean("ambiguities", ambiguities),
        )


# -- 2. draft the plan --------------------------------------------------------------------------

DRAFTER_SYSTEM = (
    "You design customer-facing AI agents that follow an SOP exactly. You write the plan the runtime "
    "executes: a persona, a system prompt, a greeting, tools from a fixed catalog, deterministic handoff "
    "rules, and handoff and closing messages. The agent can only do what its tools do: never let it "
    "promise actions (refunds, cancellations, changes to accounts) that no tool performs; it explains "
    "the policy or hands off instead."
)


def handoff_conditions(spec: AgentSpec, parsed: ParsedSop) -> list[str]:
    """The conditions a plan must check in code: the parsed ones (admin's first), only if handoff is enabled."""
    if not spec.handoff.enabled:
        return []
    return coverage.clean_list(
        [*spec.handoff.conditions, *parsed.handoff_conditions], _limit("handoff_rules", AgentPlan)
    )


class PlanDrafter(_Stage):
    """ParsedSop (+ review feedback) -> `AgentPlan`, repaired in code so the SOP's rules always hold."""

    stage = StageName.DRAFT_PLAN

    def run(self, spec: AgentSpec, parsed: ParsedSop, feedback: list[ReviewIssue]) -> AgentPlan:
        """Blocking form of `run_async`, for worker threads; not for code inside an event loop."""
        return anyio.run(self.run_async, spec, parsed, feedback, backend="asyncio")

    async def run_async(self, spec: AgentSpec, parsed: ParsedSop, feedback: list[ReviewIssue]) -> AgentPlan:
        plan: AgentPlan = await self._ask(AgentPlan, self.prompt(spec, parsed, feedback), DRAFTER_SYSTEM)
        return self.postprocess(spec, parsed, plan)

    @staticmethod
    def prompt(spec: AgentSpec, parsed: ParsedSop, feedback: list[ReviewIssue]) -> str:
        channel = {
            AgentType.VOICE: "voice: replies are spoken, so keep them short, with no markdown, lists or URLs",
            AgentType.TEXT: "text chat",
            AgentType.BOTH: "voice and text: replies must read well and sound natural when spoken (no markdown)",
        }[spec.agent_type]
        handoff = (
            "enabled. Include the request_handoff tool and one handoff rule per condition below: "
            "kind 'keywords' (whole words or phrases a customer would say) or 'regex' (RE2 syntax: no "
            "look-around or backreferences; case-insensitive)."
            f"\nConditions:\n{_bullets(handoff_conditions(spec, parsed))}"
            if spec.handoff.enabled
            else "disabled. Do not include request_handoff and write no handoff rules."
        )
        parts = [
            f"Agent name: {spec.name}\nDescription: {spec.description or '(none)'}\nChannel: {channel}",
            f"Tool catalog (use only these):\n{_catalog_text()}",
            f"Handoff is {handoff}",
            f"Parsed SOP:\n{parsed.model_dump_json(indent=2)}",
            "The system prompt must state the goals, every step in order, every must and never rule "
            "(in the SOP's words), the information to collect, the tone, and when to hand off. Tell the "
            "agent to answer from knowledge_search results and cite them, and to say so when it does "
            "not know.",
        ]
        if spec.text.greeting:
            parts.append(f"Greeting (use as given): {spec.text.greeting}")
        if feedback:
            parts.append(
                "A reviewer found these issues in your previous draft; fix every one:\n"
                + _bullets([f"[{issue.severity}] {issue.message}" for issue in feedback])
            )
        parts.append(f"<sop>\n{spec.sop}\n</sop>")
        return "\n\n".join(parts)

    @staticmethod
    def postprocess(spec: AgentSpec, parsed: ParsedSop, plan: AgentPlan) -> AgentPlan:
        """Enforce in code what the plan must hold, whatever the model drafted.

        Every step and must/never rule appears in the system prompt (a section is appended for the
        missing ones); request_handoff is present iff handoff is enabled; knowledge_search is always
        present; broken regexes are dropped; every handoff condition has a rule (keyword rules derived
        from the condition's words when the model wrote none); the admin's greeting wins.
        """
        rules = _repair_rules(spec, parsed, plan.handoff_rules)
        tools = set(plan.tools) | {ToolName.KNOWLEDGE_SEARCH}
        if spec.handoff.enabled:
            tools.add(ToolName.REQUEST_HANDOFF)
        else:
            tools.discard(ToolName.REQUEST_HANDOFF)
        # What the SOP says to collect is what collect_info may record: no more, no less.
        collect = coverage.clean_list(parsed.information_to_collect, 30)
        if collect:
            tools.add(ToolName.COLLECT_INFO)
        else:
            tools.discard(ToolName.COLLECT_INFO)
        # The admin configures the endpoint; the model can neither add nor remove it.
        if spec.webhook_tool is not None:
            tools.add(ToolName.CALL_WEBHOOK)
        else:
            tools.discard(ToolName.CALL_WEBHOOK)
        system_prompt = _complete_prompt(spec, parsed, plan.system_prompt)
        if len(system_prompt) > SYSTEM_PROMPT_MAX:
            raise CreationFailed(
                StageName.DRAFT_PLAN,
                f"the system prompt with every SOP rule is over {SYSTEM_PROMPT_MAX} characters; shorten the SOP",
            )
        return AgentPlan(
            persona=plan.persona,
            system_prompt=system_prompt,
            greeting=spec.text.greeting or plan.greeting,
            tools=[tool for tool in ToolName if tool in tools],
            information_to_collect=[item[:100] for item in collect],
            handoff_rules=rules,
            handoff_message=plan.handoff_message,
            closing_message=plan.closing_message,
            knowledge_k=plan.knowledge_k,
            model=None,  # the agent's model comes from its spec or the platform, never from a model's guess
        )


def _complete_prompt(spec: AgentSpec, parsed: ParsedSop, prompt: str) -> str:
    """The system prompt plus sections restating, verbatim, whatever it does not already contain."""
    sections: list[str] = []
    steps = [step for step in parsed.steps if not coverage.covers(prompt, step)]
    if steps:
        sections.append("## Steps (follow in order)\n" + "\n".join(f"- {step}" for step in steps))
    rules = [f"- Always: {rule}" for rule in parsed.must_rules if not coverage.covers(prompt, rule)]
    rules += [f"- Never: {rule}" for rule in parsed.never_rules if not coverage.covers(prompt, rule)]
    if rules:
        sections.append("## Rules\n" + "\n".join(rules))
    conditions = [c for c in handoff_conditions(spec, parsed) if not coverage.covers(prompt, c)]
    if conditions:
        sections.append("## Hand off to a human (use request_handoff) when\n" + "\n".join(f"- {c}" for c in conditions))
    if parsed.tone and not coverage.covers(prompt, parsed.tone):
        sections.append(f"## Tone\n{parsed.tone}")
    return "\n\n".join([prompt.rstrip(), *sections])


def _repair_rules(spec: AgentSpec, parsed: ParsedSop, drafted: list[HandoffRule]) -> list[HandoffRule]:
    if not spec.handoff.enabled:
        return []
    kept: list[HandoffRule] = []
    taken: set[str] = set()
    conditions = handoff_conditions(spec, parsed)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for rule in drafted:
        patterns = [p for p in rule.patterns if rule.kind != "regex" or coverage.regex_compiles(p)]
        if not patterns:
            continue
        # Only the SOP's handoff conditions hand a customer off: a rule that checks none of them (a small
        # model turns "always confirm the account number" into one) is dropped, and so is a keyword or regex
        # rule for an amount ("over $100"), which would fire on every mention or miss ordinary phrasings
        # ("500 dollars"); the code derives an `amount` rule for those below.
        covered = [c for c in conditions if coverage.rule_covers(rule, c)]
        if not covered or (rule.kind != "amount" and all(coverage.threshold_rule(c) for c in covered)):
            continue
        signature = (rule.kind, tuple(sorted(coverage.normalize(p) for p in patterns)))
        if signature in seen:
            continue
        seen.add(signature)
        ident = rule.id if rule.id not in taken else coverage.rule_id(rule.description, taken)
        taken.add(ident)
        kept.append(rule.model_copy(update={"id": ident, "patterns": patterns}))
    limit = _limit("handoff_rules", AgentPlan)
    for condition in conditions:
        if any(coverage.rule_covers(rule, condition) for rule in kept):
            continue
        phrases = coverage.key_phrases(condition)
        if not phrases or len(condition) < 3:
            raise CreationFailed(
                StageName.DRAFT_PLAN, f"no rule could be derived for the handoff condition '{condition}'; reword it"
            )
        ident = coverage.rule_id(condition, taken)
        taken.add(ident)
        # "over $100": the runtime compares the amounts a customer writes, or every mention of the topic
        # would hand off.
        rule = coverage.threshold_handoff_rule(ident, condition) or HandoffRule(
            id=ident, description=condition[:500], kind="keywords", patterns=phrases
        )
        kept.insert(0, rule)
    if len(kept) > limit:
        raise CreationFailed(StageName.DRAFT_PLAN, f"the plan needs more than {limit} handoff rules")
    return kept


# -- 3. review the plan -------------------------------------------------------------------------

REVIEWER_SYSTEM = (
    "You review plans for customer-facing AI agents against their SOP, strictly. Report each problem "
    "as an issue: 'blocker' if the agent would break an SOP rule, miss a handoff, or promise something "
    "no tool can do; 'major' if a step, rule or required piece of information is missing or wrong; "
    "'minor' for wording and tone. Approve only a plan with no blocker or major issue."
)


class PlanReviewer(_Stage):
    """Deterministic coverage checks plus a model review, merged: approved only if neither found a major issue."""

    stage = StageName.REVIEW_PLAN

    def run(self, spec: AgentSpec, parsed: ParsedSop, plan: AgentPlan, cycle: int) -> PlanReview:
        """Blocking form of `run_async`, for worker threads; not for code inside an event loop."""
        return anyio.run(self.run_async, spec, parsed, plan, cycle, backend="asyncio")

    async def run_async(self, spec: AgentSpec, parsed: ParsedSop, plan: AgentPlan, cycle: int) -> PlanReview:
        checked = check_plan(spec, parsed, plan)
        prompt = self.prompt(spec, parsed, plan, cycle)
        judged: PlanReview = await self._ask(PlanReview, prompt, REVIEWER_SYSTEM)
        model_issues = list(judged.issues)
        if not judged.approved and not any(issue.severity in BLOCKING for issue in model_issues):
            model_issues.append(ReviewIssue(severity="major", message="The model reviewer did not approve the plan."))
        return merge_reviews(cycle, checked, model_issues)

    @staticmethod
    def prompt(spec: AgentSpec, parsed: ParsedSop, plan: AgentPlan, cycle: int) -> str:
        handoff = _bullets(handoff_conditions(spec, parsed)) if spec.handoff.enabled else "- (handoff is disabled)"
        return (
            f"Review cycle {cycle}. Agent name: {spec.name}; channel: {spec.agent_type.value}.\n\n"
            f"Tool catalog (the agent can do nothing else):\n{_catalog_text()}\n\n"
            f"Handoff conditions that must each have a rule:\n{handoff}\n\n"
            f"Parsed SOP:\n{parsed.model_dump_json(indent=2)}\n\n"
            f"Plan:\n{json.dumps(plan.model_dump(mode='json'), indent=2)}\n\n"
            f"<sop>\n{spec.sop}\n</sop>\n\n"
            f"Answer with cycle {cycle}, approved, and the issues."
        )


def check_plan(spec: AgentSpec, parsed: ParsedSop, plan: AgentPlan) -> list[ReviewIssue]:
    """The reviewer's deterministic checks: SOP coverage, the tool catalog, rule validity, invented capabilities."""
    issues: list[ReviewIssue] = []

    def add(severity: str, message: str) -> None:
        issues.append(ReviewIssue(severity=severity, message=message[:1000]))

    prompt = plan.system_prompt
    for step in parsed.steps:
        if not coverage.covers(prompt, step):
            add("major", f"The system prompt does not include the SOP step: {step}")
    for rule in parsed.must_rules:
        if not coverage.covers(prompt, rule):
            add("blocker", f"The system prompt does not include the must rule: {rule}")
    for rule in parsed.never_rules:
        if not coverage.covers(prompt, rule):
            add("blocker", f"The system prompt does not include the never rule: {rule}")
    catalog = {tool.value for tool in ToolName}
    for tool in plan.tools:
        if str(tool) not in catalog:
            add("blocker", f"The tool '{tool}' is not in the vetted catalog.")
    if ToolName.KNOWLEDGE_SEARCH not in plan.tools:
        add("major", "The plan has no knowledge_search tool, so the agent cannot answer from the knowledge base.")
    if spec.handoff.enabled:
        if ToolName.REQUEST_HANDOFF not in plan.tools:
            add("blocker", "Handoff is enabled but the plan has no request_handoff tool.")
        for condition in handoff_conditions(spec, parsed):
            if not any(coverage.rule_covers(rule, condition) for rule in plan.handoff_rules):
                add("blocker", f"No handoff rule checks the condition: {condition}")
    else:
        if ToolName.REQUEST_HANDOFF in plan.tools:
            add("major", "Handoff is disabled but the plan includes the request_handoff tool.")
        if plan.handoff_rules:
            add("major", "Handoff is disabled but the plan has handoff rules.")
    for handoff_rule in plan.handoff_rules:
        if handoff_rule.kind == "regex":
            for pattern in handoff_rule.patterns:
                if not coverage.regex_compiles(pattern):
                    add("blocker", f"Handoff rule '{handoff_rule.id}' has an invalid regex: {pattern}")
    texts = [prompt, plan.greeting or "", plan.handoff_message, plan.closing_message]
    for phrase in coverage.invented_capabilities("\n".join(texts)):
        add("major", f"The plan promises something no tool can do: '{phrase}'")
    return issues


def merge_reviews(cycle: int, *issue_lists: list[ReviewIssue]) -> PlanReview:
    """One verdict from several reviewers' issues: approved iff none is a blocker or major."""
    seen: set[tuple[str, str]] = set()
    merged: list[ReviewIssue] = []
    for issues in issue_lists:
        for issue in issues:
            key = (issue.severity, coverage.normalize(issue.message))
            if key not in seen:
                seen.add(key)
                merged.append(issue)
    rank = {"blocker": 0, "major": 1, "minor": 2}
    merged.sort(key=lambda issue: rank[issue.severity])  # stable: the most serious survive the cap
    merged = merged[: _limit("issues", PlanReview)]
    approved = not any(issue.severity in BLOCKING for issue in merged)
    return PlanReview(cycle=cycle, approved=approved, issues=merged)


# -- the review loop ----------------------------------------------------------------------------


def review_loop(
    spec: AgentSpec,
    parsed: ParsedSop,
    drafter: PlanDrafter,
    reviewer: PlanReviewer,
    min_cycles: int = 2,
    max_cycles: int = 4,
) -> tuple[AgentPlan, list[PlanReview]]:
    """Blocking form of `review_loop_async`, for worker threads; not for code inside an event loop."""
    return anyio.run(review_loop_async, spec, parsed, drafter, reviewer, min_cycles, max_cycles, backend="asyncio")


async def review_loop_async(
    spec: AgentSpec,
    parsed: ParsedSop,
    drafter: PlanDrafter,
    reviewer: PlanReviewer,
    min_cycles: int = 2,
    max_cycles: int = 4,
) -> tuple[AgentPlan, list[PlanReview]]:
    """Draft, review, redraft with the review's issues, until approved after at least `min_cycles` reviews.

    A first approval is never final: the plan is reviewed again (redrafted first if the review left
    minor issues), so every deployed plan has passed two reviews. `PlanNotApproved` (a CreationFailed
    for the review stage, carrying every review) when `max_cycles` end without approval.
    """
    if not 1 <= min_cycles <= max_cycles:
        raise ValueError("need 1 <= min_cycles <= max_cycles")
    plan = await drafter.run_async(spec, parsed, [])
    reviews: list[PlanReview] = []
    for cycle in range(1, max_cycles + 1):
        review = await reviewer.run_async(spec, parsed, plan, cycle)
        reviews.append(review)
        if review.approved and cycle >= min_cycles:
            return plan, reviews
        if cycle < max_cycles and review.issues:
            plan = await drafter.run_async(spec, parsed, list(review.issues))
    last = reviews[-1]
    serious = [issue.message for issue in last.issues if issue.severity in BLOCKING]
    reason = f"the plan was not approved after {max_cycles} review cycles"
    if serious:
        reason += ": " + "; ".join(serious[:5])
    raise PlanNotApproved(reason[:4000], reviews)


__all__ = [
    "DEFAULT_TIMEOUT",
    "TOOL_CATALOG",
    "PlanDrafter",
    "PlanReviewer",
    "SopParser",
    "check_plan",
    "handoff_conditions",
    "merge_reviews",
    "review_loop",
    "review_loop_async",
]
