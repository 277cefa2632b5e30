"""An order desk's tools and SOP, shared by the AgentCreator's tool tests (plan, review, simulations)."""

from __future__ import annotations

from typing import Any

from schemas import AgentSpec, HttpTool, McpServerTool

ORDERS_SOP = """# Orders desk

Help customers of Acme Shop with their orders.

## Steps
1. Ask for the order id.
2. Look up the order and tell the customer its status.

## Rules
- Always check the order status before anything else.
- Cancel the order when the customer asks and it has not shipped.
- Issue a refund for damaged items.
- Never promise a delivery date the order lookup does not give.
"""

ORDER_ID = {"type": "string", "description": "The order id, e.g. A1234", "examples": ["A1234"]}


def get_order(**changes: Any) -> HttpTool:
    fields: dict[str, Any] = {
        "name": "get_order",
        "description": "Look up an order by its order id: its status, items and delivery date.",
        "parameters": {"type": "object", "properties": {"order_id": ORDER_ID}, "required": ["order_id"]},
        "url": "https://orders.example.com/orders/{order_id}",
        "response_schema": {
            "type": "object",
            "properties": {"status": {"type": "string", "examples": ["shipped"]}, "order_id": ORDER_ID},
        },
    }
    fields.update(changes)
    return HttpTool.model_validate(fields)


def cancel_order(**changes: Any) -> HttpTool:
    fields: dict[str, Any] = {
        "name": "cancel_order",
        "description": "Cancel an order that has not shipped yet.",
        "parameters": {
            "type": "object",
            "properties": {
                "order_id": ORDER_ID,
                "reason": {"type": "string", "enum": ["changed_mind", "damaged", "late"]},
            },
            "required": ["order_id", "reason"],
        },
        "method": "POST",
        "url": "https://orders.example.com/orders/{order_id}/cancel",
        "headers": {"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"},
        "write": True,
    }
    fields.update(changes)
    return HttpTool.model_validate(fields)


def crm_server(**changes: Any) -> McpServerTool:
    fields: dict[str, Any] = {
        "kind": "mcp",
        "name": "crm",
        "url": "https://crm.example.com/mcp",
        "bearer_secret": "CRM_TOKEN",
        "allowed_tools": ["find_customer", "add_note"],
        "read_only_tools": ["find_customer"],
    }
    fields.update(changes)
    return McpServerTool.model_validate(fields)


def orders_spec(tools: list[HttpTool | McpServerTool] | None = None, **changes: Any) -> AgentSpec:
    fields: dict[str, Any] = {
        "name": "Orders desk",
        "sop": ORDERS_SOP,
        "handoff": {"enabled": True},
        "tools": [get_order(), cancel_order()] if tools is None else tools,
    }
    fields.update(changes)
    return AgentSpec.model_validate(fields)
