"""`/ws/dashboard`: the tenant's event log, replayed from the page's cursor and then tailed live.

Protocol (JSON text frames):

    client -> {"type": "auth", "token": "<admin JWT>", "after": <last cursor seen, or null>}
    client -> {"type": "auth", "after": ...}     (no token: the signed-in person's session cookie)
    server -> {"type": "ready", "cursor": C, "head": H, "resumed": true|false}
    server -> {"type": "event", "cursor": C, "seq": N, "event": "session.turn", "subject": "ses_...",
               "data": {...}, "at": "..."}

The token travels in the first message, never in the URL (URLs end up in logs and history), and a
browser cannot set headers on a WebSocket. Cursors are opaque strings (`EventCursor.token`: one
position per shard of the tenant's log; a plain number, as cursors were before shards, is still
taken). Each event frame carries the cursor just past it. With `after` the server replays every
event after that cursor and goes on live: the page keeps the last cursor it got and reconnects with
it, so across a reconnect nothing is lost or repeated (within a shard seqs only grow, from any
process). With `after: null`, or a cursor ahead of the log (another data directory), the stream
starts at the head and `resumed` is false: the page then reloads its lists. A cursor this log did
not issue closes the stream with 4422 asking to subscribe again without one. Events of different
sessions may arrive in either order; one session's arrive in order. `seq` is the event's place in
its shard, not a tenant-wide order.

Events come from the platform's one tailer of the log (`oratio.services.live.EventTail`, shared with
the MCP door): it reads the tenant's log once per poll for every open page and MCP listener, sees
events written by other processes (the log is shared through SQLite or DynamoDB), and hands this
stream the events after its cursor. Only the token's tenant is ever read, and events of a kind the
token may not read are skipped (`scope_for`). A page that falls behind reads the log from its own
cursor (the tailer's slow-subscriber policy), and a client that does not take a frame within
`send_timeout` is closed with 1013 ("too slow; reconnect with your last seq") rather than buffered.
The token is checked again every `recheck_seconds`, so an expired token ends the stream (4401), and
at once when the log says an admin of the tenant was disabled or had its tokens revoked (`admin.*`
events, which are not forwarded), so such a stream ends (4401, with the reason) within one poll.

Without a token the handshake's session cookie is used (`dashboard.credentials`): a browser sends it with
a WebSocket opened by any site, so such a connection must come from our own origin (its `Origin` header,
4403 otherwise), and the session is checked again on the same schedule as a token.

Close codes: 4000 + the HTTP status of the error (4401 bad or expired token, 4403 missing scope,
4422 bad first message, 4429 rate limited), 4408 no auth message in time, 1013 too slow.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from pydantic import Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from dashboard.context import DashboardServices
from dashboard.credentials import check_origin, session_from_cookie, session_secret
from oratio.errors import InvalidInput, OratioError, Unauthenticated
from oratio.http_json import Closing, close_websocket, receive_text
from oratio.services.live import EventCursor, Subscription, is_access_event, scope_for
from schemas import Event, Model, Principal

logger = logging.getLogger("dashboard.live")

CLOSE_AUTH_TIMEOUT = 4408
CLOSE_TOO_SLOW = 1013
MAX_CLIENT_MESSAGE = 16 * 1024


@dataclass(frozen=True)
class LiveSettings:
    poll_interval: float | None = None
    """Seconds between reads of the log; None shares the platform's tailer (and its interval)."""
    auth_timeout: float = 10.0
    send_timeout: float = 10.0
    recheck_seconds: float = 60.0


class AuthMessage(Model):
    type: Literal["auth"]
    token: str | None = Field(default=None, min_length=1, max_length=8192)
    after: Annotated[int, Field(ge=0, strict=True)] | Annotated[str, Field(min_length=1, max_length=4096)] | None = None


def frame(event: Event, cursor: EventCursor) -> dict[str, Any]:
    """An event frame; `cursor` is the stream's position just past this event (what the page resumes from)."""
    return {
        "type": "event",
        "cursor": cursor.token(),
        "seq": event.seq,
        "event": event.type.value,
        "subject": event.subject,
        "data": event.data,
        "at": event.at.isoformat(),
    }


class DashboardFeed:
    """`endpoint` is the WebSocket route's handler; one instance serves every connection of the app."""

    def __init__(
        self, platform: DashboardServices, settings: LiveSettings | None = None, *, public_url: str | None = None
    ) -> None:
        self._p = platform
        self._public_url = public_url
        self._s = settings or LiveSettings()
        self._tail = platform.tailer(self._s.poll_interval)

    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            check, principal, cursor = await self._authenticate(websocket)
            await self._stream(websocket, check, principal, cursor)
        except Closing as closing:
            await _close(websocket, closing.code, closing.reason)
        except OratioError as exc:  # e.g. the log's backend is unavailable: the page reconnects later
            await _close(websocket, 4000 + exc.http_status, exc.message)
        except WebSocketDisconnect:
            return

    async def _authenticate(self, websocket: WebSocket) -> tuple[Callable[[], Principal], Principal, EventCursor]:
        with anyio.move_on_after(self._s.auth_timeout):
            text = await _receive_text(websocket)
            try:
                hello = AuthMessage.model_validate_json(text)
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(p) for p in problem["loc"]) or "message"
                raise Closing.of(InvalidInput(f"first message must be auth: {where}: {problem['msg']}")) from None
            log = self._tail.events
            try:
                after = None if hello.after is None else EventCursor.parse(hello.after, log.shards)
            except InvalidInput as exc:
                raise Closing.of(exc) from None
            check = self._credential(websocket, hello.token)
            principal = await self._verify(check)
            head = await anyio.to_thread.run_sync(log.head, principal.tenant_id)
            resumed = after is not None and head.covers(after)
            cursor = after if resumed and after is not None else head
            await websocket.send_json(
                {"type": "ready", "cursor": cursor.token(), "head": head.token(), "resumed": resumed}
            )
            logger.info(
                "tenant=%s subject=%s after=%s | dashboard stream open",
                principal.tenant_id,
                principal.subject,
                cursor.token(),
            )
            return check, principal, cursor
        raise Closing(CLOSE_AUTH_TIMEOUT, f"send the auth message within {self._s.auth_timeout:g}s")

    def _credential(self, websocket: WebSocket, token: str | None) -> Callable[[], Principal]:
        """How this stream's admin is checked, at open and again later: its token, or its session cookie."""
        if token is not None:
            return lambda: self._p.access.admin_principal(token)
        if session_secret(websocket, self._public_url) is None:
            raise Closing.of(InvalidInput("first message must be auth: token: required (no session cookie either)"))
        try:
            check_origin(websocket, self._public_url, required=True)
        except OratioError as exc:
            raise Closing.of(exc) from None
        return lambda: session_from_cookie(self._p, websocket, self._public_url)

    async def _verify(self, check: Callable[[], Principal]) -> Principal:
        try:
            return await anyio.to_thread.run_sync(check)
        except OratioError as exc:
            raise Closing.of(exc) from None

    async def _stream(
        self, websocket: WebSocket, check: Callable[[], Principal], principal: Principal, cursor: EventCursor
    ) -> None:
        ended: list[Closing] = []

        async def forward(events: Subscription) -> None:
            position = cursor
            while True:
                for event in await events.next_batch():
                    position = position.advanced((event,))
                    if is_access_event(event):
                        # An admin was disabled, enabled or had its tokens revoked: this stream's
                        # token may be one of them, so check it now rather than at the next recheck.
                        await self._recheck(check)
                    elif principal.allows(scope_for(event)):
                        await self._send(websocket, frame(event, position))

        async def recheck() -> None:
            while True:
                await anyio.sleep(self._s.recheck_seconds)
                await self._recheck(check)

        async def listen() -> None:
            while True:  # nothing to say after auth; reading notices the client leaving
                await _receive_text(websocket)

        async def run(task: Callable[[], Awaitable[None]]) -> None:
            try:
                await task()
            except Closing as closing:
                ended.append(closing)
            except OratioError as exc:
                ended.append(Closing.of(exc))
            except WebSocketDisconnect:
                pass
            group.cancel_scope.cancel()

        async with self._tail.subscribe(principal.tenant_id, after=cursor) as events:
            async with anyio.create_task_group() as group:
                group.start_soon(run, lambda: forward(events))
                group.start_soon(run, recheck)
                group.start_soon(run, listen)
        if ended:
            raise ended[0]

    async def _send(self, websocket: WebSocket, message: dict[str, Any]) -> None:
        """Send one frame, or give up on a client that does not take it in time (memory stays bounded)."""
        try:
            with anyio.fail_after(self._s.send_timeout):
                await websocket.send_json(message)
        except TimeoutError:
            raise Closing(CLOSE_TOO_SLOW, "too slow to keep up; reconnect with your last cursor") from None

    async def _recheck(self, check: Callable[[], Principal]) -> None:
        try:
            await anyio.to_thread.run_sync(check)
        except Unauthenticated as exc:
            raise Closing.of(exc) from None
        except OratioError:
            return  # rate limited or a backend hiccup: keep streaming, check again later


async def _receive_text(websocket: WebSocket) -> str:
    return await receive_text(
        websocket, max_chars=MAX_CLIENT_MESSAGE, binary_advice="send JSON text frames, not binary"
    )


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    await close_websocket(websocket, code, reason, within_s=1.0, log=logger, what="dashboard stream")
