"""The outcome of a finished session, decided in code so every analysis (rules or model) agrees on it."""

from __future__ import annotations

from collections.abc import Sequence

from schemas import Role, Session, SessionStatus, Turn
from schemas.analysis import Outcome

RESTARTED = "platform restarted"
IDLE = "idle timeout"


def decide_outcome(session: Session, turns: Sequence[Turn]) -> Outcome:
    """How a session ended. The rules, first match wins:

    1. `failed`: the session ended in `error` (the platform or a backend failed), or was interrupted
       because the platform restarted under it (`end_reason` starts with "platform restarted").
    2. `handed_off`: a handoff was requested during the session (`Session.handoff_reason` is set),
       however it ended afterwards (a human closed it, or it was idle-swept).
    3. `abandoned`: the customer never said anything; or the call was interrupted (hung up without
       an end, too long, silent); or it timed out idle while the agent still owed a helpful answer
       (the last turn is the customer's, or the agent's last turns could not help: `failed_turns` > 0).
    4. `resolved`: anything else that ended `completed` (the agent ended it, or the customer went
       quiet after a helpful answer).
    """
    reason = session.end_reason or ""
    if session.status is SessionStatus.ERROR or (
        session.status is SessionStatus.INTERRUPTED and reason.startswith(RESTARTED)
    ):
        return Outcome.FAILED
    if session.handoff_reason is not None:
        return Outcome.HANDED_OFF
    if not any(t.role is Role.CUSTOMER for t in turns) or session.status is SessionStatus.INTERRUPTED:
        return Outcome.ABANDONED
    if reason.startswith(IDLE):
        spoken = [t for t in turns if t.role is not Role.SYSTEM]
        if not spoken or spoken[-1].role is Role.CUSTOMER or session.failed_turns > 0:
            return Outcome.ABANDONED
    return Outcome.RESOLVED
