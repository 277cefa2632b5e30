"""An agent's own tools as Strands tools bound to one turn (or one Nova Sonic call): see `action_turn`.

Each tool's spec is the admin's name, description and JSON Schema (`action_turn.catalog`), and each
call goes to `ActionTurn.call`: the ActionRunner for a lookup, the confirmation gate for a write.
"""

from __future__ import annotations

from typing import Any

from strands.tools.tools import PythonAgentTool
from strands.types.content import ContentBlock, Messages
from strands.types.tools import AgentTool, ToolResult, ToolSpec, ToolUse

from oratio.runtime.action_turn import SUCCESS_STATUSES, Action, ActionTurn, Settled, tool_result_text
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


def settled_messages(said: list[ContentBlock], settled: Settled) -> Messages:
    """The end of the model's prompt after the customer settled a held action (rule 2 of the gate): their
    words, then the action as a toolUse and its outcome as the toolResult, so the model tells them how
    it went. Shared by the engine and the creator's simulations."""
    use: ContentBlock = {"toolUse": {"toolUseId": settled.call_id, "name": settled.tool, "input": settled.arguments}}
    ok = settled.status in (ToolCallStatus.OK, ToolCallStatus.DECLINED)
    result: ToolResult = {
        "toolUseId": settled.call_id,
        "status": "success" if ok else "error",
        "content": [{"text": tool_result_text(settled.content)}],
    }
    return [
        {"role": "user", "content": said},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [{"toolResult": result}]},
    ]


__all__ = ["action_tools", "settled_messages", "tool_result"]
