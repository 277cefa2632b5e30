"""SessionService.search: transcript text search, scoped to the tenant, bounded per call, paged without loss."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oratio.errors import Forbidden, InvalidInput
from oratio.platform import Platform
from oratio.services import sessions as sessions_module
from schemas import Channel, Role, Scope, Session, SessionFilter, SessionStatus
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, active_agent, narrow


def conversation(platform: Platform, tenancy: Tenancy, agent_id: str, clock: FakeClock, *texts: str) -> Session:
    clock.advance(timedelta(minutes=1))
    session = platform.sessions.start(tenancy.tenant_id, agent_id, Channel.TEXT)
    for n, text in enumerate(texts):
        role = Role.CUSTOMER if n % 2 == 0 else Role.AGENT
        platform.sessions.append_turn(tenancy.tenant_id, session.id, role, text)
    return session


def ids(sessions: list[Session]) -> list[str]:
    return [s.id for s in sessions]


def test_search_finds_text_in_any_turn_newest_first_with_filters(
    platform: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock
) -> None:
    support = active_agent(platform, acme, "Support")
    sales = active_agent(platform, acme, "Sales")
    theirs = active_agent(platform, globex, "Helpdesk")
    parcel = conversation(platform, acme, support.id, clock, "Where is my parcel?", "It left today, in a Blue Box.")
    refund = conversation(platform, acme, support.id, clock, "I want a refund")
    lost = conversation(platform, acme, sales.id, clock, "My PARCEL is lost")
    conversation(platform, globex, theirs.id, clock, "parcel parcel parcel")
    platform.sessions.end(acme.tenant_id, refund.id)

    assert ids(platform.sessions.search(acme.principal, SessionFilter(), "parcel").items) == [lost.id, parcel.id]
    assert ids(platform.sessions.search(acme.principal, SessionFilter(), "  blue box ").items) == [parcel.id]
    by_agent = SessionFilter(agent_id=support.id)
    assert ids(platform.sessions.search(acme.principal, by_agent, "parcel").items) == [parcel.id]
    ended = SessionFilter(status=SessionStatus.COMPLETED)
    assert ids(platform.sessions.search(acme.principal, ended, "refund").items) == [refund.id]
    assert platform.sessions.search(acme.principal, ended, "parcel").items == []
    assert platform.sessions.search(globex.principal, SessionFilter(), "refund").items == []
    assert len(platform.sessions.search(globex.principal, SessionFilter(), "parcel").items) == 1


def test_search_pages_on_with_the_cursor_without_losing_a_match(
    platform: Platform, acme: Tenancy, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = active_agent(platform, acme)
    oldest = conversation(platform, acme, agent.id, clock, "needle in here")
    for n in range(3):
        conversation(platform, acme, agent.id, clock, f"hay {n}")
    newest = conversation(platform, acme, agent.id, clock, "another needle")
    monkeypatch.setattr(sessions_module, "SEARCH_SCAN_MAX", 2)

    found: list[Session] = []
    cursor: str | None = None
    for _ in range(10):
        page = platform.sessions.search(acme.principal, SessionFilter(limit=50, cursor=cursor), "needle")
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert ids(found) == [newest.id, oldest.id]

    first = platform.sessions.search(acme.principal, SessionFilter(limit=1), "needle")
    assert ids(first.items) == [newest.id] and first.next_cursor is not None


def test_search_refuses_empty_or_long_text_and_needs_the_sessions_scope(platform: Platform, acme: Tenancy) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        platform.sessions.search(acme.principal, SessionFilter(), "   ")
    with pytest.raises(InvalidInput, match="longer"):
        platform.sessions.search(acme.principal, SessionFilter(), "x" * 201)
    with pytest.raises(Forbidden):
        platform.sessions.search(narrow(acme, Scope.AGENTS_READ), SessionFilter(), "hello")
