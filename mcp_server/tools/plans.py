"""Plan tools: the admin reads, edits and diffs an agent's deployed plan (the plan is the admin's).

Reading goes through `platform.plans`, which checks each version's sha256 and redacts secrets. An edit
is checked there (scope, status, base version, schema) before anything runs, then the AgentCreator
reviews, tests and deploys it as a new version (`AgentBuilder.revise`), in the background by default,
like `update_agent`; the version that serves keeps serving until the edit passes, and if it fails.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.tools._register import reads, tool, writes
from oratio.errors import InvalidState
from oratio.services.creation import start_revision_in_background
from schemas import Identifier
from schemas.plan_view import EditStarted, PlanDiff, PlanEdit, PlanView

AgentId = Annotated[Identifier, Field(description="Agent id, e.g. agt_01...")]
Version = Annotated[int, Field(ge=1, le=1_000_000)]

NO_BUILDER = "this server has no AgentCreator attached, so an edited plan cannot be reviewed and deployed here"


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, reads("Get agent plan"))
    async def get_agent_plan(
        agent_id: AgentId,
        version: Annotated[
            Version | None, Field(description="A deployed version; omit for the one serving now")
        ] = None,
    ) -> PlanView:
        """Read an agent's deployed plan: its system prompt, persona, greeting, tools, the fields it collects,
        handoff rules (checked in code) and judgement conditions (the model decides), its messages, language
        and internal notes, the test conversations and review notes of that version, its sha256 and the list
        of versions. Secrets and secret references are shown as [redacted]."""
        principal = tc.principal()
        return await tc.call(lambda: platform.plans.view(principal, agent_id, version))

    @tool(server, writes("Edit agent plan", destructive=True, idempotent=False, open_world=True))
    async def edit_agent_plan(
        agent_id: AgentId,
        changes: PlanEdit,
        ctx: Context,
        base_version: Annotated[
            Version | None,
            Field(description="The version you read and edited; refused if another version serves by now"),
        ] = None,
        wait: Annotated[bool, Field(description="Wait for review, tests and deploy; false returns at once")] = False,
    ) -> EditStarted:
        """Edit an active agent's plan (only the fields given change; tools only from the catalog). The edited
        plan is reviewed (code checks, and the model reviewer when the server has a model), must pass the
        test conversations, and is deployed as a NEW version; the current version serves until then, and
        keeps serving if the edit fails (get_creation_records says why, under the attempted version).
        Returns at once with the attempted version unless wait is true. Pass base_version (from
        get_agent_plan) so an edit never overwrites a version you have not seen."""
        principal = tc.principal()
        edit = await tc.call(lambda: platform.plans.edit(principal, agent_id, changes, base_version))
        builder = platform.builder
        if builder is None:
            with tool_errors():
                raise InvalidState(NO_BUILDER)
        assert builder is not None
        started = EditStarted(
            agent_id=edit.agent.id,
            base_version=edit.base_version,
            attempted_version=edit.base_version + 1,
            changed_fields=edit.changed,
            status="building",
        )
        if not wait:
            start_revision_in_background(builder, edit)
            return started
        record = await builder.revise(
            edit.agent.tenant_id, edit.agent.id, edit.plan, ctx.report_progress, base_version=edit.base_version
        )
        return started.model_copy(
            update={
                "attempted_version": record.version,
                "status": "deployed" if record.succeeded else "failed",
                "failure": record.failure,
            }
        )

    @tool(server, reads("Diff agent plan versions"))
    async def diff_agent_plan(
        agent_id: AgentId,
        from_version: Annotated[Version, Field(description="The older version")],
        to_version: Annotated[Version | None, Field(description="The newer version; omit for the serving one")] = None,
    ) -> PlanDiff:
        """Compare two deployed versions of an agent's plan field by field: changed values, items added to and
        removed from lists (rules, fields, tools, notes), and a unified diff of the system prompt. Secrets are
        shown as [redacted]."""
        principal = tc.principal()
        return await tc.call(lambda: platform.plans.diff(principal, agent_id, from_version, to_version))
