"""An orders agent whose tools are served by the real loopback tool service (`tests.support.tool_server`)
through the platform's real ActionRunner, and the one TEST DOUBLE runner that tests still need.

The platform runs an agent's tools through `Platform.actions` (schema check, limits, the address
policy, the HTTP runner). The tool service listens on 127.0.0.1, which the address policy refuses
unless allowed: `LOOPBACK_TOOLS` are the settings that allow it, as an operator would for an
internal host (ORATIO_WEBHOOK_ALLOWED_HOSTS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import anyio

from oratio.actions import ToolOutcome, ToolRequest
from schemas import AgentPlan, HttpMethod, HttpTool
from tests.support.tool_server import HOST, ToolServer

LOOPBACK_TOOLS: dict[str, Any] = {"webhook_allowed_hosts": HOST}
"""Settings overrides (`platform_settings`, `open_test_platform`) that let tools reach the loopback service."""
ORDER_ID: dict[str, Any] = {"type": "string", "pattern": "^[A-Z][0-9]{3}$"}


def orders_tools(base_url: str) -> list[HttpTool]:
    """A lookup and a write (which needs the customer's confirmation), plus a slow and a broken lookup."""
    return [
        HttpTool(
            name="lookup_order",
            description="Look up an order's status and delivery date by its id.",
            url=base_url + "/orders/{order_id}",
            parameters={"type": "object", "properties": {"order_id": ORDER_ID}, "required": ["order_id"]},
        ),
        HttpTool(
            name="cancel_order",
            description="Cancel an order that has not shipped yet.",
            url=base_url + "/orders/{order_id}/cancel",
            method=HttpMethod.POST,
            write=True,
            parameters={
                "type": "object",
                "properties": {"order_id": ORDER_ID, "reason": {"type": "string"}},
                "required": ["order_id", "reason"],
            },
        ),
        HttpTool(
            name="slow_lookup",
            description="A lookup whose service never answers in time.",
            url=base_url + "/hang",
            timeout_seconds=30,
        ),
        HttpTool(name="broken_lookup", description="A lookup whose service fails.", url=base_url + "/fail"),
    ]


def plan_with_tools(base_url: str, language: str = "en") -> AgentPlan:
    return AgentPlan(
        persona="Acme's orders assistant",
        system_prompt="You are Acme's orders assistant. Use your tools to look up and cancel orders.",
        language=language,
        actions=list(orders_tools(base_url)),
    )


def base_url(server: ToolServer) -> str:
    return server.url("")


def cancels(server: ToolServer) -> list[tuple[str, Any]]:
    """The cancellations that reached the service: (path, JSON body), in order."""
    return [(seen.path, json.loads(seen.body)) for seen in server.requests if seen.method == "POST"]


def lookups(server: ToolServer) -> list[str]:
    """The paths of the GET requests that reached the service, in order."""
    return [seen.path for seen in server.requests if seen.method == "GET"]


@dataclass
class HangingActionRunner:
    """TEST DOUBLE: an ActionRunner that never answers (until cancelled), so a test can show the engine
    still answers within the turn's deadline. Everything else runs on the platform's real runner."""

    calls: list[ToolRequest] = field(default_factory=list)

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.calls.append(request)
        await anyio.Event().wait()
        raise AssertionError("unreachable")
