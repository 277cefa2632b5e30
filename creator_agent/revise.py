"""An admin's edited plan: reviewed, tested and deployed as a new version, or refused with the reason.

The AgentCreator's second entry point (`AgentCreator.revise`, which holds the agent's build lock). An
edit is neither parsed nor drafted (those stages are recorded `skipped (admin edit ...)`): the plan is the
admin's, and a redraft would undo the edit. It is reviewed against the SOP the serving version was built
from (the deterministic checks always, the model reviewer too when the server has a model), held to the
same test conversations as a built plan on the model that will serve it, and deployed by
`AgentService.deploy`, which records its sha256. The version that serves keeps serving until then, and
keeps serving if anything fails: the failure is in the creation record of the attempted version.

An edit is made on one version (`base_version`). If another version serves by the time the build runs
(an update or another edit deployed first), the edit is refused rather than deployed over a change its
author never saw; the check runs again right before deploy.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio.to_thread

from creator_agent.errors import CreationFailed
from creator_agent.stages.base import blocks
from creator_agent.stages.review_plan import PlanReviewer, check_plan, merge_reviews
from oratio.auth.principals import service_principal
from oratio.errors import NotFound, OratioError
from oratio.plan_diff import changed_fields
from oratio.services.creation import Progress
from schemas import Agent, AgentPlan, AgentStatus, CreationRecord, ParsedSop, PlanReview, Scope, StageName

if TYPE_CHECKING:
    from creator_agent.pipeline import AgentCreator


logger = logging.getLogger("oratio.creator")

__all__ = ["review_edit", "revise"]


async def revise(
    creator: AgentCreator,
    tenant_id: str,
    agent_id: str,
    plan: AgentPlan,
    progress: Progress | None = None,
    *,
    base_version: int | None = None,
) -> CreationRecord:
    """Review, test and deploy `plan` (the admin's edit of version `base_version`, default: the serving one)."""
    platform = creator._platform
    principal = service_principal(tenant_id, "agent-creator", Scope.ADMIN)
    agent = await anyio.to_thread.run_sync(platform.agents.get, principal, agent_id)
    base = agent.artifact_version if base_version is None else base_version
    run = creator._start_run(
        tenant_id,
        agent_id,
        CreationRecord(tenant_id=tenant_id, agent_id=agent_id, version=(agent.artifact_version or 0) + 1),
        progress,
    )
    try:
        _still_editable(agent, base, StageName.REVIEW_PLAN)
        assert base is not None  # _still_editable: an active agent has a serving version
        serving = await anyio.to_thread.run_sync(platform.plans.artifact, principal, agent_id, base)
        parsed = await anyio.to_thread.run_sync(_parsed_sop, creator, tenant_id, agent_id, base)
        what = f"skipped (admin edit of version {base}: {', '.join(changed_fields(serving.plan, plan)) or 'no change'})"
        run.record = run.record.model_copy(update={"parsed_sop": parsed})
        await run.skipped(StageName.PARSE_SOP, what)
        await run.skipped(StageName.DRAFT_PLAN, what)

        await run.start(StageName.REVIEW_PLAN)
        review, calls = await review_edit(creator, agent, parsed, plan)
        run.record = run.record.model_copy(update={"reviews": [review]})
        serious = [issue.message for issue in review.issues if blocks(issue)]
        if not review.approved:
            raise CreationFailed(StageName.REVIEW_PLAN, "the edited plan was not approved: " + "; ".join(serious[:5]))
        await run.passed(StageName.REVIEW_PLAN, calls, f"approved ({len(review.issues)} minor notes)")

        await creator._simulate_stage(run, agent, plan, parsed)  # the same stage a creation runs

        await run.start(StageName.DEPLOY)
        now = await anyio.to_thread.run_sync(platform.agents.get, principal, agent_id)
        _still_editable(now, base, StageName.DEPLOY)
        deployed = await anyio.to_thread.run_sync(platform.agents.deploy, tenant_id, agent_id, plan)
        run.record = run.record.model_copy(update={"artifact_sha256": deployed.artifact_sha256})
        sha = deployed.artifact_sha256 or ""
        await run.passed(StageName.DEPLOY, 0, f"version {deployed.artifact_version} is live (plan sha256 {sha})")
        logger.info("tenant=%s agent=%s version=%d | admin edit deployed", tenant_id, agent_id, run.record.version)
    except CreationFailed as exc:
        await run.failed(exc.stage, exc.reason)
    except OratioError as exc:
        await run.failed(run.current or StageName.PARSE_SOP, exc.message)
    return run.record


def _still_editable(agent: Agent, base: int | None, stage: StageName) -> None:
    """The agent still serves the version the edit was made on, and is active (a deploy would un-pause it)."""
    if agent.status is not AgentStatus.ACTIVE or agent.artifact_version is None:
        raise CreationFailed(
            stage, f"the agent is {agent.status.value}; an edited plan deploys only on an active agent"
        )
    if base != agent.artifact_version:
        raise CreationFailed(
            stage,
            f"the edit was made on version {base} but version {agent.artifact_version} serves now; "
            "read the plan again and re-apply the edit",
        )


def _parsed_sop(creator: AgentCreator, tenant_id: str, agent_id: str, version: int) -> ParsedSop:
    """What the SOP said when `version` was built (its creation record); empty for a version with no record."""
    try:
        record = creator._platform.creations.load(tenant_id, agent_id, version)
    except NotFound:
        return ParsedSop()
    return record.parsed_sop or ParsedSop()


async def review_edit(
    creator: AgentCreator, agent: Agent, parsed: ParsedSop, plan: AgentPlan
) -> tuple[PlanReview, int]:
    """One review of the edited plan: the deterministic checks, plus the model reviewer when the server has a
    model. One cycle, not the drafted plan's two: nothing is redrafted between them. Returns the model calls."""
    models = creator._models
    if models is None:  # no server model: the code checks alone decide (a lent model is for builds the caller waits on)
        return merge_reviews(1, check_plan(agent.spec, parsed, plan)), 0
    reviewer = PlanReviewer(models, timeout=creator._timeout)
    return await reviewer.run_async(agent.spec, parsed, plan, 1), reviewer.model_calls
