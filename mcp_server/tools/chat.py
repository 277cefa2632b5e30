"""Test chat: an admin talks to an active agent as a customer would, before giving customers its key.

The turn runs through the same conversation engine as the customer runtime (knowledge search with
sources, handoff rules and tools, session end), so what the admin sees is what customers will get.
Test sessions are ordinary sessions marked with the admin as `tester`; they appear in list_sessions.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext, tool_errors
from mcp_server.tools._register import tool, writes
from oratio.runtime import TurnResult
from schemas import Identifier, Limits


def register(server: MCPServer, tc: ToolContext) -> None:
    engine = tc.platform.engine

    @tool(server, writes("Chat with agent as a test customer", destructive=False, idempotent=False, open_world=True))
    async def chat_with_agent(
        agent_id: Annotated[Identifier, Field(description="The active agent to talk to, e.g. agt_01...")],
        message: Annotated[
            str, Field(min_length=1, max_length=Limits.TURN_TEXT_MAX, description="What the test customer says")
        ],
        session_id: Annotated[
            Identifier | None,
            Field(description="Continue a test conversation: the session_id of an earlier reply; omit to start one"),
        ] = None,
    ) -> TurnResult:
        """Talk to an active agent as a test customer and get its reply, with the knowledge-base sources
        it used, the session id (pass it back to continue), and whether it handed off to a human or
        ended the conversation. Handoffs alert people exactly as real ones do.
        """
        principal = tc.principal()
        with tool_errors():
            return await engine.chat_as_admin(principal, agent_id, session_id, message)
