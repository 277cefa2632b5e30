"""The AgentCreator's typed stage inputs and outputs, and the record kept for every creation.

Stages: parse the SOP -> draft a plan -> review it (at least two cycles) -> run test conversations on the
reviewed plan -> deploy it (the plan JSON, with its sha256, is the artifact that serves; docs/artifact.md).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from schemas._base import Identifier, Model, UtcDatetime, utcnow


class ParsedSop(Model):
    """What the SOP says, in structured form. `ambiguities` flags what the parser could not pin down."""

    goals: list[str] = Field(default_factory=list, max_length=20)
    steps: list[str] = Field(default_factory=list, max_length=50, description="Ordered steps of the procedure")
    information_to_collect: list[str] = Field(default_factory=list, max_length=30)
    must_rules: list[str] = Field(default_factory=list, max_length=50)
    never_rules: list[str] = Field(default_factory=list, max_length=50)
    handoff_conditions: list[str] = Field(default_factory=list, max_length=20)
    tone: str = Field(default="", max_length=500)
    ambiguities: list[str] = Field(default_factory=list, max_length=20)
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")


class ReviewIssue(Model):
    severity: str = Field(pattern=r"^(blocker|major|minor)$")
    message: str = Field(min_length=1, max_length=1000)
    field: str | None = None
    code: str | None = None


class PlanReview(Model):
    """One review cycle's verdict on a drafted plan."""

    cycle: int = Field(ge=1)
    approved: bool
    issues: list[ReviewIssue] = Field(default_factory=list, max_length=50)


class TestConversation(Model):
    """An SOP-derived check run against the built agent before it goes live."""

    __test__ = False  # not a pytest class, despite the name

    name: str = Field(min_length=1, max_length=200)
    customer_messages: list[str] = Field(min_length=1, max_length=10)
    expect_handoff: bool = False
    expect_sources: bool = False
    expect_reply_contains: list[str] = Field(default_factory=list, max_length=10)


class TestOutcome(Model):
    __test__ = False

    name: str
    passed: bool
    detail: str = Field(default="", max_length=2000)


class StageName(StrEnum):
    """The stages a build runs, in order; each name says what the stage does."""

    PARSE_SOP = "parse_sop"
    DRAFT_PLAN = "draft_plan"
    REVIEW_PLAN = "review_plan"
    RUN_TEST_CONVERSATIONS = "run_test_conversations"
    DEPLOY = "deploy"


class RetiredStage(StrEnum):
    """Stage names that creation records written before issue 16 hold: read back as they are, never written.

    `generate_code` rendered an `agent.py` nothing ran; `review_code` ran the test conversations (now
    `run_test_conversations`). Kept as their own type so an old record still parses and says what it said.
    """

    GENERATE_CODE = "generate_code"
    REVIEW_CODE = "review_code"


class StageStatus(StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


class StageRecord(Model):
    stage: StageName | RetiredStage
    status: StageStatus
    started_at: UtcDatetime = Field(default_factory=utcnow)
    ended_at: UtcDatetime | None = None
    model_calls: int = Field(default=0, ge=0)
    detail: str = Field(default="", max_length=4000)


class CreationRecord(Model):
    """Everything about one run of the AgentCreator for one agent version; readable through MCP."""

    tenant_id: Identifier
    agent_id: Identifier
    version: int = Field(ge=1)
    stages: list[StageRecord] = Field(default_factory=list)
    parsed_sop: ParsedSop | None = None
    reviews: list[PlanReview] = Field(default_factory=list)
    tests: list[TestOutcome] = Field(default_factory=list)
    artifact_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="sha256 of the deployed plan JSON, set at deploy"
    )
    succeeded: bool | None = None
    failure: str | None = Field(default=None, max_length=4000)
    started_at: UtcDatetime = Field(default_factory=utcnow)
    ended_at: UtcDatetime | None = None

    @property
    def model_calls(self) -> int:
        return sum(stage.model_calls for stage in self.stages)
