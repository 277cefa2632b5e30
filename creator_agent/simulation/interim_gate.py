"""INTERIM, for the lead to swap at merge: the confirmation gate and the admin's tools, for simulations only.

Issue 18 puts the gate in the engine (task E: `oratio.runtime.confirmation` for the classifier and the
statement, `oratio.runtime.action_tools` for the Strands tools bound to one turn, `AgentRun` taking an
`ActionRunner`). Until that is merged, simulations exercise tool calls through this module, which follows
the contract's gate semantics (docs/creator.md, "Tool scenarios"):

1. A write tool called with arguments that pass the schema runs nothing: the call is held (`pending`), the
   model reads `{"status": "awaiting_confirmation", ...}`, and the agent's reply ends with the statement
   rendered in code from the tool and the arguments, if the model did not say it already. Invalid
   arguments are never held.
2. The customer's next message, before the model runs: an explicit confirmation runs exactly the held
   arguments through the ActionRunner, and the model gets that call and its result as the last
   toolUse/toolResult; an explicit no drops it and the model gets the call with "nothing was done";
   anything else drops it and the model runs normally.
3. Within a turn, the same write tool with the same arguments after it ran returns the same outcome.

After the merge, `ActionDesk` keeps its three methods (the `Simulator` calls only those) over the engine's
pieces: a `confirmation.Gate` kept for the conversation; per turn `settle` = `gate.customer_said` then
`ActionTurn.settle_held` and `action_tools.settled_messages`, `tools` = `action_tools(ActionTurn(runner=the
sandbox, actions=catalog(plan), ...))`, `finish` = the engine's statement append; this file's classifier
and statement go.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strands.tools.tools import PythonAgentTool
from strands.types.content import ContentBlock, Messages
from strands.types.tools import AgentTool, ToolResult, ToolUse

from creator_agent.simulation.sandbox import problems
from oratio.actions import ActionRunner, ToolRequest
from oratio.runtime.reply import ReplyBuilder
from schemas import AgentPlan, HttpTool, McpServerTool, McpToolSnapshot

_YES = frozenset(
    """yes|yes please|yes go ahead|go ahead|please go ahead|confirm|confirmed|i confirm|please do|do it|ok|okay|sure|
    yes thats right|thats right|correct|yes correct|oui|oui merci|oui allez y|allez y|je confirme|confirmé|d'accord|
    sí|si|sí por favor|si por favor|adelante|confirmo|de acuerdo|ja|ja bitte|ja gerne|bitte|bestätigt|
    ich bestätige|einverstanden|machen sie das""".split("|")
)
_YES = frozenset(" ".join(phrase.split()) for phrase in _YES)
_NO = frozenset("no|nope|no thanks|no thank you|dont|do not|stop|cancel that|non|non merci|nein|nein danke".split("|"))
_COURTESY = ("please", "thanks", "thank you", "merci", "gracias", "danke")
_PUNCTUATION = re.compile(r"[^\w' ]+")
AWAITING = {
    "status": "awaiting_confirmation",
    "note": "Nothing has been done yet. Tell the customer exactly what will happen and ask them to answer yes or no.",
}
DECLINED = "The customer said no. Nothing was done. Ask whether there is anything else."


def _normal(text: str) -> str:
    words = " ".join(_PUNCTUATION.sub(" ", text.casefold().replace("'", "")).split())
    for courtesy in _COURTESY:
        words = words.removesuffix(f" {courtesy}").strip()
    return words


def is_confirmation(text: str) -> bool:
    """An explicit yes with nothing else of substance ("yes", "go ahead", "oui", "sí", "ja bitte")."""
    said = _normal(text)
    first, _, rest = said.partition(" ")
    return len(text) <= 200 and (said in _YES or (first in _YES and rest in _YES))


def is_decline(text: str) -> bool:
    said = _normal(text)
    return len(text) <= 200 and (said in _NO or said.split(" ", 1)[0] in {"no", "non", "nein"})


def statement(description: str, arguments: Mapping[str, Any]) -> str:
    """What the customer is told will happen, from the tool's description and the exact arguments."""
    what = description.strip().split(". ", 1)[0].rstrip(".")
    what = what[:1].lower() + what[1:]
    details = " and ".join(f"{name.replace('_', ' ')} {value}" for name, value in arguments.items())
    said = f"To confirm: I will {what[:300]}{f' with {details[:1500]}' if details else ''}."
    return f"{said} Shall I go ahead? Please answer yes or no."


@dataclass
class Held:
    call_id: str
    tool: str
    arguments: dict[str, Any]
    statement: str


def _result(tool_use_id: str, content: Any) -> ToolResult:
    return {"toolUseId": tool_use_id, "status": "success", "content": [{"text": json.dumps(content, default=str)}]}


class ActionDesk:
    """One simulated conversation's tools and held write action (the gate above), over an ActionRunner."""

    def __init__(self, plan: AgentPlan, runner: ActionRunner, tenant_id: str, agent_id: str) -> None:
        self._runner = runner
        self._tenant = tenant_id
        self._agent = agent_id
        servers = {a.name: a for a in plan.actions if isinstance(a, McpServerTool)}
        self._tools: dict[str, tuple[HttpTool | McpToolSnapshot, McpServerTool | None]] = {
            a.name: (a, None) for a in plan.actions if isinstance(a, HttpTool)
        }
        self._tools.update({t.name: (t, servers.get(t.server)) for t in plan.mcp_tools})
        self.held: Held | None = None
        self.proposed: list[str] = []
        """Write tools held for a confirmation whose statement the customer was shown."""
        self._ran_now: dict[tuple[str, str], Any] = {}
        self._due: str | None = None

    async def _run(self, name: str, arguments: dict[str, Any]) -> Any:
        tool, server = self._tools[name]
        request = ToolRequest(self._tenant, self._agent, None, tool, arguments, server)
        outcome = await self._runner.run(request)
        return outcome.content

    async def settle(self, text: str, history: Messages, prompt: list[ContentBlock]) -> list[ContentBlock]:
        """Before the model runs: settle the held action with the customer's `text` (rule 2). Returns the prompt."""
        self._ran_now, self._due = {}, None
        held, self.held = self.held, None
        if held is None:
            return prompt
        if is_confirmation(text):
            content = await self._run(held.tool, held.arguments)
            self._ran_now[(held.tool, json.dumps(held.arguments, sort_keys=True))] = content
        elif is_decline(text):
            content = {"status": "declined", "note": DECLINED}  # the model hears that nothing was done
        else:
            return prompt  # anything else: the held action is dropped and the model runs normally
        use: ContentBlock = {"toolUse": {"toolUseId": held.call_id, "name": held.tool, "input": held.arguments}}
        if history and history[-1]["role"] == "assistant":
            history[-1] = {"role": "assistant", "content": [*history[-1]["content"], use]}
        else:
            history.append({"role": "assistant", "content": [use]})
        return [{"toolResult": _result(held.call_id, content)}, *prompt]

    def tools(self) -> list[AgentTool]:
        """A Strands tool per admin tool, bound to this conversation."""
        return [self._tool(name, tool) for name, (tool, _) in self._tools.items()]

    def _tool(self, name: str, tool: HttpTool | McpToolSnapshot) -> AgentTool:
        async def call(tool_use: ToolUse, **_: Any) -> ToolResult:
            raw = tool_use.get("input")
            arguments = dict(raw) if isinstance(raw, Mapping) else {}
            if not tool.write:
                return _result(tool_use["toolUseId"], await self._run(name, arguments))
            key = (name, json.dumps(arguments, sort_keys=True))
            if key in self._ran_now:  # rule 3: ran already this turn, never twice
                return _result(tool_use["toolUseId"], self._ran_now[key])
            wrong = problems(tool.parameters, arguments)
            if wrong:
                error = {"error": f"invalid arguments: {'; '.join(wrong)}; ask the customer and call again"}
                return _result(tool_use["toolUseId"], error)
            said = statement(tool.description, arguments)
            self.held = Held(f"sim_{uuid.uuid4().hex[:16]}", name, arguments, said)
            self.proposed.append(name)
            self._due = said
            return _result(tool_use["toolUseId"], AWAITING)

        spec = {"name": name, "description": tool.description or name, "inputSchema": {"json": tool.parameters}}
        return PythonAgentTool(name, spec, call)  # type: ignore[arg-type]

    def finish(self, reply: ReplyBuilder) -> None:
        """After the model: the reply ends with the statement of a newly held action (rule 1)."""
        if self._due is not None and self._due not in reply.text:
            reply.finish(self._due)
        self._due = None


__all__ = ["AWAITING", "ActionDesk", "is_confirmation", "is_decline", "statement"]
