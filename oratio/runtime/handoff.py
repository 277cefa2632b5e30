"""Handoff: the deterministic rules checked in code, and the seam that alerts humans.

Rules come from the reviewed plan and are checked in code, so an SOP's "always hand off when..."
holds whatever the model would have said. Message rules (`keywords`, `regex`, `amount`,
`human_request`) are checked on every customer message before any model sees it; a
`repeated_failures` rule is checked when a turn settles, on the count of consecutive turns in which
the agent could not help (`could_not_help`, kept on the session). Conditions that need judgement
("the customer is upset") are not rules: the model judges them (`AgentPlan.handoff_judgement`, in its
prompt and in the request_handoff tool's description). Alerting people (notification, event, email,
webhook) lives behind `HandoffRequester`, implemented by the handoff service
(`oratio.services.handoff.HandoffService`); the engine only depends on this seam.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from oratio.runtime.amounts import exceeds
from oratio.runtime.outcome import TurnOutcome
from oratio.tenant_patterns import contains_phrase, regex_search
from schemas import AgentPlan, HandoffRule, Role, Turn


class HandoffRequester(Protocol):
    def request(self, tenant_id: str, session_id: str, reason: str) -> None:
        """Hand the session to a human: mark it `handoff_requested` and tell the tenant's people why.

        Idempotent: a session that already asked is left alone. Called after the customer's turn is
        stored and before the agent's reply is. Raises an `OratioError` only if the session cannot
        be handed off at all (gone, ended, store down); alerting problems are the implementation's
        to record. Implemented by `oratio.services.handoff.HandoffService`.
        """
        ...


HUMAN_REQUEST_PHRASES: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "human", "real person", "live person", "a person", "someone real", "representative", "manager",
        "supervisor", "operator", "live agent", "human agent", "real agent", "an agent", "member of staff",
        "staff member", "talk to someone", "speak to someone", "speak with someone", "talk with someone",
    ),
    "fr": (
        "un humain", "une personne", "vraie personne", "personne réelle", "conseiller", "conseillère",
        "un responsable", "le responsable", "un superviseur", "un opérateur", "un agent", "parler à quelqu'un",
        "un interlocuteur",
    ),
    "es": (
        "un humano", "una persona", "persona real", "un agente", "un asesor", "una asesora", "un supervisor",
        "una supervisora", "el gerente", "un gerente", "el encargado", "un operador", "un representante",
        "hablar con alguien",
    ),
    "de": (
        "mensch", "menschen", "echte person", "echten person", "einer person", "mitarbeiter", "mitarbeiterin",
        "berater", "beraterin", "kundenberater", "kundenberaterin", "vorgesetzten", "vorgesetzte",
        "sachbearbeiter", "mit jemandem sprechen", "einen manager", "einem manager",
    ),
}  # fmt: skip
"""What a customer says to ask for a person, in each language an SOP may be written in: whole words, any case.

Checked in every language whatever the SOP's, since a customer may write in their own. Some phrases also
occur in messages that ask for no one ("the manager told me..."); as with amounts, doubt goes to a
handoff: an unneeded one costs less than a missed one."""
_HUMAN_REQUEST: Final = tuple(phrase for phrases in HUMAN_REQUEST_PHRASES.values() for phrase in phrases)

DONT_KNOW_PHRASES: Final = (
    "i don't know", "i do not know", "i don't have an answer", "i do not have an answer", "i couldn't find",
    "i could not find", "i can't find", "i cannot find", "i'm not able to help", "i am not able to help",
    "i'm unable to help", "i am unable to help", "i can't help with", "i cannot help with",
    "je ne sais pas", "je n'ai pas trouvé", "je ne trouve pas", "je ne peux pas vous aider",
    "no lo sé", "no sé", "no encontré", "no he encontrado", "no puedo ayudarle", "no puedo ayudarte",
    "ich weiß nicht", "ich weiß es nicht", "weiß ich nicht", "nicht gefunden", "kann ich nicht helfen",
    "kann ihnen nicht helfen",
)  # fmt: skip
"""How an agent's reply says it could not help (en/fr/es/de), as whole words, any case."""


def rule_matches(rule: HandoffRule, text: str) -> bool:
    """Whether one rule fires on a customer's message; linear in the message whatever the rule says.

    Keywords count only as whole words ("refund" does not fire on "refunded"); regexes run on RE2; an
    amount rule needs a word starting with one of its topics ("refund" in "refunded") and an amount in
    its currency above its threshold, anywhere in the message ("I want a refund. It was $250."); a
    human_request rule fires on any built-in phrase or any of its own. A repeated_failures rule never
    fires on a message (see `failures_rule`).
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
        case "human_request":
            phrases = (*_HUMAN_REQUEST, *rule.patterns)
            return any(contains_phrase(folded, phrase, folded=True) for phrase in phrases)
        case "repeated_failures":
            return False


def matching_rule(plan: AgentPlan, text: str) -> HandoffRule | None:
    """The first of the plan's message rules that the customer's message meets, if any."""
    folded = text.casefold()  # once per message, not once per pattern
    for rule in plan.handoff_rules:
        if _matches(rule, text, folded):
            return rule
    return None


def failures_rule(plan: AgentPlan, failures: int) -> HandoffRule | None:
    """The first repeated_failures rule that `failures` consecutive turns without help reach, if any.

    "After two failed attempts" is `failures_over=2`: the turn that fails for the second time in a
    row hands off (with the plan's handoff message after what the agent said).
    """
    for rule in plan.handoff_rules:
        if rule.kind == "repeated_failures" and rule.failures_over is not None and failures >= rule.failures_over:
            return rule
    return None


def could_not_help(outcome: TurnOutcome, reply: str, *, failed: bool) -> bool:
    """Whether the agent could not help in a turn the model ran, as repeated_failures rules count it.

    A turn counts when any of these holds: the model failed or timed out (`failed`: the customer got an
    apology); the agent said nothing; a tool failed or a knowledge search found nothing, and the turn
    has no source (`TurnOutcome.unhelpful`); or the reply says it does not know or cannot help, in
    English, French, Spanish or German (`DONT_KNOW_PHRASES`). Any other turn resets the count.
    """
    if failed or not reply.strip():
        return True
    if outcome.unhelpful and not outcome.sources:
        return True
    folded = reply.replace("\u2019", "'").casefold()
    return any(contains_phrase(folded, phrase, folded=True) for phrase in DONT_KNOW_PHRASES)


def reminder_due(history: Sequence[Turn], message: str, every: int) -> bool:
    """Whether a paused session's customer hears `message` (the plan's handoff message) on this turn.

    `history` is the transcript before this turn. Walking back, the customer turns since the agent
    last said `message` are counted; it is said again once `every` turns (this one included) have
    gone by without it. Any other agent words (a reply before the handoff) end the walk: the first
    turn of a pause hears it. Bounded by the history page the turn already read.
    """
    unanswered = 1  # this turn
    for past in reversed(history):
        if past.role is Role.AGENT:
            return past.text != message or unanswered >= every
        if past.role is Role.CUSTOMER:
            unanswered += 1
    return True


def rule_reason(rule: HandoffRule) -> str:
    """What the handoff service records as the reason a rule handed a session off."""
    return f"handoff rule '{rule.id}': {rule.description}"


__all__ = [
    "DONT_KNOW_PHRASES",
    "HUMAN_REQUEST_PHRASES",
    "HandoffRequester",
    "could_not_help",
    "failures_rule",
    "matching_rule",
    "reminder_due",
    "rule_matches",
    "rule_reason",
]
