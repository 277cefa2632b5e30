"""NotificationService: the platform notifies, admins list, read and acknowledge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oratio.errors import InvalidState, NotFound
from oratio.ids import new_id
from oratio.platform import Platform
from schemas import Notification, NotificationStatus, NotificationType, Principal, Priority, Scope
from tests.support.platforms import FakeClock
from tests.support.tenants import Tenancy, events


def _notify(platform: Platform, tenancy: Tenancy, title: str) -> Notification:
    return platform.notifications.notify(tenancy.tenant_id, NotificationType.SYSTEM, title)


def test_notify_stores_an_unread_notification_and_emits(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent_id, session_id = new_id("agent"), new_id("session")

    stored = platform.notifications.notify(
        acme.tenant_id,
        NotificationType.HANDOFF,
        "Customer asks for a human",
        body="Refund over $100",
        priority=Priority.URGENT,
        agent_id=agent_id,
        session_id=session_id,
    )

    assert (stored.status, stored.priority, stored.created_at) == (
        NotificationStatus.UNREAD,
        Priority.URGENT,
        clock(),
    )
    assert (stored.title, stored.body, stored.agent_id, stored.session_id) == (
        "Customer asks for a human",
        "Refund over $100",
        agent_id,
        session_id,
    )
    assert (stored.read_at, stored.acknowledged_at, stored.acknowledged_by) == (None, None, None)
    assert platform.notifications.get(acme.principal, stored.id) == stored
    (event,) = events(platform, acme.tenant_id)[-1:]
    assert (event.type.value, event.subject) == ("notification.created", stored.id)
    assert event.data == {
        "type": "handoff",
        "priority": "urgent",
        "title": "Customer asks for a human",
        "agent_id": agent_id,
        "session_id": session_id,
    }


def test_list_is_newest_first_and_filters_by_status(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    created = []
    for title in ("first", "second", "third", "fourth"):
        clock.advance(timedelta(minutes=1))
        created.append(_notify(platform, acme, title))
    first, second, third, fourth = (n.id for n in created)
    platform.notifications.mark_read(acme.principal, second)
    platform.notifications.acknowledge(acme.principal, third)

    def listed(status: NotificationStatus | None = None) -> list[str]:
        return [n.id for n in platform.notifications.list(acme.principal, status=status).items]

    assert listed() == [fourth, third, second, first]
    assert listed(NotificationStatus.UNREAD) == [fourth, first]
    assert listed(NotificationStatus.READ) == [second]
    assert listed(NotificationStatus.ACKNOWLEDGED) == [third]
    page = platform.notifications.list(acme.principal, limit=3)
    assert [n.id for n in page.items] == [fourth, third, second]
    assert page.next_cursor is not None
    rest = platform.notifications.list(acme.principal, limit=3, cursor=page.next_cursor)
    assert ([n.id for n in rest.items], rest.next_cursor) == ([first], None)


def test_mark_read_is_idempotent(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    notification = _notify(platform, acme, "Agent ready")
    read_at = clock.advance(timedelta(minutes=1))

    read = platform.notifications.mark_read(acme.principal, notification.id)
    assert (read.status, read.read_at, read.version) == (
        NotificationStatus.READ,
        read_at,
        notification.version + 1,
    )
    logged = len(events(platform, acme.tenant_id))

    clock.advance(timedelta(minutes=1))
    again = platform.notifications.mark_read(acme.principal, notification.id)

    assert again == read
    assert platform.notifications.get(acme.principal, notification.id) == read
    assert len(events(platform, acme.tenant_id)) == logged
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "notification.updated",
        notification.id,
        {"status": "read"},
    )


def test_acknowledge_records_who_and_when(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    unread = _notify(platform, acme, "Handoff")
    read_first = _notify(platform, acme, "Other handoff")
    read_at = clock.advance(timedelta(minutes=1))
    platform.notifications.mark_read(acme.principal, read_first.id)
    acked_at = clock.advance(timedelta(minutes=1))

    acked = platform.notifications.acknowledge(acme.principal, unread.id)
    acked_after_read = platform.notifications.acknowledge(acme.principal, read_first.id)

    assert (acked.status, acked.acknowledged_by, acked.acknowledged_at, acked.read_at) == (
        NotificationStatus.ACKNOWLEDGED,
        acme.admin.id,
        acked_at,
        acked_at,
    )
    assert (acked_after_read.read_at, acked_after_read.acknowledged_at) == (read_at, acked_at)
    assert platform.notifications.get(acme.principal, unread.id) == acked
    # Reading an acknowledged notification changes nothing.
    assert platform.notifications.mark_read(acme.principal, unread.id) == acked
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "notification.updated",
        read_first.id,
        {"status": "acknowledged", "acknowledged_by": acme.admin.id},
    )


def test_acknowledging_twice_is_refused_and_names_the_first(platform: Platform, acme: Tenancy) -> None:
    notification = _notify(platform, acme, "Handoff")
    first = platform.notifications.acknowledge(acme.principal, notification.id)
    colleague = Principal(tenant_id=acme.tenant_id, subject="adm_colleague", scopes=frozenset({Scope.SESSIONS_READ}))
    logged = len(events(platform, acme.tenant_id))

    with pytest.raises(InvalidState, match=f"already acknowledged by {acme.admin.id}"):
        platform.notifications.acknowledge(colleague, notification.id)

    assert platform.notifications.get(acme.principal, notification.id) == first
    assert len(events(platform, acme.tenant_id)) == logged


def test_unknown_notification_is_not_found(platform: Platform, acme: Tenancy) -> None:
    unknown = new_id("notification")
    with pytest.raises(NotFound):
        platform.notifications.mark_read(acme.principal, unknown)
    with pytest.raises(NotFound):
        platform.notifications.acknowledge(acme.principal, unknown)
