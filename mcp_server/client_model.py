"""`ClientModel`: a Strands model whose answers come from the MCP client's own model (sampling).

Apart from `mcp_server.sampling` so that importing the MCP server does not import Strands: `oratio
mcp` answers `initialize` before any build needs a model (`bench/cli_startup.py`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from strands.models import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolSpec

from mcp_server.sampling import AnswerTape, T, parse_answer, sampling_params
from oratio.errors import ConfigError


class ClientModel(Model):
    """A Strands model that answers structured questions from an `AnswerTape`; it holds no conversations."""

    def __init__(self, tape: AnswerTape) -> None:
        self._tape = tape
        self.config: dict[str, Any] = {}

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    async def structured_output(
        self, output_model: type[T], prompt: Messages, system_prompt: str | None = None, **kwargs: Any
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        text = await self._tape.answer(sampling_params(output_model, prompt, system_prompt))
        yield {"output": parse_answer(output_model, text)}

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        raise ConfigError("the MCP client's model only thinks for the AgentCreator; it does not hold conversations")
        yield  # pragma: no cover - makes this an async generator
