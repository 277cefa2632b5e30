"""The MCP client's own model thinks for the AgentCreator when the server has none (MCP sampling).

With no server-side model configured, `create_agent`/`update_agent` lend the AgentCreator the
caller's model: each thinking question (parse the SOP, draft the plan, review it) becomes a
`sampling/createMessage` request whose answer must be JSON of the stage's schema. The agent's
test conversations still run on the model that will serve its customers (the agent's `model` or
`ORATIO_MODEL`), since the client's model is not there when customers call.

Two transports, by the protocol the client speaks:

* 2026-07-28 and later: questions travel in `InputRequiredResult` rounds. A question depends on the
  answers before it (the plan is drafted from the parsed SOP), so each round asks exactly one. The
  answers so far ride the call's `request_state`, which the SDK seals (AES-GCM, bound to this
  request and caller, with a TTL), so a client can neither read nor forge them. Every round replays
  the recorded answers through the builder's side-effect-free `think` until it reaches the next
  unanswered question; once none is left, `create` runs for real on the same tape.
* Older clients (legacy handshake): each question is sent mid-call over the back channel, and the
  whole build runs inside the one call.

Sampling is deprecated as of protocol 2026-07-28 (SEP-2577), yet it is the only way an MCP server
can borrow its caller's model; configuring `ORATIO_MODEL` makes none of this necessary.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.shared.message import ServerMessageMetadata
from mcp.types import (
    CreateMessageRequest,
    CreateMessageRequestParams,
    CreateMessageResult,
    InputRequiredResult,
    SamplingMessage,
    TextContent,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel

from oratio.errors import InvalidInput
from oratio.services.creation import AnswerPending

if TYPE_CHECKING:  # Strands loads with the first build that thinks on the client (mcp_server.client_model)
    from strands.models import Model
    from strands.types.content import Messages

    from mcp_server.client_model import ClientModel

T = TypeVar("T", bound=BaseModel)

MAX_TOKENS = 4096
"""Room for the largest thinking answer (a plan with its system prompt)."""
MAX_QUESTIONS = 12
"""A build asks 4 to 9 questions (parse, draft, two to four reviews with redrafts); more means a loop."""
ANSWER_MAX_CHARS = 60_000
STATE_VERSION = 1
QUESTION_KEY = "oratio_thinking"
INPUT_ROUNDS_VERSION = "2026-07-28"

JSON_INSTRUCTIONS = (
    "\n\nAnswer with one JSON object and nothing else (no prose, no code fence). It must validate "
    "against this JSON schema:\n"
)
_FENCE = "```"


def sampling_params(
    output: type[BaseModel], messages: Messages, system_prompt: str | None
) -> CreateMessageRequestParams:
    """The sampling request for one structured question: the stage's prompt, plus the schema to answer in."""
    prompt = "\n".join(block["text"] for message in messages for block in message["content"] if "text" in block)
    schema = json.dumps(output.model_json_schema(), separators=(",", ":"))
    return CreateMessageRequestParams(
        messages=[SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        system_prompt=(system_prompt or "") + JSON_INSTRUCTIONS + schema,
        max_tokens=MAX_TOKENS,
        temperature=0.2,
        metadata={"oratio": "agent-creator", "schema": output.__name__},
    )


def parse_answer(output: type[T], text: str) -> T:
    """The client model's answer as `output`; tolerates a code fence around the JSON, nothing more."""
    return output.model_validate_json(_unfenced(text.strip()))


def _unfenced(text: str) -> str:
    """The body of a "```json ... ```" fence around all of `text`, else `text`. Plain string checks: the
    regex it replaces (`\\s*(.*?)\\s*````) was quadratic on a long run of spaces in a model's answer."""
    if len(text) < 2 * len(_FENCE) or not (text.startswith(_FENCE) and text.endswith(_FENCE)):
        return text
    return text[len(_FENCE) : -len(_FENCE)].removeprefix("json").strip()


def answer_text(result: CreateMessageResult) -> str:
    content = result.content
    if not isinstance(content, TextContent):
        raise InvalidInput("the client's model answered without text; Oratio's questions need a JSON text answer")
    if len(content.text) > ANSWER_MAX_CHARS:
        raise InvalidInput(f"the client's model answered with over {ANSWER_MAX_CHARS} characters")
    return content.text


Ask = Callable[[CreateMessageRequestParams], Awaitable[str]]


@dataclass
class AnswerTape:
    """The answers to a build's thinking questions, in the order asked.

    Replays recorded answers first (builds are deterministic, so the same questions come in the
    same order); past them it asks `ask` (legacy, mid-call) or raises AnswerPending (input rounds).
    """

    answers: list[str] = field(default_factory=list)
    ask: Ask | None = None
    position: int = 0

    def rewound(self) -> AnswerTape:
        return AnswerTape(list(self.answers), self.ask)

    async def answer(self, question: CreateMessageRequestParams) -> str:
        if self.position < len(self.answers):
            text = self.answers[self.position]
        elif self.position >= MAX_QUESTIONS:
            raise InvalidInput(f"the AgentCreator asked more than {MAX_QUESTIONS} questions; giving up")
        elif self.ask is None:
            raise AnswerPending(question)
        else:
            text = await self.ask(question)
            self.answers.append(text)
        self.position += 1
        return text


def thinking_models(tape: AnswerTape) -> Callable[[], Model]:
    from mcp_server.client_model import ClientModel

    return lambda: ClientModel(tape)


def __getattr__(name: str) -> Any:
    """`ClientModel` (in `__all__`) from its own module, imported on first use: it subclasses Strands' Model."""
    if name == "ClientModel":
        from mcp_server.client_model import ClientModel

        return ClientModel
    raise AttributeError(f"module 'mcp_server.sampling' has no attribute {name!r}")


# -- the two transports -----------------------------------------------------------------------------


def client_can_sample(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    return capabilities is not None and capabilities.sampling is not None


def uses_input_rounds(ctx: Context) -> bool:
    """Whether the client's protocol carries questions in input-required rounds (2026-07-28 and later)."""
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, INPUT_ROUNDS_VERSION)


def live_asker(ctx: Context) -> Ask:
    """Legacy clients: send each question over the back channel while the tool call waits."""

    async def ask(question: CreateMessageRequestParams) -> str:
        result = await ctx.session.send_request(
            CreateMessageRequest(params=question),
            CreateMessageResult,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
        return answer_text(result)

    return ask


@dataclass(frozen=True)
class RoundState:
    """What rides `request_state` between input rounds (sealed by the SDK)."""

    agent_id: str
    answers: list[str]

    def encode(self) -> str:
        return json.dumps({"v": STATE_VERSION, "agent_id": self.agent_id, "answers": self.answers})

    @classmethod
    def decode(cls, raw: str | None) -> RoundState | None:
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if data.get("v") != STATE_VERSION:
                return None
            return cls(agent_id=str(data["agent_id"]), answers=[str(a) for a in data["answers"]])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def with_answer(self, ctx: Context) -> RoundState:
        """These answers plus the one this round brought, if the client sent it."""
        responses = ctx.input_responses or {}
        response = responses.get(QUESTION_KEY)
        if response is None:
            return self
        if not isinstance(response, CreateMessageResult):
            raise InvalidInput("expected a sampling answer (sampling/createMessage result) to Oratio's question")
        return RoundState(self.agent_id, [*self.answers, answer_text(response)])

    def ask(self, question: object) -> InputRequiredResult:
        assert isinstance(question, CreateMessageRequestParams)
        return InputRequiredResult(
            input_requests={QUESTION_KEY: CreateMessageRequest(params=question)}, request_state=self.encode()
        )


__all__ = [
    "AnswerTape",
    "ClientModel",
    "RoundState",
    "client_can_sample",
    "live_asker",
    "parse_answer",
    "sampling_params",
    "thinking_models",
    "uses_input_rounds",
]
