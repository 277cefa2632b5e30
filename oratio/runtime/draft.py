"""When a turn's reply may be drafted ahead, and whether a draft came out clean.

The voice bridge drafts the agent's reply to a speculative transcript before the customer's turn is
confirmed (a preemptive reply, issue 21), so the first sentence can be synthesised during the endpointer's
hangover. A draft stores nothing, sends nothing and must cause nothing: it runs the model over the stored
history with only side-effect-free tools, and is only ever a guess. The confirmed turn still runs through
`ConversationEngine.stream_turn` and is stored once; the bridge plays the held audio only for the exact
sentence that committed turn says. So these rules decide cost and hit rate, never what is stored.

A draft is refused (None) where the committed turn would not be a plain model reply, or could act on the
world: a paused session (a person has it), another turn running, a held write action the message might
settle, a handoff rule the message matches, an agent with its own actions or a configured webhook.
A draft that asked for a handoff or the end of the session, or failed, is dropped too: the committed
turn's words would be the plan's fixed ending, not the model's.
"""

from __future__ import annotations

from datetime import datetime

from oratio.runtime.handoff import matching_rule
from oratio.runtime.outcome import TurnOutcome
from schemas import AgentPlan, Session


def may_draft(session: Session, plan: AgentPlan, text: str, *, acts: bool, now: datetime) -> bool:
    """Whether a reply to `text` can be drafted with no effect outside the draft; `acts`: the agent has
    tools that touch the world (its own actions, a configured webhook)."""
    if acts or session.paused or session.pending_action is not None:
        return False
    if session.turn_lock is not None and session.turn_lock.until > now:
        return False
    return matching_rule(plan, text) is None


def drafted_cleanly(outcome: TurnOutcome, failure: str | None) -> bool:
    """A draft worth holding: the model answered in its own words (no failure, no handoff, no end)."""
    return failure is None and outcome.handoff_reason is None and not outcome.end_requested


__all__ = ["drafted_cleanly", "may_draft"]
