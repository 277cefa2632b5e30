"""Handoff tools: a person acknowledges, takes over, speaks in, returns or closes a customer's conversation.

Each moves the session's handoff along `schemas.HANDOFF_TRANSITIONS` through `HandoffService` (the
dashboard's buttons call the same service); a move the table does not allow is a tool error that
says what state the handoff is in and who put it there.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import tool, writes
from schemas import Identifier, Limits, Notification, Session, Turn

SessionId = Annotated[Identifier, Field(description="Session id, e.g. ses_01...")]
MessageText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=Limits.TURN_TEXT_MAX,
        description="What to say to the customer, as you would type it in a chat (at most 8,000 characters)",
    ),
]
NotificationId = Annotated[Identifier, Field(description="Notification id, e.g. ntf_01...")]


def register(server: MCPServer, tc: ToolContext) -> None:
    handoff = tc.platform.handoff

    @tool(server, writes("Acknowledge handoff", destructive=False, idempotent=True))
    async def acknowledge_handoff(notification_id: NotificationId) -> Notification:
        """Take responsibility for a handoff: records that you (a person) are picking up the conversation.

        Use it on a `handoff` notification once someone is taking over: the session's handoff becomes
        `acknowledged` (by you, now), the transcript says so, and live views show it. It works on any
        notification type. Refused if the notification was already acknowledged, and the error says
        by whom, so two people never pick up the same customer.
        """
        principal = tc.principal()
        return await tc.call(lambda: handoff.acknowledge_notification(principal, notification_id))

    @tool(server, writes("Take over session", destructive=False, idempotent=False))
    async def take_over_session(session_id: SessionId) -> Session:
        """Take a live conversation from the agent: it stops replying until you return it or close it.

        Works on a session that asked for a person (requested or acknowledged) or on any live session
        at will. The customer's turns are kept in the transcript for you (`get_session`). Refused if
        someone has already taken it over (the error says who) or the session has ended.
        """
        principal = tc.principal()
        return await tc.call(lambda: handoff.take_over(principal, session_id))

    @tool(server, writes("Send human message", destructive=False, idempotent=False))
    async def send_human_message(session_id: SessionId, text: MessageText) -> Turn:
        """Say something to the customer of a session you have taken over (`take_over_session` first).

        The message reaches the customer on their channel at once (a text customer's open `/ws` or
        waiting receive; a voice caller hears it spoken) and is stored in the transcript as a `human`
        turn with you as its author. Refused while the session is not taken over, once it has ended,
        or for an empty message or one over 8,000 characters.
        """
        principal = tc.principal()
        return await tc.call(lambda: handoff.say(principal, session_id, text))

    @tool(server, writes("Return session to agent", destructive=False, idempotent=False))
    async def return_session_to_agent(session_id: SessionId) -> Session:
        """Give a handed-off conversation back to the agent: it replies to the customer's next message,
        with the whole transcript (what was said while it was paused included) as its history."""
        principal = tc.principal()
        return await tc.call(lambda: handoff.return_to_agent(principal, session_id))

    @tool(server, writes("Close session", destructive=True, idempotent=False))
    async def close_session(session_id: SessionId) -> Session:
        """End a handed-off conversation: the session becomes `completed` ("closed by <you>") and the
        customer's next message starts a new session."""
        principal = tc.principal()
        return await tc.call(lambda: handoff.close_session(principal, session_id))
