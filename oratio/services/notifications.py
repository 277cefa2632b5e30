"""Notifications: written by the platform (handoffs, agent ready/failed), read and acknowledged by admins."""

from __future__ import annotations

from oratio.errors import InvalidState
from oratio.ids import new_id
from oratio.services._common import Backends, authorize, check_limit, require, update_with_retry
from oratio.store.ports import Page
from oratio.store.tables import NOTIFICATIONS
from schemas import (
    EventType,
    Notification,
    NotificationStatus,
    NotificationType,
    Principal,
    Priority,
    Scope,
)


class NotificationService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends

    def notify(
        self,
        tenant_id: str,
        type_: NotificationType,
        title: str,
        *,
        body: str = "",
        priority: Priority = Priority.NORMAL,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Notification:
        """Platform entry point: store a notification and emit its event."""
        notification = self.new(
            tenant_id, type_, title, body=body, priority=priority, agent_id=agent_id, session_id=session_id
        )
        stored = self._b.store.insert(NOTIFICATIONS, notification)
        self.announce(stored)
        return stored

    def new(
        self,
        tenant_id: str,
        type_: NotificationType,
        title: str,
        *,
        body: str = "",
        priority: Priority = Priority.NORMAL,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> Notification:
        """A notification not stored yet: for callers that store it in a transaction with more (a handoff)."""
        return Notification(
            tenant_id=tenant_id,
            id=new_id("notification"),
            type=type_,
            priority=priority,
            title=title,
            body=body,
            agent_id=agent_id,
            session_id=session_id,
            created_at=self._b.clock(),
        )

    def announce(self, stored: Notification) -> None:
        """Emit the event for a notification once it is stored."""
        self._b.emit(
            stored.tenant_id,
            EventType.NOTIFICATION_CREATED,
            stored.id,
            type=stored.type.value,
            priority=stored.priority.value,
            title=stored.title,
            agent_id=stored.agent_id,
            session_id=stored.session_id,
        )

    def list(
        self,
        principal: Principal,
        *,
        status: NotificationStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Notification]:
        """Newest first."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        check_limit(limit)
        if status is None:
            return self._b.store.query(NOTIFICATIONS, tenant_id, descending=True, limit=limit, cursor=cursor)
        partition = f"{tenant_id}#{status.value}"
        return self._b.store.query(
            NOTIFICATIONS, partition, index="by_status", descending=True, limit=limit, cursor=cursor
        )

    def get(self, principal: Principal, notification_id: str) -> Notification:
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        return require(self._b.store.get(NOTIFICATIONS, tenant_id, notification_id), "notification", notification_id)

    def mark_read(self, principal: Principal, notification_id: str) -> Notification:
        """Idempotent: reading an already read or acknowledged notification changes nothing."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)

        def apply(n: Notification) -> Notification:
            if n.status is not NotificationStatus.UNREAD:
                return n
            return n.model_copy(update={"status": NotificationStatus.READ, "read_at": self._b.clock()})

        current = self.get(principal, notification_id)
        if current.status is not NotificationStatus.UNREAD:
            return current
        updated = update_with_retry(self._b.store, NOTIFICATIONS, tenant_id, notification_id, "notification", apply)
        self._b.emit(tenant_id, EventType.NOTIFICATION_UPDATED, notification_id, status=updated.status.value)
        return updated

    def acknowledge(self, principal: Principal, notification_id: str) -> Notification:
        """An admin takes responsibility (e.g. picks up a handoff). Acknowledging twice is refused."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)

        def apply(n: Notification) -> Notification:
            if n.status is NotificationStatus.ACKNOWLEDGED:
                raise InvalidState(f"notification '{notification_id}' was already acknowledged by {n.acknowledged_by}")
            now = self._b.clock()
            return n.model_copy(
                update={
                    "status": NotificationStatus.ACKNOWLEDGED,
                    "read_at": n.read_at or now,
                    "acknowledged_at": now,
                    "acknowledged_by": principal.subject,
                }
            )

        updated = update_with_retry(self._b.store, NOTIFICATIONS, tenant_id, notification_id, "notification", apply)
        self._b.emit(
            tenant_id,
            EventType.NOTIFICATION_UPDATED,
            notification_id,
            status=updated.status.value,
            acknowledged_by=principal.subject,
        )
        return updated
