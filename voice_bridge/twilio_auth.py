"""Who may start a phone call: Twilio's request signature, and the stream ticket the webhook hands out.

Twilio signs each webhook with the account's auth token (`X-Twilio-Signature`: base64 of HMAC-SHA1 over the
full URL it requested followed by every POST parameter, name then value, sorted by name). The URL is the
public one the operator configured (`ORATIO_VOICE_PUBLIC_URL`), never one built from the `Host` a caller
chooses, so a request signed for another URL does not pass.

The webhook answers with TwiML that tells Twilio to open the media stream and to send back a ticket: a
short-lived (`ticket_seconds`), single-use token signed with a key derived from the platform's own secret,
bound to the tenant, the agent and the CallSid. The stream needs nothing else to be admitted, and nobody but
the holder of the tenant's auth token (through Twilio) can get one. Single use is kept in this process's
memory (`TicketBook`): a stream socket is served by the process it reaches, and a ticket lives seconds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

SIGNATURE_HEADER = "x-twilio-signature"
TICKET_MAX_CHARS = 1024
"""A ticket is about 300 characters; anything longer is refused before it is decoded."""
CALL_SID = re.compile(r"CA[0-9a-f]{32}")
_TICKET_CONTEXT = b"oratio/voice/twilio-stream-ticket/v1"


def twilio_signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """The signature Twilio sends for a POST of `params` to `url` (its documented algorithm)."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(auth_token: str, url: str, params: Sequence[tuple[str, str]], presented: str) -> bool:
    """Constant-time comparison of the presented signature with the one computed here."""
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), presented.strip().encode())


def ticket_key(platform_secret: str) -> bytes:
    """The key tickets are signed with: derived from the platform's secret for this use only."""
    return hmac.new(platform_secret.encode(), _TICKET_CONTEXT, hashlib.sha256).digest()


@dataclass(frozen=True)
class Ticket:
    """What the webhook vouched for: this tenant's agent answers this call."""

    tenant_id: str
    agent_id: str
    call_sid: str
    caller: str
    """The caller's number, masked to its last four digits (what the session keeps)."""
    nonce: str
    expires_at: float


class TicketError(Exception):
    """A ticket that does not admit a stream; `reason` is safe to log and to send as a close reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tickets:
    """Issues and checks stream tickets; the key and the clock are injected (tests move the clock)."""

    def __init__(self, key: bytes, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._ttl = ttl_s
        self._clock = clock

    def issue(self, tenant_id: str, agent_id: str, call_sid: str, caller: str) -> str:
        body = {
            "t": tenant_id,
            "a": agent_id,
            "c": call_sid,
            "f": caller,
            "n": secrets.token_urlsafe(12),
            "e": round(self._clock() + self._ttl, 3),
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def check(self, ticket: str) -> Ticket:
        """The ticket's claims, or TicketError: malformed, not signed by us, or expired (never which byte)."""
        if not ticket or len(ticket) > TICKET_MAX_CHARS:
            raise TicketError("the stream ticket is missing or malformed")
        payload, _, signature = ticket.partition(".")
        if not hmac.compare_digest(self._sign(payload).encode(), signature.encode()):
            raise TicketError("the stream ticket is not valid")
        try:
            body = json.loads(_unb64(payload))
            claims = Ticket(
                tenant_id=str(body["t"]),
                agent_id=str(body["a"]),
                call_sid=str(body["c"]),
                caller=str(body["f"]),
                nonce=str(body["n"]),
                expires_at=float(body["e"]),
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise TicketError("the stream ticket is not valid") from None
        if self._clock() >= claims.expires_at:
            raise TicketError("the stream ticket has expired")
        return claims

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


class TicketBook:
    """The tickets already used in this process, until they expire: a ticket admits one stream.

    Bounded: at most `max_entries` tickets are remembered; when full (a flood no rate limit let through),
    new tickets are refused rather than old ones forgotten, so a replay is never admitted.
    """

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.time) -> None:
        self._max = max_entries
        self._clock = clock
        self._used: OrderedDict[str, float] = OrderedDict()

    def claim(self, ticket: Ticket) -> None:
        now = self._clock()
        while self._used and next(iter(self._used.values())) <= now:
            self._used.popitem(last=False)  # in expiry order: tickets share one lifetime
        if ticket.nonce in self._used:
            raise TicketError("the stream ticket was already used")
        if len(self._used) >= self._max:
            raise TicketError("too many phone calls are starting at once; try again")
        self._used[ticket.nonce] = ticket.expires_at


def masked_caller(number: str) -> str:
    """A phone number as its last four digits ("…1234"); "unknown" for a withheld or odd caller id."""
    digits = "".join(ch for ch in number[:64] if ch.isascii() and ch.isdigit())
    return f"…{digits[-4:]}" if len(digits) >= 4 else "unknown"
