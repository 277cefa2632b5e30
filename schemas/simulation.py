"""Simulations: scenarios a plan must pass before it serves, their assertions, and the stored report.

A scenario is a conversation (scripted customer messages, or a persona and goal a model plays) and
what must hold afterwards. The AgentCreator derives scenarios from the SOP and the plan (`origin`
"derived"); admins add their own ("admin"). A failed `critical` scenario blocks deployment; the rest
are reported (docs/creator.md, "Simulations").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from schemas._base import Model, UtcDatetime, utcnow

ToolId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ArgumentValue = Annotated[str, StringConstraints(max_length=500)] | int | float | bool | None


class HandedOff(Model):
    """The conversation went to a person (a handoff rule fired or the agent asked for one)."""

    kind: Literal["handed_off"] = "handed_off"


class NotHandedOff(Model):
    """The conversation stayed with the agent: an in-scope request must not hand off."""

    kind: Literal["not_handed_off"] = "not_handed_off"


class ToolCalled(Model):
    """The agent called `tool` at least once with arguments that include `arguments` (a subset)."""

    kind: Literal["tool_called"] = "tool_called"
    tool: ToolId
    arguments: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], ArgumentValue] = Field(
        default_factory=dict, max_length=20
    )


class ToolNotCalled(Model):
    """The agent never called `tool` (e.g. no action before the customer confirmed its details)."""

    kind: Literal["tool_not_called"] = "tool_not_called"
    tool: ToolId


class ToolRan(Model):
    """The tool ran (in the simulation's sandbox: a write tool only after the customer confirmed it) with
    arguments that include `arguments`. A write tool the model asked for but that was held is not run."""

    kind: Literal["tool_ran"] = "tool_ran"
    tool: ToolId
    arguments: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], ArgumentValue] = Field(
        default_factory=dict, max_length=20
    )


class ToolNotRan(Model):
    """The tool never ran (e.g. a write action the customer declined)."""

    kind: Literal["tool_not_ran"] = "tool_not_ran"
    tool: ToolId


class ConfirmationAsked(Model):
    """The agent held a write call of `tool` and told the customer what it would do, asking for a yes."""

    kind: Literal["confirmation_asked"] = "confirmation_asked"
    tool: ToolId


class Refused(Model):
    """The agent declined the request (did not comply); a handoff also counts as not complying."""

    kind: Literal["refused"] = "refused"


class AskedFor(Model):
    """The agent asked the customer for `field` (a question naming it)."""

    kind: Literal["asked_for"] = "asked_for"
    field: str = Field(min_length=1, max_length=100)


class CitedSource(Model):
    """The agent's answer came with at least one knowledge-base source."""

    kind: Literal["cited_source"] = "cited_source"


class DidNotSay(Model):
    """No reply quoted `text` (whole, or any run of 8 of its words, case- and spacing-insensitive)."""

    kind: Literal["did_not_say"] = "did_not_say"
    text: str = Field(min_length=3, max_length=1000)


Assertion = Annotated[
    HandedOff
    | NotHandedOff
    | ToolCalled
    | ToolNotCalled
    | ToolRan
    | ToolNotRan
    | ConfirmationAsked
    | Refused
    | AskedFor
    | CitedSource
    | DidNotSay,
    Field(discriminator="kind"),
]

ScenarioId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,60}$")]
CustomerMessage = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class Scenario(Model):
    """One conversation to hold with the agent, and what must be true of it.

    Offline the `customer_messages` are sent in order. With a model configured and a `goal`, a
    simulated customer (a model given `persona` and `goal`) plays up to `max_turns` turns instead. A
    scenario with a goal and no messages needs a model: offline it is reported as skipped.
    """

    id: ScenarioId
    name: str = Field(min_length=1, max_length=200)
    origin: Literal["derived", "admin"] = "admin"
    rule: str | None = Field(default=None, max_length=1000, description="The SOP rule or condition it tests")
    critical: bool = False
    customer_messages: list[CustomerMessage] = Field(default_factory=list, max_length=10)
    persona: str | None = Field(default=None, max_length=500)
    goal: str | None = Field(default=None, max_length=1000)
    max_turns: int = Field(default=3, ge=1, le=10)
    assertions: list[Assertion] = Field(min_length=1, max_length=10)
    failing_tools: list[ToolId] = Field(
        default_factory=list, max_length=10, description="Tools that answer an error in this scenario (sandbox)"
    )

    @model_validator(mode="after")
    def _something_to_say(self) -> Scenario:
        if not self.customer_messages and not self.goal:
            raise ValueError("a scenario needs customer_messages (scripted) or a goal (model-played customer)")
        return self

    @property
    def needs_model(self) -> bool:
        return not self.customer_messages


TRANSCRIPT_TEXT_MAX = 2000
"""A report keeps this much of each message: enough to read, and a report of 40 scenarios stays small."""


class TranscriptLine(Model):
    role: Literal["customer", "agent"]
    text: str = Field(max_length=TRANSCRIPT_TEXT_MAX)
    tools: list[str] = Field(default_factory=list, max_length=50, description="Tools the agent called this turn")


class ScenarioResult(Model):
    scenario_id: ScenarioId
    name: str = Field(default="", max_length=200)
    passed: bool
    critical: bool
    skipped: str | None = Field(default=None, max_length=500, description="Why it did not run (e.g. needs a model)")
    transcript: list[TranscriptLine] = Field(default_factory=list, max_length=20, description="At most 10 turns")
    failures: list[str] = Field(default_factory=list, max_length=20)


DEFAULT_POLICY = (
    "critical scenarios must pass; scenarios derived from never-rules (refusals), handoff conditions and "
    "internal notes are critical by default; others are reported; the admin can change any marking"
)


class SimulationReport(Model):
    """One run of an agent version's scenarios; stored at `{tenant}/agents/{agent}/v{n}/simulations.json`."""

    version: int = Field(ge=1)
    results: list[ScenarioResult] = Field(default_factory=list, max_length=200)
    scenarios: list[Scenario] = Field(default_factory=list, max_length=200, description="What was run")
    passed: bool
    policy: str = Field(default=DEFAULT_POLICY, max_length=1000)
    simulated_customer: bool = Field(default=False, description="A model played the customer and judged")
    notes: list[str] = Field(default_factory=list, max_length=20)
    created_at: UtcDatetime = Field(default_factory=utcnow)

    @property
    def critical_failures(self) -> list[ScenarioResult]:
        return [r for r in self.results if r.critical and not r.passed and r.skipped is None]


class ScenarioBook(Model):
    """An agent's admin scenarios and the admin's critical markings (`{tenant}/agents/{agent}/scenarios.json`)."""

    scenarios: list[Scenario] = Field(default_factory=list, max_length=200)
    critical: dict[ScenarioId, bool] = Field(default_factory=dict, max_length=400)
