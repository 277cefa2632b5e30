"""The AgentCreator's one failure type: which stage gave up, and why, in words an admin can act on.

A creation that cannot finish must end the agent in `failed` with a reason, never a traceback, so
every stage turns model trouble (timeouts, provider errors, output that does not fit the schema)
and unmet checks into `CreationFailed` naming itself.
"""

from __future__ import annotations

from oratio.errors import OratioError
from schemas.creation import PlanReview, StageName


class CreationFailed(OratioError):
    """A creation stage could not produce what the next stage needs; `stage` says which one."""

    code = "creation_failed"
    http_status = 422

    def __init__(self, stage: StageName | str, reason: str) -> None:
        self.stage = StageName(stage)
        self.reason = reason
        super().__init__(f"{self.stage.value}: {reason}")


class PlanNotApproved(CreationFailed):
    """The review loop ran out of cycles; `reviews` keeps every verdict so the record can show them."""

    def __init__(self, reason: str, reviews: list[PlanReview]) -> None:
        super().__init__(StageName.REVIEW_PLAN, reason)
        self.reviews = list(reviews)


__all__ = ["CreationFailed", "PlanNotApproved"]
