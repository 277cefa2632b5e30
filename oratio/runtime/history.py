"""The stored transcript, turned back into the message list a Strands agent starts from.

Our turn store is the only memory: every turn the agent runs is rebuilt from it, so a conversation
survives restarts and moves between processes. Providers want user and assistant messages to
alternate and to open with the user, so runs of one role are merged and a leading agent turn is dropped;
customer words left unanswered (a client that went away) are sent again with the new message.

A person's turns (`Role.HUMAN`, written while they had the conversation taken over) are the
business's side of the conversation too: they come back as assistant words prefixed
`HUMAN_PREFIX` ("[a team member said] ..."), so that after `return_session_to_agent` the model
knows what the customer was already told, does not repeat or contradict it, and does not take it
for its own words. The customer's turns the person answered are followed by that answer, so the
model does not answer them again; customer words nobody answered before the return are the
"unanswered" ones above and reach the model with the customer's next message.

An agent turn's tool calls (`Turn.tool_calls`) come back as toolUse/toolResult blocks before its
words, so the model remembers what it looked up and what it asked the customer to confirm. They are
the stored records: redacted arguments and a summary of at most 500 characters, never the full result.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from schemas import Role, ToolCallRecord, ToolCallStatus, Turn

if TYPE_CHECKING:  # annotations only: the engine imports this module, and Strands loads with the first turn
    from strands.types.content import ContentBlock, Message, Messages

HISTORY_TURNS = 100
"""Turns restored into the model's context; older ones stay in the transcript but are not resent."""

_ROLES = {Role.CUSTOMER: "user", Role.AGENT: "assistant", Role.HUMAN: "assistant"}

HUMAN_PREFIX = "[a team member said] "
"""Marks a person's words in the model's history (see the module doc)."""


def to_messages(turns: Sequence[Turn], limit: int = HISTORY_TURNS, *, tools: bool = True) -> Messages:
    """`tools=False` leaves tool calls out (a model offered no tools must not be shown any)."""
    messages: Messages = []
    for turn in turns[-limit:] if limit else ():
        role = _ROLES.get(turn.role)
        if role is None or not turn.text.strip():
            continue  # system notes are for people reading the transcript, not for the model
        if not messages and role == "assistant":
            continue
        if tools and role == "assistant" and turn.tool_calls:
            _add(messages, "assistant", [_tool_use(turn.seq, call) for call in turn.tool_calls])
            _add(messages, "user", [_tool_result(turn.seq, call) for call in turn.tool_calls])
        text = HUMAN_PREFIX + turn.text if turn.role is Role.HUMAN else turn.text
        _add(messages, role, [{"text": text}])
    return messages


def _add(messages: Messages, role: str, blocks: list[ContentBlock]) -> None:
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        message: Message = {"role": "user" if role == "user" else "assistant", "content": blocks}
        messages.append(message)


def _call_id(seq: int, call: ToolCallRecord) -> str:
    """Unique across the conversation (a provider's ids may repeat between turns)."""
    return f"t{seq}_{call.id}"[:64]


def _tool_use(seq: int, call: ToolCallRecord) -> ContentBlock:
    return {"toolUse": {"toolUseId": _call_id(seq, call), "name": call.name, "input": call.arguments}}


def _tool_result(seq: int, call: ToolCallRecord) -> ContentBlock:
    ok = call.status in (ToolCallStatus.OK, ToolCallStatus.AWAITING_CONFIRMATION)
    text = json.dumps({"status": call.status.value, "summary": call.summary}, ensure_ascii=False)
    return {
        "toolResult": {
            "toolUseId": _call_id(seq, call),
            "status": "success" if ok else "error",
            "content": [{"text": text}],
        }
    }


def conversation(
    turns: Sequence[Turn], text: str, limit: int = HISTORY_TURNS, *, tools: bool = True
) -> tuple[Messages, list[ContentBlock]]:
    """The history to start from and the prompt to send: `text`, after any unanswered customer words."""
    messages = to_messages(turns, limit, tools=tools)
    prompt: list[ContentBlock] = [{"text": text}]
    if messages and messages[-1]["role"] == "user":
        prompt = [*messages.pop()["content"], *prompt]
    return messages, prompt
