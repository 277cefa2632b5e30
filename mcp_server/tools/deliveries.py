"""Delivery tools: see how handoff emails and webhooks went out, and send a dead one again."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool, writes
from oratio.services.outbox import view
from schemas import DeliveryStatus, DeliveryView, Identifier, Model


class DeliveryList(Model):
    deliveries: list[DeliveryView]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


DeliveryId = Annotated[Identifier, Field(description="Delivery id, e.g. dlv_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, reads("List alert deliveries"))
    async def list_deliveries(
        status: DeliveryStatus | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> DeliveryList:
        """List outbound handoff deliveries (emails and webhooks) newest first, with how each went.

        Pass status=dead for the ones that gave up after every retry (the dead letters): each says
        its last error. `retry_delivery` sends a dead one again. Webhooks show only their origin.
        """
        principal = tc.principal()
        page = await tc.call(lambda: platform.deliveries.list(principal, status=status, limit=limit, cursor=cursor))
        return DeliveryList(deliveries=[view(d) for d in page.items], next_cursor=page.next_cursor)

    @tool(server, writes("Retry a dead delivery", destructive=False, idempotent=False, open_world=True))
    async def retry_delivery(delivery_id: DeliveryId) -> DeliveryView:
        """Send a dead delivery again with a fresh set of attempts and the same idempotency key.

        Refused for a delivery that is still pending or was delivered. Fix the cause first (the
        webhook receiver, the mail relay); `list_deliveries` shows the last error.
        """
        principal = tc.principal()
        revived = await tc.call(lambda: platform.deliveries.retry(principal, delivery_id))
        platform.outbox.wake()
        return view(revived)
