"""What a deployed agent runs on: the reviewed plan the AgentCreator produced, stored as data.

The runtime interprets the plan; nothing in it is code. The AgentCreator (issue 6) writes it after
review and tests; `AgentService.deploy` stores it as a new artifact version, records the sha256 of the
stored bytes on the agent, and makes the agent active. The runtime serves those bytes only if they still
hash to that value (docs/artifact.md): the plan that was reviewed is the plan that serves.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from schemas._base import Identifier, Model, UtcDatetime, utcnow
from schemas.tools import TOOLS_PER_AGENT_MAX, ActionMapping, McpToolSnapshot, ToolDefinition


class ToolName(StrEnum):
    """The vetted tool catalog. An agent's plan chooses from these; nothing else can run."""

    KNOWLEDGE_SEARCH = "knowledge_search"
    REQUEST_HANDOFF = "request_handoff"
    END_SESSION = "end_session"
    COLLECT_INFO = "collect_info"
    CALL_WEBHOOK = "call_webhook"


Pattern = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class HandoffRule(Model):
    """A deterministic handoff condition, checked in code on every customer turn.

    `keywords`: any pattern appears as a whole word or phrase (case-insensitive).
    `regex`: any pattern matches (RE2 syntax, so matching is linear-time; case-insensitive; checked at deploy).
    `amount`: a word starts with any pattern (a topic stem: "refund" in "refunded") and the message
    mentions an amount in `currency` above `amount_over` ("a refund over $100"), in any sentence; amounts
    are read by `oratio.runtime.amounts`.
    `human_request`: the customer explicitly asks for a person, in English, French, Spanish or German
    ("can I talk to a human", "je veux parler à un conseiller"); `patterns` add phrases to the built-in
    set (`oratio.runtime.handoff.HUMAN_REQUEST_PHRASES`), none means the built-in set alone.
    `repeated_failures`: the agent could not help on `failures_over` consecutive turns ("after two failed
    attempts"); what counts as not helping is defined in `oratio.runtime.handoff.could_not_help`.
    Conditions that need judgement ("the customer is upset") are not rules: see `AgentPlan.handoff_judgement`.
    A keywords, regex or amount rule with no patterns never fires; the schema accepts it (a small model's
    draft must not fail a whole creation for it), the drafter drops it and the plan reviewer blocks it.
    (`pattern=` constraints here run on pydantic-core's Rust regex engine, which is linear-time too.)
    """

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    description: str = Field(min_length=3, max_length=500, description="The SOP condition this rule checks")
    kind: Literal["keywords", "regex", "amount", "human_request", "repeated_failures"]
    patterns: list[Pattern] = Field(default_factory=list, max_length=50)
    amount_over: Decimal | None = Field(default=None, ge=0, le=10**15, description="`amount` rules: the threshold")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = Field(
        default=None, description="`amount` rules: ISO 4217 code of the threshold ('$' is USD)"
    )
    failures_over: int | None = Field(
        default=None, ge=1, le=20, description="`repeated_failures` rules: consecutive turns the agent could not help"
    )

    @model_validator(mode="before")
    @classmethod
    def _threshold_only_in_amount_rules(cls, data: Any) -> Any:
        # A model filling every field of the grammar writes some value here for other kinds too; it means nothing.
        if isinstance(data, dict):
            if data.get("kind") != "amount":
                data = {key: value for key, value in data.items() if key not in ("amount_over", "currency")}
            if data.get("kind") != "repeated_failures":
                data = {key: value for key, value in data.items() if key != "failures_over"}
        return data

    @model_validator(mode="after")
    def _each_kind_has_what_it_checks(self) -> HandoffRule:
        if self.kind == "amount" and (self.amount_over is None or self.currency is None):
            raise ValueError("amount_over and currency are required for kind 'amount'")
        if self.kind == "repeated_failures" and self.failures_over is None:
            raise ValueError("failures_over is required for kind 'repeated_failures'")
        return self


class AgentPlan(Model):
    persona: str = Field(min_length=1, max_length=500)
    system_prompt: str = Field(min_length=20, max_length=20_000)
    greeting: str | None = Field(default=None, max_length=500)
    tools: list[ToolName] = Field(
        default_factory=lambda: [ToolName.KNOWLEDGE_SEARCH, ToolName.REQUEST_HANDOFF, ToolName.END_SESSION],
        max_length=len(ToolName),
    )
    information_to_collect: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=30, description="What the agent records with collect_info (SOP fields)"
    )
    handoff_rules: list[HandoffRule] = Field(default_factory=list, max_length=50)
    handoff_judgement: list[Annotated[str, StringConstraints(min_length=3, max_length=500)]] = Field(
        default_factory=list,
        max_length=30,
        description="Handoff conditions the model judges (in its prompt and the request_handoff tool), verbatim; "
        "never compiled into keywords",
    )
    handoff_message: str = Field(
        default="I'm connecting you with a member of our team, who will continue from here.",
        min_length=1,
        max_length=500,
    )
    closing_message: str = Field(default="Thank you for contacting us. Goodbye!", min_length=1, max_length=500)
    knowledge_k: int = Field(default=4, ge=1, le=10)
    model: str | None = Field(default=None, max_length=200, description="Model override for this agent")
    language: str = Field(default="en", pattern=r"^[a-z]{2}$", description="ISO 639-1 language of the SOP")
    internal_notes: list[Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=list, max_length=20, description="For the agent only; never quoted to customers"
    )
    actions: list[ToolDefinition] = Field(
        default_factory=list,
        max_length=TOOLS_PER_AGENT_MAX,
        description="The admin's tools as reviewed (copied from AgentSpec.tools); secrets by reference only",
    )
    mcp_tools: list[McpToolSnapshot] = Field(
        default_factory=list, max_length=200, description="The allowed tools of `actions`' MCP servers, as discovered"
    )
    action_map: list[ActionMapping] = Field(
        default_factory=list, max_length=30, description="Which tool carries out each action the SOP describes"
    )


class DeployedArtifact(Model):
    """One deployed version of an agent, as stored in blob storage (`{tenant}/agents/{agent}/v{n}/plan.json`).

    This JSON is the deployable artifact; `Agent.artifact_sha256` is the sha256 of its stored bytes.
    """

    tenant_id: Identifier
    agent_id: Identifier
    version: int = Field(ge=1)
    plan: AgentPlan
    created_at: UtcDatetime = Field(default_factory=utcnow)
