"""How a call ended: the close code and reason, what the client is told, and the session's new status."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from oratio.errors import InvalidState, OratioError
from schemas import SessionStatus
from voice_bridge.auth import close_for
from voice_bridge.backend import Call
from voice_bridge.protocol import Close, ProtocolError

logger = logging.getLogger("oratio.voice")


@dataclass(frozen=True)
class Outcome:
    """How a call ended: the close frame, what the client is told, and the session's new status."""

    code: Close
    reason: str
    status: SessionStatus | None = None  # None: leave the session as the call left it
    client_gone: bool = False

    @property
    def normal(self) -> bool:
        return self.code is Close.NORMAL


class Ended(Exception):
    """Raised inside the call's task group to stop it with an outcome."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


def backend_outcome(call: Call, exc: Exception) -> Outcome:
    """What a backend's failure means for the call (backends run task groups: look inside them)."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, ProtocolError):
        return Outcome(exc.code, exc.reason, SessionStatus.INTERRUPTED)
    if isinstance(exc, InvalidState):  # the session was ended elsewhere (an admin, the idle sweeper)
        return Outcome(Close.CONFLICT, exc.message)
    if isinstance(exc, OratioError):
        status = SessionStatus.ERROR if exc.http_status >= 500 else SessionStatus.INTERRUPTED
        return Outcome(close_for(exc), exc.message, status)
    # The outermost handler of a backend: speech engines and model SDKs fail in any way, and the
    # call must still close with a code, its recording saved.
    logger.error("session_id=%s | the speech backend failed", call.session_id, exc_info=exc)
    return Outcome(Close.INTERNAL, "the voice service failed; try again", SessionStatus.ERROR)


def first_outcome(group: BaseExceptionGroup[Ended]) -> Outcome:
    """The outcome of the first task that ended the call (others may end as it cancels them)."""
    found: list[Ended] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        elif isinstance(exc, Ended):
            found.append(exc)

    walk(group)
    return found[0].outcome
