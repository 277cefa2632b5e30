"""The agent page's API for what reaches an agent: its keys, its tools, the tenant's secrets, the test chat.

- Keys: `GET|POST /api/v1/agents/{id}/keys`, `POST .../keys/{key_id}/revoke`; a minted secret is in the
  201 answer only, and a key of another agent is not revoked through this agent's page (404).
- Tools: list, add, edit, remove and try one (`dashboard.agent_tools`, MCP's tool tools through the same
  `ToolService`); a test that really sends (an MCP server's check too) draws from the test chat's rate limit
  below. OpenAPI import: list a document's operations, import the ticked ones (`dashboard.agent_openapi`).
- Secrets: `GET|POST /api/v1/secrets`, `DELETE /api/v1/secrets/{name}`: names and dates only; a value goes
  in and never comes back out.
- Test chat: `POST /api/v1/agents/{id}/chat` talks to the agent as a test customer through the conversation
  engine (`chat_as_admin`, as MCP's `chat_with_agent`). Chosen over a key minted for the page: no agent
  secret ever reaches the browser, the session is marked as the admin's test and no customer key can
  continue it, and the admin's own authentication (cookie with CSRF, or bearer) guards it. Each tenant's
  test turns are rate-limited like one API key (`ORATIO_KEY_RATE_PER_MINUTE`, `ORATIO_KEY_BURST`), since
  each runs the agent's model.
- Test call: `POST /api/v1/agents/{id}/test-call` mints the key the voice bridge's client page needs (it
  speaks the customer's protocol), for a day at most, revoking the agent's earlier test-call keys; the page
  passes it in the client page's URL fragment, which no server or log sees.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard import agent_http as http
from dashboard.agent_openapi import agent_openapi_routes
from dashboard.agent_tools import agent_tool_routes
from dashboard.credentials import SignInAccess
from oratio.auth.rate_limit import RateLimiter, TokenBucketLimiter
from oratio.config import Settings
from oratio.errors import InvalidState, NotFound
from oratio.http_json import handles_errors
from oratio.runtime import ConversationEngine
from oratio.services import AgentService, KeyService
from oratio.services.agent_tools import ToolService
from oratio.services.creation import AgentBuilder
from oratio.services.secrets import SecretService
from schemas import AgentStatus, AgentType, Identifier, Limits, MintKeyRequest, Model
from schemas._base import Name
from schemas.tools import SECRET_VALUE_MAX

MAX_SECRET_BODY = SECRET_VALUE_MAX * 2 + 1024
"""A secret's value (JSON-escaped, so up to twice as long) and its name."""
KEY_PAGES_SEARCHED = 50
"""Pages of the agent's keys looked through for the key to revoke (200 each)."""
TEST_CALL_KEY = "dashboard test call"
"""The name of the keys the page mints for its test calls; minting one revokes the agent's earlier ones."""


class AgentAccessServices(SignInAccess, Protocol):
    """What these routes use; a `Platform` satisfies it (names are its members')."""

    @property
    def settings(self) -> Settings: ...

    @property
    def agents(self) -> AgentService: ...

    @property
    def keys(self) -> KeyService: ...

    @property
    def agent_tools(self) -> ToolService: ...

    @property
    def secrets(self) -> SecretService: ...

    @property
    def engine(self) -> ConversationEngine: ...

    @property
    def builder(self) -> AgentBuilder | None: ...


class NewKey(Model):
    """The body of `POST /api/v1/agents/{id}/keys` (the agent is the page's)."""

    name: Name
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class NewSecret(Model):
    name: str = Field(min_length=1, max_length=64, description="Checked by SecretService (its message says the rule)")
    value: str = Field(min_length=1, max_length=SECRET_VALUE_MAX)


class ChatMessage(Model):
    """What the admin, as a test customer, says; `session_id` continues an earlier test conversation."""

    message: str = Field(min_length=1, max_length=Limits.TURN_TEXT_MAX)
    session_id: Identifier | None = None


def agent_access_routes(
    platform: AgentAccessServices, public_url: str | None = None, chat_limiter: RateLimiter | None = None
) -> list[BaseRoute]:
    """`chat_limiter`: one bucket per tenant for the test chat (default: an API key's rate and burst)."""
    settings = platform.settings
    limiter = chat_limiter  # not `or`: an empty TokenBucketLimiter has len() 0, so it is falsy
    if limiter is None:
        limiter = TokenBucketLimiter(settings.key_rate_per_minute, settings.key_burst)
    api = _AgentAccessApi(platform, public_url, limiter)
    base = "/api/v1/agents/{agent_id}"
    return [
        Route(f"{base}/keys", handles_errors(api.keys), methods=["GET", "POST"]),
        Route(f"{base}/keys/{{key_id}}/revoke", handles_errors(api.revoke_key), methods=["POST"]),
        Route(f"{base}/chat", handles_errors(api.chat), methods=["POST"]),
        Route(f"{base}/test-call", handles_errors(api.test_call), methods=["POST"]),
        Route("/api/v1/secrets", handles_errors(api.secrets), methods=["GET", "POST"]),
        Route("/api/v1/secrets/{name}", handles_errors(api.delete_secret), methods=["DELETE"]),
        *agent_tool_routes(platform, public_url, limiter),
        *agent_openapi_routes(platform, public_url),
    ]


class _AgentAccessApi:
    def __init__(self, platform: AgentAccessServices, public_url: str | None, limiter: RateLimiter) -> None:
        self._p = platform
        self._public_url = public_url
        self._limiter = limiter

    async def keys(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        keys = self._p.keys
        if request.method == "POST":
            new = await http.body(request, NewKey, 1024)
            mint = MintKeyRequest(agent_id=agent_id, name=new.name, ttl_days=new.ttl_days)
            minted = await http.run(lambda: keys.mint(principal, mint))
            # The one time the secret leaves the platform; the page shows it once and forgets it.
            return JSONResponse({"key": http.dump(minted.key), "secret": minted.reveal()}, status_code=201)
        agent = await http.run(lambda: self._p.agents.get(principal, agent_id))  # 404 for an unknown agent
        page = await http.run(lambda: keys.list(principal, agent_id=agent.id, limit=Limits.PAGE_SIZE_MAX))
        return JSONResponse({"keys": [http.dump(k) for k in page.items], "next_cursor": page.next_cursor})

    async def revoke_key(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        key_id = http.path_id(request, "key_id")
        keys = self._p.keys

        def revoke() -> Response:
            self._p.agents.get(principal, agent_id)  # another tenant's agent: 404 as the agent, like every route
            cursor: str | None = None
            for _ in range(KEY_PAGES_SEARCHED):
                page = keys.list(principal, agent_id=agent_id, limit=Limits.PAGE_SIZE_MAX, cursor=cursor)
                if any(k.id == key_id for k in page.items):
                    return JSONResponse(http.dump(keys.revoke(principal, key_id)))
                cursor = page.next_cursor
                if cursor is None:
                    break
            raise NotFound(f"agent '{agent_id}' has no key '{key_id}'", field="key_id")

        return await http.run(revoke)

    async def chat(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        said = await http.body(request, ChatMessage, Limits.TURN_TEXT_MAX * 2 + 1024)
        self._limiter.check(f"test-chat:{principal.tenant_id}")
        result = await self._p.engine.chat_as_admin(principal, agent_id, said.session_id, said.message)
        return JSONResponse(http.dump(result))

    async def test_call(self, request: Request) -> Response:
        """A key for one test call from the voice bridge's client page, which speaks only the customer's
        protocol (an agent key). It lives a day at most (the shortest key there is), and minting the next
        revokes the agent's earlier test-call keys, so at most one is ever live; it shows in the key list.
        Rate-limited with the test chat."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        self._limiter.check(f"test-chat:{principal.tenant_id}")
        keys = self._p.keys

        def mint() -> str:
            agent = self._p.agents.get(principal, agent_id)
            if agent.status is not AgentStatus.ACTIVE:
                raise InvalidState(f"agent '{agent_id}' is {agent.status.value}; only an active agent takes calls")
            if agent.spec.agent_type is AgentType.TEXT:
                raise InvalidState(f"agent '{agent_id}' is a text agent; make it a voice (or both) agent to call it")
            page = keys.list(principal, agent_id=agent_id, limit=Limits.PAGE_SIZE_MAX)
            for key in page.items:
                if key.name == TEST_CALL_KEY and key.revoked_at is None:
                    keys.revoke(principal, key.id)
            wanted = MintKeyRequest(agent_id=agent_id, name=TEST_CALL_KEY, ttl_days=1)
            return keys.mint(principal, wanted).reveal()

        secret = await http.run(mint)
        return JSONResponse({"agent_id": agent_id, "secret": secret, "client": "/voice/client"}, status_code=201)

    async def secrets(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        secrets = self._p.secrets
        if request.method == "POST":
            new = await http.body(request, NewSecret, MAX_SECRET_BODY)
            return JSONResponse(http.dump(await http.run(lambda: secrets.put(principal, new.name, new.value))), 201)
        found = await http.run(lambda: secrets.list(principal))
        return JSONResponse({"secrets": [http.dump(s) for s in found]})

    async def delete_secret(self, request: Request) -> Response:
        principal = await http.principal(self._p, request, self._public_url)
        name = str(request.path_params["name"])[:100]
        return JSONResponse(http.dump(await http.run(lambda: self._p.secrets.delete(principal, name))))
