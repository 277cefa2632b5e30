"""Who is calling: the agent API key (header or `start` message) checked against the agent in the path."""

from __future__ import annotations

import anyio.to_thread
from starlette.datastructures import Headers

from oratio.errors import Forbidden, InvalidState, NotFound, OratioError, RateLimited, Unauthenticated
from oratio.services.keys import KeyGrant
from voice_bridge.context import VoiceServices
from voice_bridge.protocol import Close, ProtocolError


def key_from(headers: Headers, start_key: str | None) -> str:
    """`Authorization: Bearer <key>`, `X-Api-Key`, or `api_key` in `start` (browsers can only do the last)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if headers.get("x-api-key", "").strip():
        return headers["x-api-key"].strip()
    if start_key and start_key.strip():
        return start_key.strip()
    raise ProtocolError(Close.BAD_KEY, "send the agent's API key: api_key in start, or Authorization: Bearer")


async def authenticate(platform: VoiceServices, secret: str, agent_id: str) -> KeyGrant:
    """The key's grant: from memory on the event loop when it was verified lately (every turn re-checks
    it, and a thread hop a turn cost more than the check), else from the store in a worker thread."""
    grant = platform.keys.authenticate_cached(secret, agent_id)  # never blocks; refuses as the store would
    if grant is not None:
        return grant
    return await anyio.to_thread.run_sync(_authenticate, platform, secret, agent_id)


def _authenticate(platform: VoiceServices, secret: str, agent_id: str) -> KeyGrant:
    # 4404 for an agent the key's tenant lacks, 4403 for another agent's key: KeyService decides.
    return platform.keys.authenticate_for_agent(secret, agent_id)


def close_for(exc: OratioError) -> Close:
    """The close code an OratioError ends a call with."""
    if isinstance(exc, Unauthenticated):
        return Close.BAD_KEY
    if isinstance(exc, Forbidden):
        return Close.FORBIDDEN
    if isinstance(exc, NotFound):
        return Close.NOT_FOUND
    if isinstance(exc, RateLimited):
        return Close.RATE_LIMITED
    if isinstance(exc, InvalidState):
        return Close.CONFLICT
    if exc.http_status >= 500:
        return Close.INTERNAL
    return Close.POLICY
