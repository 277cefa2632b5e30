"""One Nova Sonic call's state: who the model is talking for, how a connection ended, and tool-call order.

Kept apart from the backend (voice_bridge.nova_sonic), which reads the model's events and acts on them,
so the decisions a call carries from one event to the next are in one small record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

import anyio

from oratio.runtime.action_turn import ActionTurn
from oratio.runtime.tools import TurnOutcome
from schemas import AgentPlan, PendingAction, SessionStatus
from voice_bridge.nova_voice import SaysExactly

TOOL_ORDER_WAIT_S: Final = 10.0
"""How long a tool call waits for the event reader to reach it (a stuck reader must not hold a tool forever)."""


class Mode(Enum):
    """Whether the model's replies reach the caller."""

    TALKING = "talking"
    ANNOUNCING = "announcing"
    """The session paused: the model's next reply (the handoff message) is played, then it goes quiet."""
    QUIET = "quiet"
    """A person has the conversation: the model's replies are neither played nor stored."""
    FAREWELL = "farewell"
    """The call is ending: the model says the plan's last words (handoff or closing message), then the call ends."""


class Next(Enum):
    """How one connection to the model ended."""

    DONE = "done"
    """The call is over (the customer hung up, or the agent or a person ended the conversation)."""
    RESTART = "restart"
    """The session paused: restart the connection and have the model say the handoff message."""
    RECONNECT = "reconnect"
    """The model stopped itself while paused (a tool): a new connection, still quiet."""
    FAREWELL = "farewell"
    """A handoff without pause, or the end: restart the connection, have the model say the last words, end."""


class ToolOrder:
    """Tool calls run only once the event reader has handled every event the model sent before them.

    Why: strands runs a tool as soon as the model asks for it, in a task of its own, while the bridge may
    still be handling the caller's transcript that came just before (storing it, checking the key, and
    settling a held write with the confirmation gate). A repeated write call after the caller's "yes" then
    met a gate that had not heard the yes yet: held again, and never run. The reader marks each tool use
    it reaches (`reached`); a tool call waits for its own mark (`wait`), so it sees what the caller said.
    """

    def __init__(self) -> None:
        self._reached: set[str] = set()
        self._changed = anyio.Event()

    def reached(self, tool_use_ids: Iterable[str]) -> None:
        self._reached.update(tool_use_ids)
        self._changed.set()
        self._changed = anyio.Event()

    async def wait(self, tool_use_id: str, timeout_s: float = TOOL_ORDER_WAIT_S) -> bool:
        """True once the reader reached this call; False when it did not within `timeout_s`."""
        with anyio.move_on_after(timeout_s):
            while tool_use_id not in self._reached:
                await self._changed.wait()
            self._reached.discard(tool_use_id)
            return True
        return False


@dataclass
class Conversation:
    """What one call's bidi conversation decided so far."""

    plan: AgentPlan
    outcome: TurnOutcome
    status: SessionStatus
    """The session's status as this call last settled it."""
    actions: ActionTurn | None = None
    """The agent's own tools for this call, with its confirmation gate; None: not offered."""
    held: PendingAction | None = None
    """The held write action as last stored on the session."""
    mode: Mode = Mode.TALKING
    connected: bool = True
    """The model's connection is open (audio sent while it restarts is dropped: the caller hears nothing then)."""
    reminder_every: int = 3
    """While paused, the handoff message is said again once this many caller turns went by without it
    (`HandoffConfig.reminder_every`, as the text engine's `reminder_due`)."""
    unanswered: int = 0
    """Caller turns since the handoff message was last said."""
    voice: SaysExactly | None = None
    """The call's voice for a person's typed words (`voice_bridge.nova_voice`); None: not offered."""
    farewell: tuple[str, str] | None = None
    """(the plan's last words, why the call ends) once a handoff without pause or the end was settled."""
    tool_order: ToolOrder = field(default_factory=ToolOrder)
    link: anyio.Lock = field(default_factory=anyio.Lock)
    """Held while a frame is sent and while the connection restarts, so no frame reaches a stopped model."""


def relaying(state: Conversation) -> bool:
    """The model is saying a person's words (voice_bridge.nova_voice): not the agent's turn, no tools."""
    return state.voice is not None and state.voice.current is not None


__all__ = ["TOOL_ORDER_WAIT_S", "Conversation", "Mode", "Next", "ToolOrder", "relaying"]
