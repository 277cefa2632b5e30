"""`/ws`: a customer's text conversation over AgentCore's WebSocket, with the replies it did not ask for pushed.

The customer connects to `/ws?agent_id=...[&session_id=...][&after=<seq>]` with the agent's API key
in a header (as for `/invocations`; AgentCore's session header may name the session instead),
sends turns as `{"type": "message", "text": ..., "customer"?: {...}}` (the same engine path as
`/invocations`) and receives, in seq order and each once:

* `{"type": "ready", "session_id", "cursor"}` once connected (`session_id` null until the first turn);
* `{"type": "item", "session_id", "seq", "role": "agent"|"human"|"notice", "text", "sources", "at"}` for every
  customer-visible turn (`oratio.services.customer_feed`): the agent's replies, a person's messages
  after a takeover, and the notices when the conversation changes hands;
* `{"type": "done", "session_id", "status", "handoff", "ended", "paused"}` after each of the customer's turns
  (its reply, if any, was an `item` just before);
* `{"type": "error", "status", "error", "message"}` for a turn refused (rate limit 429, paused agent 409...);
  the connection stays open.

Closes (code, reason of at most 123 bytes): 4400 bad connect parameters (an `after` past the
session's last turn too), 4401 missing or bad key (also when it is revoked while connected), 4403
another agent's key, 4404 unknown agent or session (another tenant's or agent's reads the same),
4408 no message within `Settings.receive_first_message_seconds` of connecting without a session
(its receiver slot is freed), 1007 a frame that is not a JSON object of a known type, 1009 a frame
over `MAX_FRAME_BYTES`, 1013 too many receivers for the tenant (retry later), 1000 the session
ended (after its last items), 1011 a failure of Oratio itself.

Limits: a frame is at most `MAX_FRAME_BYTES`; every turn spends the key's rate limit as a
`/invocations` turn does (refused with an `error` frame); one turn runs at a time per connection;
the connection counts as one of the tenant's receivers (`Settings.receive_waits_per_tenant`).

Pushing follows the platform's event-log tail, nudged by this process's writes; what is sent is
always re-read from the feed under one lock with one cursor, so a reply pushed by the tail and the
same reply flushed after its turn are one frame.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import Any, Literal

import anyio
import anyio.to_thread
from pydantic import Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agentcore_apps.bindings import DurableBindings
from agentcore_apps.context import RuntimeServices
from agentcore_apps.contract import (
    SESSION_HEADER,
    Message,
    api_key_from,
    invalid_input,
    resolve_session,
)
from agentcore_apps.receive import Receivers, is_about
from oratio.errors import Forbidden, InvalidInput, NotFound, OratioError, RateLimited, Unauthenticated
from oratio.http_json import close_reason, parse_json
from oratio.runtime.results import TurnResult
from oratio.services.keys import KeyGrant
from schemas import Channel, Identifier, Model
from schemas._base import Metadata

logger = logging.getLogger("oratio.runtime.ws")

MAX_FRAME_BYTES = 16 * 1024
"""Largest frame taken: a maximal turn (8,000 characters) with its customer details fits."""

CLOSE_BAD_REQUEST = 4400
CLOSE_BAD_KEY = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_FRAME = 1007
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013
CLOSE_ENDED = 1000
CLOSE_INTERNAL = 1011


class Connect(Model):
    agent_id: Identifier
    session_id: Identifier | None = None
    after: int = Field(default=0, ge=0)


class Say(Model):
    type: Literal["message"]
    text: Message
    customer: Metadata | None = None


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def _close_for(exc: OratioError) -> _Closed:
    codes = {Unauthenticated: CLOSE_BAD_KEY, Forbidden: CLOSE_FORBIDDEN, NotFound: CLOSE_NOT_FOUND}
    for kind, code in codes.items():
        if isinstance(exc, kind):
            return _Closed(code, exc.message)
    if isinstance(exc, RateLimited):
        return _Closed(CLOSE_TRY_LATER, exc.message)
    if isinstance(exc, InvalidInput):
        return _Closed(CLOSE_BAD_REQUEST, exc.message)
    return _Closed(CLOSE_INTERNAL, "the agent could not serve this connection; try again")


class CustomerSocket:
    """One customer's connection: a reader running their turns one at a time, a pusher following the log."""

    def __init__(
        self,
        services: RuntimeServices,
        bindings: DurableBindings,
        receivers: Receivers,
        websocket: WebSocket,
    ) -> None:
        self._s = services
        self._bindings = bindings
        self._receivers = receivers
        self._ws = websocket
        self._lock = anyio.Lock()
        self._cursor = 0
        self._session_id: str | None = None
        self._known = anyio.Event()
        self._closing: tuple[int, str] | None = None
        self._header: str | None = None
        self._turning = False

    async def serve(self) -> None:
        await self._ws.accept()
        try:
            connect, grant, secret = await self._connect()
            with self._receivers.slot(grant.tenant_id):
                await self._send({"type": "ready", "session_id": self._session_id, "cursor": self._cursor})
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(self._until_closed, self._push(grant, connect.agent_id), tasks.cancel_scope)
                    await self._until_closed(self._read(grant, connect.agent_id, secret), tasks.cancel_scope)
        except _Closed as closed:
            self._closing = self._closing or (closed.code, closed.reason)
        except OratioError as exc:
            refused = _close_for(exc)
            self._closing = self._closing or (refused.code, refused.reason)
        except WebSocketDisconnect:
            return
        if self._closing is not None:
            await self._close(*self._closing)

    async def _until_closed(self, work: Coroutine[Any, Any, None], scope: anyio.CancelScope) -> None:
        """Run the reader or the pusher; whichever stops (a close decided, the client gone) stops both."""
        try:
            await work
        except _Closed as closed:
            self._closing = self._closing or (closed.code, closed.reason)
        except (Unauthenticated, Forbidden, NotFound) as exc:
            refused = _close_for(exc)
            self._closing = self._closing or (refused.code, refused.reason)
        except WebSocketDisconnect:
            pass
        scope.cancel()

    async def _connect(self) -> tuple[Connect, KeyGrant, str]:
        query = self._ws.query_params
        repeated = sorted({k for k in query if len(query.getlist(k)) > 1})
        if repeated:
            raise _Closed(CLOSE_BAD_REQUEST, f"query parameter '{repeated[0]}' is given more than once")
        try:
            connect = Connect.model_validate(dict(query))
        except ValidationError as exc:
            raise _Closed(CLOSE_BAD_REQUEST, invalid_input(exc).message) from None
        secret = api_key_from(self._ws.headers)
        grant = await self._authenticate(secret, connect.agent_id)
        header = self._ws.headers.get(SESSION_HEADER)
        self._header = header
        await self._bindings.load(grant.tenant_id, connect.agent_id, header)
        session_id = resolve_session(
            self._bindings.memory, grant.tenant_id, connect.agent_id, header, connect.session_id
        )
        if session_id is not None:
            page = await anyio.to_thread.run_sync(
                self._s.feed.page, grant.tenant_id, connect.agent_id, session_id, connect.after
            )
            self._cursor = connect.after
            self._known_session(session_id)
            if page.ended and not page.items:
                raise _Closed(CLOSE_ENDED, "the session has ended; connect without session_id to start a new one")
        return connect, grant, secret

    async def _authenticate(self, secret: str, agent_id: str) -> KeyGrant:
        grant = self._s.keys.authenticate_cached(secret, agent_id)
        if grant is None:
            grant = await anyio.to_thread.run_sync(self._s.keys.authenticate_for_agent, secret, agent_id)
        return grant

    def _known_session(self, session_id: str) -> None:
        self._session_id = session_id
        self._known.set()

    async def _read(self, grant: KeyGrant, agent_id: str, secret: str) -> None:
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            text: str | None = message.get("text")
            raw: bytes = text.encode("utf-8") if text is not None else (message.get("bytes") or b"")
            if len(raw) > MAX_FRAME_BYTES:
                raise _Closed(CLOSE_TOO_BIG, f"a frame is at most {MAX_FRAME_BYTES} bytes")
            say = _parse_frame(raw)
            try:
                # Every turn spends the key's rate limit and sees a revocation, as an /invocations turn does.
                await self._authenticate(secret, agent_id)
            except RateLimited as exc:
                await self._send({"type": "error", "status": exc.http_status, **exc.to_dict()})
                continue
            self._turning = True  # a first turn still running is not idleness (see `_push`)
            try:
                await self._turn(grant, agent_id, say)
            finally:
                self._turning = False

    async def _turn(self, grant: KeyGrant, agent_id: str, say: Say) -> None:
        try:
            result = await self._s.engine.turn_async(
                grant.tenant_id, agent_id, self._session_id, say.text, Channel.TEXT, say.customer
            )
        except (Unauthenticated, Forbidden, NotFound):
            raise  # the key or the session is gone: the connection closes with its code
        except OratioError as exc:
            await self._send({"type": "error", "status": exc.http_status, **exc.to_dict()})
            return
        self._known_session(result.session_id)
        # A client-chosen runtime session id names this session from now on, as on /invocations.
        await self._bindings.remember(grant.tenant_id, agent_id, self._header, result.session_id)
        await self._flush(grant.tenant_id, agent_id)
        await self._send(_done(result))
        if result.ended:
            raise _Closed(CLOSE_ENDED, "the session has ended")

    async def _push(self, grant: KeyGrant, agent_id: str) -> None:
        """Follow the tenant's events; flush whenever one is about this session. Ends (closing the
        connection) when the session ends or its feed is refused."""
        patience = self._s.settings.receive_first_message_seconds
        while not self._known.is_set():
            with anyio.move_on_after(patience):
                await self._known.wait()
            if not self._known.is_set() and not self._turning:
                # Nothing to follow, ever, unless the customer speaks: a socket left open by a careless client
                # (one per page view) would hold the tenant's receiver slots until none is left for anyone.
                self._closing = self._closing or (CLOSE_IDLE, f"no message in {patience:g} s; connect again to talk")
                return
        session_id = self._session_id
        assert session_id is not None
        async with self._s.tailer().subscribe(grant.tenant_id) as subscription:
            try:
                # Anything written before the subscription opened is read once now.
                ended = await self._flush(grant.tenant_id, agent_id)
                while not ended:
                    events = await subscription.next_batch()
                    if any(is_about(event, session_id) for event in events):
                        ended = await self._flush(grant.tenant_id, agent_id)
            except OratioError as exc:  # decided here: an exception group out of the tailer's task group is not
                refused = _close_for(exc)
                self._closing = self._closing or (refused.code, refused.reason)
                return
        self._closing = self._closing or (CLOSE_ENDED, "the session has ended")

    async def _flush(self, tenant_id: str, agent_id: str) -> bool:
        """Send every visible turn after the cursor, once; True when the session has ended."""
        session_id = self._session_id
        assert session_id is not None
        async with self._lock:
            while True:
                page = await anyio.to_thread.run_sync(self._s.feed.page, tenant_id, agent_id, session_id, self._cursor)
                for item in page.items:
                    await self._send({"type": "item", "session_id": session_id, **item.model_dump(mode="json")})
                moved = page.cursor > self._cursor
                self._cursor = page.cursor
                if page.ended or not moved:
                    return page.ended

    async def _send(self, frame: dict[str, Any]) -> None:
        await self._ws.send_json(frame)

    async def _close(self, code: int, reason: str) -> None:
        if self._ws.application_state is WebSocketState.DISCONNECTED:
            return
        try:
            await self._ws.close(code=code, reason=close_reason(reason))
        except (RuntimeError, WebSocketDisconnect):  # the client went first
            return


def _parse_frame(raw: bytes) -> Say:
    try:
        data = parse_json(raw, what="a frame")
        return Say.model_validate(data)
    except InvalidInput as exc:
        raise _Closed(CLOSE_BAD_FRAME, exc.message) from None
    except ValidationError as exc:
        detail = invalid_input(exc).message
        raise _Closed(CLOSE_BAD_FRAME, f'send {{"type": "message", "text": ...}}: {detail}') from None


def _done(result: TurnResult) -> dict[str, Any]:
    return {
        "type": "done",
        "session_id": result.session_id,
        "status": result.status.value,
        "handoff": result.handoff,
        "ended": result.ended,
        "paused": result.paused,
    }


async def serve_customer(
    services: RuntimeServices, bindings: DurableBindings, receivers: Receivers, websocket: WebSocket
) -> None:
    """AgentCore's `@app.websocket` handler body (see the module doc for the protocol)."""
    try:
        await CustomerSocket(services, bindings, receivers, websocket).serve()
    except Exception:  # the outermost handler of a connection: say nothing of the cause
        logger.exception("customer websocket failed")
        try:
            await websocket.close(code=CLOSE_INTERNAL, reason="the agent could not serve this connection")
        except (RuntimeError, WebSocketDisconnect):
            return
