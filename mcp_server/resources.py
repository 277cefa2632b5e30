"""MCP resources: read-only JSON views of the caller's organisation, kept fresh by `subscriptions/listen`.

| URI                            | Content                                                  |
| ------------------------------ | -------------------------------------------------------- |
| `oratio://agents`              | the organisation's agents (oldest first)                 |
| `oratio://agents/{agent_id}`   | one agent: spec, status, status reason                   |
| `oratio://sessions/live`       | sessions in progress (newest first)                      |
| `oratio://sessions/{id}`       | one session with its transcript                          |
| `oratio://sessions/{id}/events`| one session's state and its last turns, to follow it live |
| `oratio://notifications`       | unread notifications, then the most recent of any status |

Every read is scoped to the caller's tenant (`ToolContext.principal()`): the URIs are the same for
every organisation and name a different view for each, exactly like the tools. An id of another
tenant reads as "not found", the same error an unknown id gets, so a reader learns nothing.

`mcp_server.live` notifies listeners of these same URIs when the event log says they changed; the
URI builders below are the one place both modules take them from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import Field

from mcp_server._context import ToolContext
from oratio.errors import NotFound, OratioError
from schemas import Agent, Model, Notification, NotificationStatus, Principal, Session, Turn

T = TypeVar("T")

JSON = "application/json"
AGENTS_URI = "oratio://agents"
LIVE_SESSIONS_URI = "oratio://sessions/live"
NOTIFICATIONS_URI = "oratio://notifications"
LIST_LIMIT = 200
"""Lists are snapshots of at most this many records; `truncated` says there are more (use the tools to page)."""
RECENT_NOTIFICATIONS = 20
EVENTS_TURNS = 50
"""Turns `oratio://sessions/{id}/events` carries: the tail of the conversation, read in one query however long
the call; the whole transcript is `oratio://sessions/{id}`."""


def agent_uri(agent_id: str) -> str:
    return f"{AGENTS_URI}/{agent_id}"


def session_uri(session_id: str) -> str:
    return f"oratio://sessions/{session_id}"


def session_events_uri(session_id: str) -> str:
    return f"{session_uri(session_id)}/events"


class AgentsView(Model):
    agents: list[Agent]
    truncated: bool = Field(description="More agents exist than are listed here; page with the list_agents tool")


class LiveSessionsView(Model):
    sessions: list[Session]
    truncated: bool = Field(description="More live sessions exist; page with the list_live_sessions tool")


class SessionEventsView(Model):
    """A live conversation as a follower sees it: read again on each `resources/updated` of its URI."""

    session: Session = Field(description="Status, handoff state (requested, acknowledged, taken over...), paused")
    turns: list[Turn] = Field(description=f"The last {EVENTS_TURNS} turns at most, oldest first, each with its seq")
    earlier_turns: bool = Field(description="Turns before these exist: read oratio://sessions/{id} for all of them")


class NotificationsView(Model):
    unread: list[Notification] = Field(description="Unread notifications, newest first")
    more_unread: bool = Field(description="More unread notifications exist than are listed")
    recent: list[Notification] = Field(description="The most recent notifications of any status, newest first")


@contextmanager
def resource_errors() -> Iterator[None]:
    """Core errors become resource errors: unknown (or another tenant's) ids are plain "not found"."""
    try:
        yield
    except NotFound as exc:
        raise ResourceNotFoundError(f"{exc.code}: {exc.message}") from None
    except OratioError as exc:
        raise ResourceError(f"{exc.code}: {exc.message}") from None
    except ToolError as exc:  # `tc.principal()` refusing an unauthenticated caller
        raise ResourceError(str(exc)) from None


async def read(tc: ToolContext, fn: Callable[[Principal], T]) -> T:
    """Run a blocking service read for the caller in a worker thread, with resource errors."""
    with resource_errors():
        principal = tc.principal()
        return await anyio.to_thread.run_sync(lambda: fn(principal))


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @server.resource(AGENTS_URI, name="agents", title="Agents", mime_type=JSON)
    async def agents() -> str:
        """The organisation's agents with their status, oldest first."""
        page = await read(tc, lambda p: platform.agents.list(p, limit=LIST_LIMIT))
        return AgentsView(agents=page.items, truncated=page.next_cursor is not None).model_dump_json()

    @server.resource(LIVE_SESSIONS_URI, name="live_sessions", title="Live sessions", mime_type=JSON)
    async def live_sessions() -> str:
        """Customer conversations in progress right now, newest first."""
        page = await read(tc, lambda p: platform.sessions.list_live(p, limit=LIST_LIMIT))
        return LiveSessionsView(sessions=page.items, truncated=page.next_cursor is not None).model_dump_json()

    @server.resource(NOTIFICATIONS_URI, name="notifications", title="Notifications", mime_type=JSON)
    async def notifications() -> str:
        """Unread notifications (handoff requests first of all) and the most recent ones of any status."""

        def fetch(p: Principal) -> NotificationsView:
            unread = platform.notifications.list(p, status=NotificationStatus.UNREAD, limit=LIST_LIMIT)
            recent = platform.notifications.list(p, limit=RECENT_NOTIFICATIONS)
            return NotificationsView(
                unread=unread.items, more_unread=unread.next_cursor is not None, recent=recent.items
            )

        return (await read(tc, fetch)).model_dump_json()

    @server.resource(agent_uri("{agent_id}"), name="agent", title="Agent", mime_type=JSON)
    async def agent(agent_id: str) -> str:
        """One agent: its spec (SOP, configuration), status and the reason for a failed status."""
        found = await read(tc, lambda p: platform.agents.get(p, agent_id))
        return found.model_dump_json()

    @server.resource(session_uri("{session_id}"), name="session", title="Session", mime_type=JSON)
    async def session(session_id: str) -> str:
        """One customer conversation with its full transcript, turn by turn."""
        found = await read(tc, lambda p: platform.sessions.get(p, session_id))
        return found.model_dump_json()

    @server.resource(session_events_uri("{session_id}"), name="session_events", title="Session events", mime_type=JSON)
    async def session_events(session_id: str) -> str:
        """Follow one conversation live: its state and last turns (customer, agent, human), re-read on each
        update notification. Listen on this URI to hear of every new turn and handoff move."""
        found = await read(tc, lambda p: platform.sessions.recent(p, session_id, EVENTS_TURNS))
        earlier = bool(found.turns) and found.turns[0].seq > 1
        return SessionEventsView(session=found.session, turns=found.turns, earlier_turns=earlier).model_dump_json()
