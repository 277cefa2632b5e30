"""An agent turn with tool calls is still one commit: the turn (with its tool calls), the session's counters
and held write action, the `session.turn` event and one `session.tool_call` event per call."""

from __future__ import annotations

from collections import Counter

from oratio.platform import Platform
from oratio.services.sessions import KEEP
from oratio.store.sqlite import SqliteRecordStore
from schemas import Channel, EventType, PendingAction, Role, ToolCallRecord, ToolCallStatus
from tests.oratio.test_turn_commits import counted_sessions
from tests.support.tenants import Tenancy, active_agent


def test_tool_calls_and_the_held_action_commit_with_the_turn(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    tally: Counter[str] = Counter()
    sessions = counted_sessions(platform, tally)
    session = sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    session, _ = sessions.append_next(session, 1, Role.CUSTOMER, "cancel A123")
    head = platform.backends.events.head(acme.tenant_id)
    calls = [
        ToolCallRecord(id="c1", name="lookup_order", status=ToolCallStatus.OK, duration_ms=3.0),
        ToolCallRecord(id="c2", name="cancel_order", status=ToolCallStatus.AWAITING_CONFIRMATION, write=True),
    ]
    held = PendingAction(
        call_id="c2", tool="cancel_order", arguments={"order_id": "A123"}, statement="To confirm...", proposed_in_turn=2
    )
    tally.clear()
    session, turn = sessions.append_next(session, 2, Role.AGENT, "Shall I?", tool_calls=calls, pending_action=held)
    if isinstance(platform.backends.store, SqliteRecordStore):
        assert dict(tally) == {"store.transact_logged": 1}
    assert session.pending_action == held and turn.tool_calls == calls
    found = platform.sessions.get(acme.principal, session.id)
    assert found.session.pending_action == held and found.turns[-1].tool_calls == calls
    new = platform.backends.events.read(acme.tenant_id, after=head)
    assert [e.type for e in new] == [EventType.SESSION_TURN, EventType.SESSION_TOOL_CALL, EventType.SESSION_TOOL_CALL]
    assert new[2].data == {
        "session_id": session.id,
        "agent_id": agent.id,
        "call_id": "c2",
        "name": "cancel_order",
        "status": "awaiting_confirmation",
        "duration_ms": None,
        "write": True,
        "confirmed": False,
    }
    # The next customer turn clears it in its own commit; KEEP leaves it alone.
    session, _ = sessions.append_next(session, 3, Role.CUSTOMER, "hello", pending_action=KEEP)
    assert session.pending_action == held
    session, _ = sessions.append_next(session, 4, Role.CUSTOMER, "yes", pending_action=None)
    assert platform.sessions.get(acme.principal, session.id).session.pending_action is None
