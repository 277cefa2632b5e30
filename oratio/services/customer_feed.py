"""What a customer's own text channel sees of its session: the turns meant for them, after a cursor.

Before takeover a customer only ever got the agent's reply to the turn they sent. Once a person takes
the session over, messages arrive that the customer did not ask for: the person's (`Role.HUMAN`), and
later the agent's again. The runtime door (`agentcore_apps`: a long-poll through `/invocations`, the
AgentCore `/ws` WebSocket) answers "what is there for me after seq N?" with this page, and waits on
the event log's tail for the next one; the decision of what a customer may see is made here, once.

* Visible: agent turns (with their sources), human turns (the text only: which admin wrote it is
  for the transcript, not for the customer), and a short notice when the conversation changes hands
  (a person joined, the assistant is back, the conversation was closed). Never the customer's own
  turns (they sent them), other system notes or tool calls.
* The cursor is the session's turn seq. A page's `cursor` is the last seq read, visible or not, so a
  client that sends it back never reads a turn twice and never misses one (seqs only grow); a
  reconnecting client gets what it missed.
* Scoped like a turn: a session of another tenant, or of another agent of the same tenant, is
  NotFound (the key names both).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from oratio.errors import InvalidInput, NotFound
from oratio.services._common import Backends
from oratio.services.sessions import ENDED
from oratio.store.tables import SESSIONS, TURNS
from schemas import HandoffState, Identifier, Limits, Model, Role, Session, SessionStatus, Source, Turn
from schemas._base import UtcDatetime

FEED_PAGE = 50
"""Turns read per page; a client with more to catch up on asks again from the returned cursor."""

NOTICES: dict[str, tuple[HandoffState, str]] = {
    # The system turns `handoff_lifecycle` writes for these moves ("Handoff taken over by <who>.")
    # and the customer's wording of them (who moved it is not the customer's business).
    "Handoff taken over by ": (HandoffState.TAKEN_OVER, "A person from the team has joined the conversation."),
    "Handoff returned to the agent by ": (HandoffState.RETURNED, "You are back with the assistant."),
    "Handoff closed by ": (HandoffState.CLOSED, "This conversation has been closed."),
}


class FeedItem(Model):
    seq: int = Field(ge=1, description="The turn's seq in the session")
    role: Literal["agent", "human", "notice"] = Field(
        description="agent: the assistant; human: a person from the team; notice: the conversation changed hands"
    )
    text: str = Field(max_length=Limits.TURN_TEXT_MAX)
    sources: list[Source] = Field(default_factory=list, description="Agent turns: the passages the answer drew on")
    at: UtcDatetime


class FeedPage(Model):
    session_id: Identifier
    items: list[FeedItem]
    cursor: int = Field(ge=0, description="Send it back as `after` to get what follows")
    status: SessionStatus
    ended: bool = Field(description="The session is over: nothing more will arrive")
    with_person: bool = Field(description="A person has taken the conversation over (the agent is not replying)")


class CustomerFeed:
    """Reads a session's customer-visible turns for the runtime door (no waiting here: see the door)."""

    def __init__(self, backends: Backends) -> None:
        self._b = backends

    def session(self, tenant_id: str, agent_id: str, session_id: str) -> Session:
        """The session if it is this tenant's and this agent's, else NotFound (the same for either)."""
        session = self._b.store.get(SESSIONS, tenant_id, session_id)
        if session is None or session.agent_id != agent_id:
            raise NotFound.of("session", session_id)
        return session

    def page(self, tenant_id: str, agent_id: str, session_id: str, after: int) -> FeedPage:
        """The customer-visible turns after seq `after` (at most `FEED_PAGE` turns read)."""
        session = self.session(tenant_id, agent_id, session_id)
        turns = self._b.store.query(
            TURNS, f"{tenant_id}#{session_id}", sort_from=f"{max(after, 0) + 1:010d}", limit=FEED_PAGE
        ).items
        if not turns and after > 0:
            self._check_cursor(tenant_id, session_id, after)
        items = [item for item in map(visible, turns) if item is not None]
        cursor = max(after, turns[-1].seq) if turns else max(after, 0)
        handoff = session.handoff
        return FeedPage(
            session_id=session_id,
            items=items,
            cursor=cursor,
            status=session.status,
            ended=session.status in ENDED and len(turns) < FEED_PAGE,
            with_person=handoff is not None and handoff.state is HandoffState.TAKEN_OVER,
        )

    def _check_cursor(self, tenant_id: str, session_id: str, after: int) -> None:
        """Refuse a cursor past the session's last turn. Such a cursor was never given out (a page's
        cursor is a seq read, and seqs only grow), and following it would hide every later turn:
        the customer would silently never see a reply again."""
        last = self._b.store.query(TURNS, f"{tenant_id}#{session_id}", descending=True, limit=1).items
        last_seq = last[0].seq if last else 0
        if after > last_seq:
            raise InvalidInput(
                f"after is past this session's last turn ({last_seq}): send back a cursor this session returned",
                field="after",
            )


def visible(turn: Turn) -> FeedItem | None:
    """What the customer sees of a turn, or None when it is not for them."""
    if turn.role is Role.AGENT and turn.text.strip():
        return FeedItem(seq=turn.seq, role="agent", text=turn.text, sources=turn.sources, at=turn.started_at)
    if turn.role is Role.HUMAN:
        return FeedItem(seq=turn.seq, role="human", text=turn.text, at=turn.started_at)
    if turn.role is Role.SYSTEM:
        for prefix, (_, notice) in NOTICES.items():
            if turn.text.startswith(prefix):
                return FeedItem(seq=turn.seq, role="notice", text=notice, at=turn.started_at)
    return None
