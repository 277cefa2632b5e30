"""The review loop: draft, review, redraft with the review's issues until approved after at least two reviews."""

from __future__ import annotations

import anyio

from creator_agent import review_checks, tool_checks
from creator_agent.errors import PlanNotApproved
from creator_agent.stages.base import blocks
from creator_agent.stages.draft_plan import PlanDrafter
from creator_agent.stages.review_plan import PlanReviewer
from schemas.agents import AgentSpec
from schemas.creation import ParsedSop, PlanReview, ReviewIssue
from schemas.plan import AgentPlan


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
    for the review stage, carrying every review) when `max_cycles` end without approval, or at once when
    the SOP or the admin's settings hold a blocker no redraft can fix (`review_checks.check_sop`).
    """
    if not 1 <= min_cycles <= max_cycles:
        raise ValueError("need 1 <= min_cycles <= max_cycles")
    found = [*review_checks.check_sop(spec, parsed), *tool_checks.literal_secrets(spec)]
    blockers = [issue for issue in found if issue.severity == "blocker"]
    if blockers:
        verdict = PlanReview(cycle=1, approved=False, issues=blockers[:50])
        reason = "the SOP cannot become a plan: " + "; ".join(f"{i.field}: {i.message}" for i in blockers[:5])
        raise PlanNotApproved(reason[:4000], [verdict])
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
    serious = [_named(issue) for issue in last.issues if blocks(issue)]
    reason = f"the plan was not approved after {max_cycles} review cycles"
    if serious:
        reason += ": " + "; ".join(serious[:5])
    raise PlanNotApproved(reason[:4000], reviews)


def _named(issue: ReviewIssue) -> str:
    return f"{issue.field}: {issue.message}" if issue.field else issue.message


__all__ = ["review_loop", "review_loop_async"]
