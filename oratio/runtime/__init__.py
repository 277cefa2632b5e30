"""The conversation runtime: runs deployed agents' turns over the platform's services.

`ConversationEngine` is what every customer-facing door calls; `HandoffRequester` is the seam the
handoff service implements to alert people when a session needs a human.
"""

from oratio.runtime.engine import APOLOGY, ConversationEngine, ModelFactory
from oratio.runtime.handoff import HandoffRequester, matching_rule
from oratio.runtime.results import TurnResult

__all__ = [
    "APOLOGY",
    "ConversationEngine",
    "HandoffRequester",
    "ModelFactory",
    "TurnResult",
    "matching_rule",
]
