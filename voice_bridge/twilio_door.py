"""Phone calls through Twilio: the incoming-call webhook and the Media Streams socket (docs/phone.md).

`POST /voice/twilio/{tenant_id}/{agent_id}/incoming` is the number's Voice webhook. It checks
`X-Twilio-Signature` with the tenant's auth token (the tenant secret `TWILIO_AUTH_TOKEN`, set like any other
secret and never returned) over the public URL (`ORATIO_VOICE_PUBLIC_URL` + the path, never the `Host` the
caller sent), then answers TwiML that connects the call to `WS /voice/twilio/stream` with a signed,
single-use ticket (voice_bridge.twilio_auth). Whoever cannot sign for the tenant learns nothing: an unknown
tenant, a tenant without a token and a bad signature all get the same 403; only a signed request learns that
the agent is missing (404) or does not take voice calls (403).

The socket reads Twilio's `connected` and `start`, admits the stream by its ticket (bound to the CallSid in
`start`), and runs the ordinary `VoiceCall` over a `TwilioTransport`: the session is a voice session whose
customer details say it came by phone, with the caller's number masked to its last four digits.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import quoteattr

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from oratio.auth.rate_limit import RateLimiter, check_on_loop
from oratio.errors import Forbidden, InvalidInput, NotFound, OratioError
from oratio.http_json import PayloadTooLarge, close_reason, error_response
from schemas import AgentType
from voice_bridge.call import Admission, Admitted, CallSocket
from voice_bridge.context import VoiceServices
from voice_bridge.protocol import Close, ProtocolError, StartMessage, VoiceLimits
from voice_bridge.twilio_auth import (
    CALL_SID,
    SIGNATURE_HEADER,
    TicketBook,
    TicketError,
    Tickets,
    masked_caller,
    signature_matches,
    ticket_key,
)
from voice_bridge.twilio_stream import AGENT_RATE, PHONE_RATE, PhoneLimits, TwilioTransport, parse_start, read_message

logger = logging.getLogger("oratio.voice")

TOKEN_SECRET = "TWILIO_AUTH_TOKEN"
"""The tenant secret holding the Twilio account's auth token (docs/secrets.md: `set_secret`)."""
FORM_MAX_BYTES = 16 * 1024
"""Twilio's call webhook is about 1 KB of parameters."""
FORM_FIELDS_MAX = 100
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
BAD_SIGNATURE = "the request is not signed by Twilio for this URL (X-Twilio-Signature)"
VOICE_TYPES = (AgentType.VOICE, AgentType.BOTH)

RunCall = Callable[[CallSocket, str, Admission], Awaitable[None]]
"""Serve one call over a socket, for an agent, admitted by the given admission (voice_bridge.app)."""


class PhoneDoor:
    """The webhook and the stream, with what they share: tickets, used tickets, the rate limit, the call count."""

    def __init__(
        self,
        services: VoiceServices,
        run_call: RunCall,
        limits: PhoneLimits,
        call_limits: VoiceLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._services = services
        self._run_call = run_call
        self._limits = limits
        self._call_limits = call_limits
        self._clock = clock
        self._book = TicketBook(max(1_000, limits.calls_max * 10), clock)
        self.active = 0
        """Phone calls being served by this process now."""

    @functools.cached_property
    def _limiter(self) -> RateLimiter:
        """Webhooks per (tenant, agent), shared by every replica when ORATIO_RATE_LIMIT_STATE=store (scope
        `phone_calls`): behind N replicas a caller or a forger gets the configured rate, not N times it."""
        return self._services.rate_limits.limiter(
            "phone_calls", self._limits.calls_per_minute, self._limits.calls_burst
        )

    @functools.cached_property
    def tickets(self) -> Tickets:
        """Built on first use: resolving the platform's secret may create its key file."""
        return Tickets(ticket_key(self._services.settings.resolved_jwt_secret()), self._limits.ticket_s, self._clock)

    # -- the webhook -----------------------------------------------------------------------------

    async def incoming(self, request: Request) -> Response:
        try:
            return await self._incoming(request)
        except OratioError as exc:
            return error_response(exc)

    async def _incoming(self, request: Request) -> Response:
        tenant_id = request.path_params["tenant_id"]
        agent_id = request.path_params["agent_id"]
        public = self._services.settings.voice_public_url
        if public is None:
            logger.error("a Twilio webhook arrived but ORATIO_VOICE_PUBLIC_URL is not set")
            raise NotFound("phone calls are not configured on this server (ORATIO_VOICE_PUBLIC_URL)")
        if not (_ID.fullmatch(tenant_id) and _ID.fullmatch(agent_id)):
            raise Forbidden(BAD_SIGNATURE)
        await check_on_loop(self._limiter, f"{tenant_id}/{agent_id}")  # before any secret is read or HMAC computed
        params = await _form(request)
        url = _http(public) + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        presented = request.headers.get(SIGNATURE_HEADER, "")
        token = await anyio.to_thread.run_sync(self._token, tenant_id)
        if token is None or not presented or not signature_matches(token, url, params, presented):
            logger.info("tenant_id=%s agent_id=%s | Twilio webhook refused: bad signature", tenant_id, agent_id)
            raise Forbidden(BAD_SIGNATURE)
        agent, _ = await anyio.to_thread.run_sync(self._services.agents.artifact, tenant_id, agent_id)
        if agent.spec.agent_type not in VOICE_TYPES:
            raise Forbidden(f"agent '{agent_id}' is a text agent; make it voice or both to take phone calls")
        fields = dict(params)
        call_sid = fields.get("CallSid", "")
        if not CALL_SID.fullmatch(call_sid):
            raise InvalidInput("CallSid is missing or not a Twilio call SID", field="CallSid")
        if self.active >= self._limits.calls_max:
            logger.warning("agent_id=%s | phone call rejected: %d calls in progress", agent_id, self.active)
            return _twiml('<Reject reason="busy"/>')
        ticket = self.tickets.issue(tenant_id, agent_id, call_sid, masked_caller(fields.get("From", "")))
        stream_url = _ws(public) + request.scope.get("root_path", "") + "/twilio/stream"
        logger.info("tenant_id=%s agent_id=%s | phone call answered", tenant_id, agent_id)
        return _twiml(
            f"<Connect><Stream url={quoteattr(stream_url)}>"
            f'<Parameter name="ticket" value={quoteattr(ticket)}/></Stream></Connect>'
        )

    def _token(self, tenant_id: str) -> str | None:
        """The tenant's Twilio auth token, or None (no such tenant, not set, or unreadable: all refused alike)."""
        try:
            return self._services.secrets.resolve(tenant_id, TOKEN_SECRET)
        except OratioError as exc:
            logger.info("tenant_id=%s | no usable %s: %s", tenant_id, TOKEN_SECRET, exc.message)
            return None

    # -- the stream ------------------------------------------------------------------------------

    async def stream(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            with anyio.fail_after(self._call_limits.start_timeout_s):
                start = await self._read_start(websocket)
            begun = parse_start(start)
            ticket = self.tickets.check(begun.ticket)
            if ticket.call_sid != begun.call_sid:
                raise TicketError("the stream ticket is for another call")
            self._book.claim(ticket)
            if self.active >= self._limits.calls_max:
                raise ProtocolError(Close.RATE_LIMITED, "too many phone calls in progress; try again")
        except TicketError as exc:
            await _close(websocket, Close.BAD_KEY, exc.reason)
            return
        except ProtocolError as exc:
            await _close(websocket, exc.code, exc.reason)
            return
        except TimeoutError:
            await _close(websocket, Close.IDLE, f"no start within {self._call_limits.start_timeout_s:g}s")
            return
        except WebSocketDisconnect:
            return
        bridge_start: dict[str, Any] = {
            "type": "start",
            "audio": {"encoding": "pcm16", "sample_rate": PHONE_RATE, "channels": 1},
            "output_sample_rate": AGENT_RATE,
            "customer": {"via": "phone", "caller": ticket.caller, "call_sid": ticket.call_sid},
        }
        transport = TwilioTransport(websocket, self._limits, begun.stream_sid, bridge_start)

        async def admit(start: StartMessage) -> Admitted:
            # The ticket is the admission: the webhook checked the signature and the agent moments ago. Each
            # turn still goes through the engine, which refuses an agent paused or undeployed since.
            return Admitted(ticket.tenant_id, ticket.agent_id, _nothing)

        self.active += 1
        try:
            logger.info("agent_id=%s | phone stream admitted", ticket.agent_id)
            await self._run_call(transport, ticket.agent_id, admit)
        finally:
            self.active -= 1

    async def _read_start(self, websocket: WebSocket) -> dict[str, Any]:
        """Twilio's `start` (after an optional `connected`)."""
        for _ in range(2):
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1006))
            data = read_message(message.get("text"), self._limits)
            if data["event"] == "start":
                return data
            if data["event"] != "connected":
                break
        raise ProtocolError(Close.POLICY, "a stream begins with Twilio's connected and start messages")


async def _nothing() -> None:
    return None


async def _close(websocket: WebSocket, code: Close, reason: str) -> None:
    logger.info("code=%d | phone stream refused: %s", code, reason)
    await websocket.close(code=int(code), reason=close_reason(reason))


async def _form(request: Request) -> list[tuple[str, str]]:
    """The webhook's form parameters: bounded size and count, UTF-8, linear-time parsing."""
    if request.headers.get("content-type", "").partition(";")[0].strip() != "application/x-www-form-urlencoded":
        raise InvalidInput("Twilio webhooks are application/x-www-form-urlencoded", field="content-type")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_MAX_BYTES:
            raise PayloadTooLarge.of(FORM_MAX_BYTES, "a Twilio call webhook is far smaller")
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=FORM_FIELDS_MAX)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput(f"the form is not UTF-8 or has over {FORM_FIELDS_MAX} fields", field="body") from None


def _http(public: str) -> str:
    """The public URL as Twilio requests it: https for wss, http for ws; no trailing slash."""
    return re.sub(r"^ws", "http", public).rstrip("/")


def _ws(public: str) -> str:
    return re.sub(r"^http", "ws", public).rstrip("/")


def _twiml(body: str) -> Response:
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
    return Response(xml, media_type="text/xml", headers={"Cache-Control": "no-store"})
