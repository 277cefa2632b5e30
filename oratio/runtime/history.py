"""The stored transcript, turned back into the message list a Strands agent starts from.

Our turn store is the only memory: every turn the agent runs is rebuilt from it, so a conversation
survives restarts and moves between processes. Providers want user and assistant messages to
alternate and to open with the user, so runs of one role are merged and a leading agent turn is dropped;
customer words left unanswered (a client that went away) are sent again with the new message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from schemas import Role, Turn

if TYPE_CHECKING:  # annotations only: the engine imports this module, and Strands loads with the first turn
    from strands.types.content import ContentBlock, Message, Messages

HISTORY_TURNS = 100
"""Turns restored into the model's context; older ones stay in the transcript but are not resent."""

_ROLES = {Role.CUSTOMER: "user", Role.AGENT: "assistant"}


def to_messages(turns: Sequence[Turn], limit: int = HISTORY_TURNS) -> Messages:
    messages: Messages = []
    for turn in turns[-limit:] if limit else ():
        role = _ROLES.get(turn.role)
        if role is None or not turn.text.strip():
            continue  # system notes are for people reading the transcript, not for the model
        if not messages and role == "assistant":
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].append({"text": turn.text})
        else:
            message: Message = {"role": "user" if role == "user" else "assistant", "content": [{"text": turn.text}]}
            messages.append(message)
    return messages


def conversation(turns: Sequence[Turn], text: str, limit: int = HISTORY_TURNS) -> tuple[Messages, list[ContentBlock]]:
    """The history to start from and the prompt to send: `text`, after any unanswered customer words."""
    messages = to_messages(turns, limit)
    prompt: list[ContentBlock] = [{"text": text}]
    if messages and messages[-1]["role"] == "user":
        prompt = [*messages.pop()["content"], *prompt]
    return messages, prompt
