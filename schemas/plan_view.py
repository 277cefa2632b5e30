"""The admin's view of an agent's plan: reading a deployed version, editing it, diffing two versions.

The plan is the admin's (issue 17): MCP `get_agent_plan` shows what a version holds (and how it was
checked), `edit_agent_plan` takes a `PlanEdit` that becomes a new version after review and tests,
`diff_agent_plan` compares two versions field by field. Views are redacted before they leave the core
(`oratio.redaction`): they never carry a secret.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from schemas._base import Identifier, Model, UtcDatetime
from schemas.agents import AgentStatus, WebhookTool
from schemas.creation import ReviewIssue, TestOutcome
from schemas.plan import HandoffRule, ToolName
from schemas.tools import ActionMapping, McpToolSnapshot, ToolDefinition

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class PlanVersion(Model):
    """One deployed version of an agent's plan, as stored."""

    version: int = Field(ge=1)
    created_at: UtcDatetime
    sha256: Sha256 = Field(description="sha256 of the stored plan JSON")
    current: bool = Field(description="Whether this version serves customers now")


class PlanVersions(Model):
    agent_id: Identifier
    current_version: int | None
    versions: list[PlanVersion] = Field(description="Newest first")


class PlanView(Model):
    """Everything a deployed version holds, for the admin: the plan, how it was checked, where it lives."""

    agent_id: Identifier
    version: int = Field(ge=1)
    current: bool
    status: AgentStatus = Field(description="The agent's status now")
    created_at: UtcDatetime
    sha256: Sha256 = Field(description="sha256 of the stored plan JSON, checked against the one recorded at deploy")
    persona: str
    system_prompt: str
    greeting: str | None
    tools: list[ToolName]
    information_to_collect: list[str]
    handoff_enabled: bool
    handoff_rules: list[HandoffRule] = Field(description="Checked in code on every customer turn")
    handoff_judgement: list[str] = Field(description="Conditions the model judges (prompt and request_handoff)")
    handoff_message: str
    closing_message: str
    knowledge_k: int
    model: str | None
    language: str
    internal_notes: list[str]
    webhook_tool: WebhookTool | None = Field(description="The customer system call_webhook reaches (redacted)")
    actions: list[ToolDefinition] = Field(
        default_factory=list, description="The admin's tools as reviewed (header values and secrets redacted)"
    )
    mcp_tools: list[McpToolSnapshot] = Field(default_factory=list, description="MCP tools discovered at build")
    action_map: list[ActionMapping] = Field(
        default_factory=list, description="Which tool carries out each SOP action; none: handled by handoff"
    )
    tests: list[TestOutcome] = Field(description="The test conversations this version passed before deploy")
    review_issues: list[ReviewIssue] = Field(description="What the last review of this version still noted")
    versions: list[PlanVersion] = Field(description="The agent's deployed versions, newest first")


Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class PlanEdit(Model):
    """A partial change to the current plan: only the fields given change; an explicit null clears `greeting`.

    Each field carries the plan's own bounds; the merged plan is validated again as a whole.
    """

    persona: Text | None = None
    system_prompt: Annotated[str, StringConstraints(min_length=20, max_length=20_000)] | None = None
    greeting: Annotated[str, StringConstraints(max_length=500)] | None = None
    tools: list[ToolName] | None = Field(default=None, max_length=len(ToolName), description="From the catalog only")
    information_to_collect: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=30
    )
    handoff_rules: list[HandoffRule] | None = Field(default=None, max_length=50)
    handoff_judgement: list[Annotated[str, StringConstraints(min_length=3, max_length=500)]] | None = Field(
        default=None, max_length=30
    )
    handoff_message: Text | None = None
    closing_message: Text | None = None
    knowledge_k: int | None = Field(default=None, ge=1, le=10)
    internal_notes: list[Annotated[str, StringConstraints(max_length=1000)]] | None = Field(default=None, max_length=20)

    def fields(self) -> dict[str, Any]:
        """The fields the admin gave, nulls included, as plan values (only `greeting` may be null in a plan)."""
        return self.model_dump(mode="json", exclude_unset=True)


class EditStarted(Model):
    """What `edit_agent_plan` answers at once; the build runs on (or has finished, with `wait`)."""

    agent_id: Identifier
    base_version: int = Field(ge=1, description="The version the edit was applied to")
    attempted_version: int = Field(ge=2, description="The version number the edited plan deploys as")
    changed_fields: list[str]
    status: str = Field(description="'building', or with wait: 'deployed' or 'failed'")
    failure: str | None = Field(default=None, description="Why the edit was not deployed (wait only)")


class FieldChange(Model):
    """One field that differs between two versions."""

    field: str
    before: Any = None
    after: Any = None
    added: list[Any] = Field(default_factory=list, description="List fields: items only in the newer version")
    removed: list[Any] = Field(default_factory=list, description="List fields: items only in the older version")
    unified_diff: str | None = Field(default=None, description="Text fields (system_prompt): a unified diff")


class PlanDiff(Model):
    agent_id: Identifier
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    changes: list[FieldChange]
    unchanged: list[str]
