"""Notification tools: read the organisation's alerts and take on handoffs."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool, writes
from oratio.store.ports import Page
from schemas import Identifier, Model, Notification, NotificationStatus


class NotificationList(Model):
    notifications: list[Notification]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _notification_list(page: Page[Notification]) -> NotificationList:
    return NotificationList(notifications=page.items, next_cursor=page.next_cursor)


NotificationId = Annotated[Identifier, Field(description="Notification id, e.g. ntf_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, reads("List notifications"))
    async def list_notifications(
        status: NotificationStatus | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> NotificationList:
        """List notifications newest first: handoff requests, agents ready or failed, system notices.

        Pass status=unread for what nobody has looked at yet. Handoffs carry the session_id of the
        conversation waiting for a person; read it with `get_session`.
        """
        principal = tc.principal()
        page = await tc.call(lambda: platform.notifications.list(principal, status=status, limit=limit, cursor=cursor))
        return _notification_list(page)

    @tool(server, writes("Mark notification read", destructive=False, idempotent=True))
    async def mark_notification_read(notification_id: NotificationId) -> Notification:
        """Mark a notification as read. Safe to repeat; an acknowledged one stays acknowledged."""
        principal = tc.principal()
        return await tc.call(lambda: platform.notifications.mark_read(principal, notification_id))
