"""The customer-facing wire contract of the agent runtime, kept apart from the app so it is one readable page.

AgentCore fixes the envelope (`POST /invocations` with a JSON body, `GET /ping`, the
`X-Amzn-Bedrock-AgentCore-Runtime-Session-Id` header); everything inside the body and the API-key
headers is Oratio's. This module turns raw input into typed values or an `OratioError`, so the app
never guesses and every bad input gets the same 4xx answer whichever door (AgentCore, `oratio
serve`) it came through. Nothing here does I/O.

Session ids. AgentCore requires runtime session ids of 33 to 256 characters and routes every request
carrying one id to the same microVM for the life of that session. Oratio session ids (`ses_` + 30
characters) are shorter, so the runtime form of an Oratio session is `oratio-<session id>`
(41 characters), which maps back without any lookup. A client may instead pick its own runtime id
(boto3's `invoke_agent_runtime` generates a UUID when none is given): the first turn then starts an
Oratio session and the pair is stored (`oratio.services.runtime_sessions`, first bind wins), with
`SessionBindings` as the process-memory cache in front (`agentcore_apps.bindings`), so the id keeps
naming that session on another replica, a new microVM or after a restart, for AgentCore's 8 hours.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError

from oratio.auth.api_keys import SECRET_PREFIX
from oratio.errors import InvalidInput, Unauthenticated
from schemas import Identifier, Limits, Model
from schemas._base import Metadata

MAX_BODY_BYTES = 64 * 1024
"""Largest request body read. A maximal valid turn (8,000 characters of text) fits with room to spare."""

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
API_KEY_HEADER = "X-Api-Key"
AGENTCORE_API_KEY_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Api-Key"
"""AgentCore forwards only allow-listed headers; custom ones must carry this prefix."""

RUNTIME_SESSION_PREFIX = "oratio-"
RUNTIME_SESSION_MIN = 33
RUNTIME_SESSION_MAX = 256

_SESSION_ID = re.compile(r"ses_[0-9a-z]{1,58}")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")

_NO_KEY = (
    f"send the agent's API key as '{API_KEY_HEADER}: ora_sk_...' or 'Authorization: Bearer ora_sk_...' "
    f"(behind AgentCore: '{AGENTCORE_API_KEY_HEADER}')"
)

_AGENT_ID: TypeAdapter[str] = TypeAdapter(Identifier)

Message = Annotated[str, StringConstraints(min_length=1, max_length=Limits.TURN_TEXT_MAX)]


class Invocation(Model):
    """The JSON body of one customer turn. Unknown fields are refused, so a typo is an error, not a no-op."""

    agent_id: Identifier | None = Field(default=None, description="May come from the path instead")
    message: Message
    session_id: Identifier | None = Field(default=None, description="Continue this Oratio session")
    stream: bool | None = Field(default=None, description="SSE; default from the Accept header")
    customer: Metadata | None = Field(default=None, description="Who the customer is; kept on a new session")


def parse_invocation(payload: Any, path_agent_id: str | None) -> tuple[Invocation, str]:
    """Validate the body and settle which agent it addresses (body or path; both must then agree)."""
    if not isinstance(payload, dict):
        raise InvalidInput('the request body must be a JSON object such as {"agent_id": ..., "message": ...}')
    try:
        invocation = Invocation.model_validate(payload)
    except ValidationError as exc:
        raise invalid_input(exc) from None
    if not invocation.message.strip():
        raise InvalidInput("message is empty", field="message")
    if path_agent_id is not None:
        try:
            _AGENT_ID.validate_python(path_agent_id)
        except ValidationError:
            raise InvalidInput(f"'{_shown(path_agent_id)}' in the path is not an agent id", field="agent_id") from None
        if invocation.agent_id is not None and invocation.agent_id != path_agent_id:
            raise InvalidInput("agent_id in the body differs from the agent in the path", field="agent_id")
        return invocation, path_agent_id
    if invocation.agent_id is None:
        raise InvalidInput(
            "agent_id is required (in the body, or POST /agents/{agent_id}/invocations)", field="agent_id"
        )
    return invocation, invocation.agent_id


def invalid_input(exc: ValidationError) -> InvalidInput:
    """A validation failure as one InvalidInput naming at most five problems (input never echoed whole)."""
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for error in errors[:5]:
        # A location may hold a dict key (customer details), which is tenant input of any size: cut it.
        where = ".".join(_shown(str(p)) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    first = errors[0]["loc"] if errors else ()
    field = str(first[0]) if first else None
    return InvalidInput("; ".join(parts) + more, field=field)


def _shown(value: str) -> str:
    """A caller-supplied value cut short and stripped of anything unprintable before it is echoed."""
    return "".join(ch if ch.isprintable() else "?" for ch in value[:70])


def api_key_from(headers: Mapping[str, str]) -> str:
    """The presented API key secret. Whether it is valid is `KeyService.authenticate`'s business."""
    for name in (API_KEY_HEADER, AGENTCORE_API_KEY_HEADER):
        value = headers.get(name.lower())
        if value is not None and value.strip():
            return value.strip()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(SECRET_PREFIX):
        return token
    raise Unauthenticated(_NO_KEY)


def runtime_session_id(session_id: str) -> str:
    """The AgentCore form (33+ characters) of an Oratio session id."""
    return RUNTIME_SESSION_PREFIX + session_id


def check_runtime_session_id(value: str) -> str:
    """The header's value if it meets AgentCore's rules, so local serving refuses what AgentCore would."""
    if not RUNTIME_SESSION_MIN <= len(value) <= RUNTIME_SESSION_MAX or not _PRINTABLE.fullmatch(value):
        raise InvalidInput(
            f"{SESSION_HEADER} must be {RUNTIME_SESSION_MIN} to {RUNTIME_SESSION_MAX} printable characters "
            f"(got {len(value)}); use the one a previous reply returned, or a UUID",
            field=SESSION_HEADER,
        )
    return value


def session_from_runtime_id(value: str) -> str | None:
    """The Oratio session an `oratio-ses_...` runtime id names, or None for a client-chosen id."""
    rest = value.removeprefix(RUNTIME_SESSION_PREFIX)
    if rest != value and _SESSION_ID.fullmatch(rest):
        return rest
    return None


class SessionBindings:
    """Client-chosen runtime session id -> Oratio session id, per tenant and agent: the memory cache.

    Bounded (least recently used entries go first) and expiring (AgentCore ends a runtime session
    after 8 hours at most), so a flood of fresh ids cannot grow memory. Losing an entry only costs a
    store read (`agentcore_apps.bindings.DurableBindings`). Thread-safe. Two first turns racing on
    one fresh runtime id each start a session; the first stored binding names it from then on.
    """

    def __init__(
        self, *, max_entries: int = 100_000, ttl_seconds: float = 8 * 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str, str], tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, tenant_id: str, agent_id: str, runtime_id: str) -> str | None:
        key = (tenant_id, agent_id, runtime_id)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            session_id, at = found
            if self._clock() - at > self._ttl:
                del self._entries[key]
                return None
            self._entries[key] = (session_id, self._clock())
            self._entries.move_to_end(key)
            return session_id

    def bind(self, tenant_id: str, agent_id: str, runtime_id: str, session_id: str) -> None:
        key = (tenant_id, agent_id, runtime_id)
        with self._lock:
            self._entries[key] = (session_id, self._clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def resolve_session(
    bindings: SessionBindings,
    tenant_id: str,
    agent_id: str,
    header: str | None,
    body_session_id: str | None,
) -> str | None:
    """The Oratio session this turn continues, or None to start one. Header and body must agree."""
    from_header: str | None = None
    if header is not None:
        check_runtime_session_id(header)
        from_header = session_from_runtime_id(header) or bindings.get(tenant_id, agent_id, header)
    if body_session_id is not None and from_header is not None and body_session_id != from_header:
        raise InvalidInput(
            f"session_id in the body differs from the session the {SESSION_HEADER} header names", field="session_id"
        )
    return body_session_id or from_header
