"""Handoff: the deterministic rules checked on every customer message, and the seam that alerts humans.

Rules come from the reviewed plan and are checked in code, before any model sees the message, so
an SOP's "always hand off when..." holds whatever the model would have said. Alerting people
(notification, event, email, webhook) lives behind `HandoffRequester`, implemented by the
handoff service (`oratio.services.handoff.HandoffService`); the engine only depends on this seam.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

from schemas import AgentPlan, HandoffRule


class HandoffRequester(Protocol):
    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        """Hand the session to a human: mark it `handoff_requested` and tell the tenant's people why.

        Idempotent: a session that already asked is left alone. Called after the customer's turn is
        stored and before the agent's reply is. Raises an `OratioError` only if the session cannot
        be handed off at all (gone, ended, store down); alerting problems are the implementation's
        to record. Implemented by `oratio.services.handoff.HandoffService`.
        """
        ...


@lru_cache(maxsize=1024)
def _compiled(kind: str, pattern: str) -> re.Pattern[str]:
    if kind == "keywords":
        # A keyword or phrase counts only as whole words: "refund" must not fire on "refunded".
        return re.compile(rf"(?<!\w){re.escape(pattern)}(?!\w)", re.IGNORECASE)
    return re.compile(pattern, re.IGNORECASE)


def matching_rule(plan: AgentPlan, text: str) -> HandoffRule | None:
    """The first of the plan's handoff rules that the customer's message meets, if any."""
    for rule in plan.handoff_rules:
        if any(_compiled(rule.kind, pattern).search(text) for pattern in rule.patterns):
            return rule
    return None
