"""The MCP client's own model for AgentCreator builds on sampling: scripted answers, as the offline creator gives.

Shared by the in-process sampling tests (`tests/mcp_server/test_sampling.py`) and the scale-out one, whose
rounds go through `oratio serve` replicas (`tests/scaleout/test_sampling_across_replicas.py`).
"""

from __future__ import annotations

import json
from typing import Any

from mcp.client.context import ClientRequestContext
from mcp.types import CreateMessageRequestParams, CreateMessageResult, TextContent
from pydantic import BaseModel

from creator_agent.offline import offline_model
from mcp_server.sampling import JSON_INSTRUCTIONS
from schemas import AgentPlan, ParsedSop, PlanReview

SOP = """# Desk SOP
## Steps
1. Greet the customer.
2. Answer from the knowledge base.
## Rules
- Always be polite.
## Escalation
- Hand off to a human when the customer asks for a manager.
"""
SPEC: dict[str, Any] = {
    "name": "Desk",
    "sop": SOP,
    "model": "scripted",
    "handoff": {"enabled": True, "conditions": ["the customer asks for a manager"]},
}
"""`create_agent`'s spec: served by the `scripted` model (allowed with no ORATIO_MODEL), so its tests can run."""
SCHEMAS: dict[str, type[BaseModel]] = {"ParsedSop": ParsedSop, "AgentPlan": AgentPlan, "PlanReview": PlanReview}


class ClientLLM:
    """The MCP client's model: answers Oratio's questions as the offline creator would, in JSON text."""

    def __init__(self, *, garble: bool = False) -> None:
        self.questions: list[CreateMessageRequestParams] = []
        self._garble = garble

    async def __call__(self, context: ClientRequestContext, params: CreateMessageRequestParams) -> CreateMessageResult:
        self.questions.append(params)
        assert params.system_prompt is not None and JSON_INSTRUCTIONS in params.system_prompt
        system, _, schema = params.system_prompt.partition(JSON_INSTRUCTIONS)
        output = SCHEMAS[str(json.loads(schema)["title"])]
        assert isinstance(params.messages[0].content, TextContent)
        messages: Any = [{"role": "user", "content": [{"text": params.messages[0].content.text}]}]
        answer: BaseModel | None = None
        async for event in offline_model().structured_output(output, messages, system_prompt=system):
            answer = event["output"]
        assert answer is not None
        text = "I think the plan is fine." if self._garble else f"```json\n{answer.model_dump_json()}\n```"
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text=text), model="client-llm")
