"""Receiving what the customer did not ask for: a long-poll through `/invocations` (`"action": "receive"`).

After a person takes a conversation over, their messages (and later the agent's again) reach the
customer without a turn of the customer's to answer. AgentCore's contract has two ways in, and the
runtime serves both over the same wait (`wait_for_feed`): this long-poll, and the `/ws` WebSocket
(`agentcore_apps.ws`). The body

    {"action": "receive", "agent_id": ..., "session_id": ..., "after": <seq>, "wait_seconds": <= 25}

is answered with the session's customer-visible turns after `after` (`oratio.services.customer_feed`)
as soon as one exists, or an empty list and the same cursor when `wait_seconds` pass. The session
may also be named by AgentCore's session header, as for a turn. An `after` past the session's last
turn was never returned by a page and would hide every later turn: it is refused (422, `field: after`).

How it waits: it subscribes to the tenant's events on the platform's one tailer (which a write of
this process nudges at once; another process's write is seen at its next poll), reads the feed
once (so nothing written before the subscription is missed), then reads again only when an event
about this session arrives. Bounded: at most `Settings.receive_waits_per_tenant` receivers (waits
and `/ws` connections) per tenant in this process, beyond which the answer is 429 + Retry-After.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import anyio
import anyio.to_thread
from pydantic import Field, ValidationError

from agentcore_apps.context import RuntimeServices
from agentcore_apps.contract import (
    SESSION_HEADER,
    SessionBindings,
    invalid_input,
    resolve_session,
    runtime_session_id,
)
from oratio.errors import InvalidInput, OratioError, RateLimited
from oratio.services.customer_feed import CustomerFeed, FeedPage
from oratio.services.live import Subscription
from schemas import Event, EventType, Identifier, Model

WAIT_MAX_SECONDS = 25.0
"""Longest wait of one receive: under the 30 s idle timeouts of common proxies and load balancers."""

RETRY_AFTER_SECONDS = 1.0

_WAKES = frozenset({EventType.SESSION_TURN, EventType.SESSION_HANDOFF, EventType.SESSION_STATUS})


class Receive(Model):
    """The body of a receive. Unknown fields are refused, as for a turn."""

    action: Literal["receive"]
    agent_id: Identifier | None = Field(default=None, description="May come from the path instead")
    session_id: Identifier | None = Field(default=None, description="Or AgentCore's session header")
    after: int = Field(default=0, ge=0, description="The cursor of the last page (0: from the start)")
    wait_seconds: float = Field(default=20.0, ge=0, le=WAIT_MAX_SECONDS)


def is_receive(payload: object) -> bool:
    return isinstance(payload, dict) and payload.get("action") == "receive"


def parse_receive(payload: object, path_agent_id: str | None) -> tuple[Receive, str]:
    """Validate the body and settle the agent (body or path; both must then agree)."""
    try:
        receive = Receive.model_validate(payload)
    except ValidationError as exc:
        raise invalid_input(exc) from None
    agent_id = receive.agent_id or path_agent_id
    if agent_id is None:
        raise InvalidInput(
            "agent_id is required (in the body, or POST /agents/{agent_id}/invocations)", field="agent_id"
        )
    if receive.agent_id is not None and path_agent_id is not None and receive.agent_id != path_agent_id:
        raise InvalidInput("agent_id in the body differs from the agent in the path", field="agent_id")
    return receive, agent_id


def receive_session(
    bindings: SessionBindings, tenant_id: str, agent_id: str, header: str | None, receive: Receive
) -> str:
    session_id = resolve_session(bindings, tenant_id, agent_id, header, receive.session_id)
    if session_id is None:
        raise InvalidInput(
            f"name the session: session_id in the body or the {SESSION_HEADER} header", field="session_id"
        )
    return session_id


class Receivers:
    """How many receivers each tenant has open in this process, refused beyond `limit` (not thread-safe:
    used on the serving loop only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def open_for(self, tenant_id: str) -> int:
        return self._open.get(tenant_id, 0)

    @contextmanager
    def slot(self, tenant_id: str) -> Iterator[None]:
        count = self._open.get(tenant_id, 0)
        if count >= self.limit:
            raise RateLimited(
                f"this tenant already has {self.limit} receivers waiting; retry shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._open[tenant_id] = count + 1
        try:
            yield
        finally:
            left = self._open[tenant_id] - 1
            if left:
                self._open[tenant_id] = left
            else:
                del self._open[tenant_id]


async def wait_for_feed(
    services: RuntimeServices, tenant_id: str, agent_id: str, session_id: str, after: int, wait_seconds: float
) -> FeedPage:
    """The first page after `after` that has items (or the session's end), or the empty page after the wait."""
    feed = services.feed
    await anyio.to_thread.run_sync(feed.session, tenant_id, agent_id, session_id)  # 404 before anything waits
    failure: OratioError | None = None
    async with services.tailer().subscribe(tenant_id) as subscription:
        try:
            return await _first_page(feed, subscription, tenant_id, agent_id, session_id, after, wait_seconds)
        except OratioError as exc:  # raised here, not as an exception group out of the tailer's task group
            failure = exc
    assert failure is not None
    raise failure


async def _first_page(
    feed: CustomerFeed,
    subscription: Subscription,
    tenant_id: str,
    agent_id: str,
    session_id: str,
    after: int,
    wait_seconds: float,
) -> FeedPage:
    # Read after subscribing, so nothing written before the subscription opened is missed.
    page = await anyio.to_thread.run_sync(feed.page, tenant_id, agent_id, session_id, after)
    if page.items or page.ended or wait_seconds <= 0:
        return page
    with anyio.move_on_after(wait_seconds):
        while True:
            events = await subscription.next_batch()
            if any(is_about(event, session_id) for event in events):
                page = await anyio.to_thread.run_sync(feed.page, tenant_id, agent_id, session_id, page.cursor)
                if page.items or page.ended:
                    return page
    return page


def is_about(event: Event, session_id: str) -> bool:
    """An event that may mean something new for this session's customer."""
    return event.subject == session_id and event.type in _WAKES


def page_body(page: FeedPage) -> dict[str, object]:
    body = page.model_dump(mode="json")
    body["runtime_session_id"] = runtime_session_id(page.session_id)
    return body
