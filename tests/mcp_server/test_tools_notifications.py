"""Notification tools: list (newest first, by status, paged), mark read, acknowledge a handoff."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_server.tools.notifications import NotificationList
from oratio.platform import Platform
from schemas import Notification, NotificationStatus, NotificationType, Principal, Priority
from tests.support.mcp import call_as, call_error

pytestmark = pytest.mark.anyio

UNKNOWN_NOTIFICATION = "ntf_01aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
def notifications(platform: Platform, acme: Principal) -> list[Notification]:
    """Oldest first: agent ready, a handoff, a system notice."""
    tenant = acme.tenant_id
    return [
        platform.notifications.notify(tenant, NotificationType.AGENT_READY, "Support is live"),
        platform.notifications.notify(
            tenant,
            NotificationType.HANDOFF,
            "Customer asks for a person",
            body="Refund over the limit",
            priority=Priority.URGENT,
            agent_id="agt_01aaaaaaaaaaaaaaaaaaaaaaaa",
            session_id="ses_01aaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        platform.notifications.notify(tenant, NotificationType.SYSTEM, "Maintenance tonight"),
    ]


async def listed(client: Client, **arguments: object) -> NotificationList:
    return await call_as(client, "list_notifications", dict(arguments), NotificationList)


async def test_list_notifications_is_newest_first_and_pages(client: Client, notifications: list[Notification]) -> None:
    everything = await listed(client)
    first = await listed(client, limit=2)
    second = await listed(client, limit=2, cursor=first.next_cursor)

    assert everything == NotificationList(notifications=notifications[::-1], next_cursor=None)
    assert handoff_fields(everything.notifications[1]) == (
        NotificationType.HANDOFF,
        Priority.URGENT,
        "Refund over the limit",
        "ses_01aaaaaaaaaaaaaaaaaaaaaaaa",
    )
    assert first.next_cursor is not None and second.next_cursor is None
    assert first.notifications + second.notifications == notifications[::-1]


def handoff_fields(n: Notification) -> tuple[NotificationType, Priority, str, str | None]:
    return (n.type, n.priority, n.body, n.session_id)


async def test_mark_read_is_idempotent_and_leaves_the_unread_list(
    client: Client, notifications: list[Notification]
) -> None:
    target = notifications[0]

    read = await call_as(client, "mark_notification_read", {"notification_id": target.id}, Notification)
    again = await call_as(client, "mark_notification_read", {"notification_id": target.id}, Notification)

    assert (read.status, read.id) == (NotificationStatus.READ, target.id)
    assert read.read_at is not None and read.acknowledged_at is None
    assert again == read
    unread = await listed(client, status="unread")
    assert [n.id for n in unread.notifications] == [notifications[2].id, notifications[1].id]
    assert (await listed(client, status="read")).notifications == [read]


async def test_acknowledge_handoff_records_who_took_it(
    client: Client, notifications: list[Notification], acme: Principal
) -> None:
    handoff = notifications[1]

    acknowledged = await call_as(client, "acknowledge_handoff", {"notification_id": handoff.id}, Notification)

    assert (acknowledged.status, acknowledged.acknowledged_by) == (NotificationStatus.ACKNOWLEDGED, acme.subject)
    assert acknowledged.acknowledged_at is not None and acknowledged.read_at is not None
    assert (await listed(client, status="acknowledged")).notifications == [acknowledged]
    refused = await call_error(client, "acknowledge_handoff", {"notification_id": handoff.id})
    assert refused == (
        "Error executing tool acknowledge_handoff: invalid_state: "
        f"notification '{handoff.id}' was already acknowledged by {acme.subject}"
    )
    # Reading an acknowledged notification does not move it back.
    still = await call_as(client, "mark_notification_read", {"notification_id": handoff.id}, Notification)
    assert still == acknowledged


async def test_acknowledge_works_for_any_notification_type(client: Client, notifications: list[Notification]) -> None:
    system = notifications[2]
    await call_as(client, "mark_notification_read", {"notification_id": system.id}, Notification)

    acknowledged = await call_as(client, "acknowledge_handoff", {"notification_id": system.id}, Notification)

    assert (acknowledged.type, acknowledged.status) == (NotificationType.SYSTEM, NotificationStatus.ACKNOWLEDGED)


async def test_unknown_notifications_and_bad_arguments(client: Client, notifications: list[Notification]) -> None:
    for tool in ("mark_notification_read", "acknowledge_handoff"):
        text = await call_error(client, tool, {"notification_id": UNKNOWN_NOTIFICATION})
        assert text == f"Error executing tool {tool}: not_found: notification '{UNKNOWN_NOTIFICATION}' was not found"
    assert "status" in await call_error(client, "list_notifications", {"status": "archived"})
    assert "limit" in await call_error(client, "list_notifications", {"limit": 500})
    assert (await listed(client, status="acknowledged")).notifications == []
