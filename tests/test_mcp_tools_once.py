"""The session's MCP tool-registration reuse (`tests.support.mcp_tools`) never hides a difference between servers.

What it reuses must be what the SDK would derive again: a tool whose signature differs (another default,
another annotation) gets its own schema, and every server's tool calls its own function.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.mcpserver.tools.base import Tool

from tests.support.mcp_tools import tool_registrations_once


def closure(limit: int, marker: list[str]) -> Callable[..., list[str]]:
    def list_things(agent_id: str, page_size: int = limit) -> list[str]:
        """List things."""
        marker.append(agent_id)
        return marker

    return list_things


def test_a_tool_with_another_default_gets_its_own_schema_and_each_tool_its_own_function() -> None:
    calls_a: list[str] = []
    calls_b: list[str] = []
    with tool_registrations_once():
        first = Tool.from_function(closure(10, calls_a), title="List")
        again = Tool.from_function(closure(10, calls_b), title="List")
        other = Tool.from_function(closure(50, calls_b), title="List")

    assert first.parameters == again.parameters and first.parameters is not again.parameters
    assert first.parameters["properties"]["page_size"]["default"] == 10
    assert other.parameters["properties"]["page_size"]["default"] == 50
    again.fn("agt_b")
    first.fn("agt_a")
    assert (calls_a, calls_b) == (["agt_a"], ["agt_b"])
