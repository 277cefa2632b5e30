"""The warm brief: why, the customer's first request, the last exchanges, fields collected and tools
called; stored with the handoff and in the notification the admins read (get_session shows it)."""

from __future__ import annotations

from oratio.platform import Platform
from oratio.services.handoff_brief import RECENT, TEXT_MAX, extractive_brief
from schemas import Channel, Role, ToolCallRecord, ToolCallStatus, Turn
from tests.support.tenants import Tenancy, active_agent


def test_the_brief_is_stored_with_the_handoff_and_in_the_notification(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    sessions = platform.sessions
    sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "My parcel 42 never arrived")
    lookup = ToolCallRecord(id="c1", name="lookup_order", status=ToolCallStatus.OK)
    sessions.append_turn(acme.tenant_id, session.id, Role.AGENT, "It left on Monday.", tool_calls=[lookup])
    sessions.record_collected(acme.tenant_id, session.id, {"order_id": "42"})
    sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "I want a person now")

    platform.handoff.request(acme.tenant_id, session.id, "handoff rule 'human': the customer asks for a person")

    stored = sessions.get(acme.principal, session.id).session
    assert stored.handoff is not None and stored.handoff.brief is not None
    brief = stored.handoff.brief
    assert brief.why == "handoff rule 'human': the customer asks for a person"
    assert brief.first_request == "My parcel 42 never arrived"
    assert [(line.role, line.text) for line in brief.recent] == [
        ("customer", "My parcel 42 never arrived"),
        ("agent", "It left on Monday."),
        ("customer", "I want a person now"),
    ]
    assert (brief.collected, brief.tools_called, brief.written_by) == (
        {"order_id": "42"},
        ["lookup_order (ok)"],
        "extractive",
    )
    [notification] = platform.notifications.list(acme.principal).items
    assert "First request: My parcel 42 never arrived" in notification.body
    assert "Collected: order_id=42" in notification.body and "lookup_order (ok)" in notification.body


def test_the_brief_is_bounded_whatever_the_conversation() -> None:
    turns = [
        Turn(tenant_id="ten_1", session_id="ses_1", seq=n, role=Role.CUSTOMER if n % 2 else Role.AGENT, text="x" * 5000)
        for n in range(1, 101)
    ]

    brief = extractive_brief("why", turns, {})

    assert len(brief.recent) == RECENT
    assert len(brief.first_request) == TEXT_MAX and all(len(line.text) == TEXT_MAX for line in brief.recent)
