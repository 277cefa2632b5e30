"""Handoff: the deterministic rules checked on every customer message, and the seam that alerts humans.

Rules come from the reviewed plan and are checked in code, before any model sees the message, so
an SOP's "always hand off when..." holds whatever the model would have said. Alerting people
(notification, event, email, webhook) lives behind `HandoffRequester`, implemented by the
handoff service (`oratio.services.handoff.HandoffService`); the engine only depends on this seam.
"""

from __future__ import annotations

from typing import Protocol

from oratio.runtime.amounts import exceeds
from oratio.tenant_patterns import contains_phrase, regex_search
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


def rule_matches(rule: HandoffRule, text: str) -> bool:
    """Whether one rule fires on a customer's message; linear in the message whatever the rule says.

    Keywords count only as whole words ("refund" does not fire on "refunded"); regexes run on RE2; an
    amount rule needs a word starting with one of its topics ("refund" in "refunded") and an amount in
    its currency above its threshold, anywhere in the message ("I want a refund. It was $250.").
    """
    return _matches(rule, text, text.casefold())


def _matches(rule: HandoffRule, text: str, folded: str) -> bool:
    match rule.kind:
        case "keywords":
            return any(contains_phrase(folded, phrase, folded=True) for phrase in rule.patterns)
        case "regex":
            return any(regex_search(pattern, text) for pattern in rule.patterns)
        case "amount":
            if rule.amount_over is None or rule.currency is None:
                return False  # the schema refuses this; kept for the type checker
            topics = (contains_phrase(folded, topic, whole_word=False, folded=True) for topic in rule.patterns)
            return any(topics) and exceeds(text, rule.amount_over, rule.currency)


def matching_rule(plan: AgentPlan, text: str) -> HandoffRule | None:
    """The first of the plan's handoff rules that the customer's message meets, if any."""
    folded = text.casefold()  # once per message, not once per pattern
    for rule in plan.handoff_rules:
        if _matches(rule, text, folded):
            return rule
    return None
