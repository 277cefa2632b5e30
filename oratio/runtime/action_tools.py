"""An agent's own tools as Strands tools bound to one turn (or one Nova Sonic call): see `action_turn`.

Each tool's spec is the admin's name, description and JSON Schema (`action_turn.catalog`), and each
call goes to `ActionTurn.call`: the ActionRunner for a lookup, the confirmation gate for a write.
"""

from __future__ import annotations

from typing import Any

from strands.tools.tools import PythonAgentTool
from strands.types.tools import AgentTool, ToolResult, ToolSpec, ToolUse

from oratio.runtime.action_turn import SUCCESS_STATUSES, Action, ActionTurn, tool_result_text
from schemas import ToolCallStatus


def action_tools(turn: ActionTurn) -> list[AgentTool]:
    """The Strands tools for the model, one per action of the plan, each calling `turn.call`."""
    return [_tool(turn, action) for action in turn.actions.values()]


def _tool(turn: ActionTurn, action: Action) -> AgentTool:
    async def invoke(tool_use: ToolUse, **_: Any) -> ToolResult:
        content, status = await turn.call(action, tool_use["toolUseId"], tool_use.get("input"))
        return tool_result(tool_use["toolUseId"], content, status)

    spec: ToolSpec = {
        "name": action.spec["name"],
        "description": action.spec["description"],
        "inputSchema": action.spec["inputSchema"],
    }
    return PythonAgentTool(action.name, spec, invoke)


def tool_result(call_id: str, content: Any, status: ToolCallStatus) -> ToolResult:
    """A Strands toolResult: the content as JSON text, status "error" for a failed call."""
    return {
        "toolUseId": call_id,
        "status": "success" if status in SUCCESS_STATUSES else "error",
        "content": [{"text": tool_result_text(content)}],
    }


__all__ = ["action_tools", "tool_result"]
