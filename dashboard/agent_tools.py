"""The agent page's tool routes: list, add, edit, remove and try one of an agent's tools.

Each write is MCP's tool of the same job, through the same service (`ToolService`), so the dashboard
checks nothing MCP does not and misses nothing it does (schema, address policy, secrets by name, a name
that is free):

- `GET /api/v1/agents/{id}/tools`: the agent's tools (header values show `{{secret:NAME}}`, never a value).
- `POST .../tools` `{tool}`: `add_agent_tool`; `PATCH .../tools/{name}` `{changes}`: `update_agent_tool`
  (the fields given; `name` renames); `DELETE .../tools/{name}`: `remove_agent_tool`. Each stores the
  change and rebuilds the agent on a background thread (202): the serving version serves until the
  rebuilt one passes review and tests, and a refused change stores nothing and starts nothing.
- `POST .../tools/{name}/test` `{arguments, send?, confirm_write?}`: `test_agent_tool`. A dry run by
  default (the arguments checked against the tool's schema, the request the runner would send, secrets
  masked); `send` makes the call through the ActionRunner (the address policy at connect time, the tool's
  timeout and response cap), and a write tool needs `confirm_write` as well. Sends share the test chat's
  per-tenant rate limit, since each reaches an endpoint outside the platform.

Another tenant's agent is 404 (the service reads the agent as the admin), an unknown tool 404, a bad
name, body or field 422 naming it, a body past its cap 413.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard import agent_http as http
from dashboard.credentials import SignInAccess
from oratio.auth.rate_limit import RateLimiter
from oratio.errors import InvalidInput, InvalidState
from oratio.http_json import handles_errors
from oratio.services.agent_tools import ToolService
from oratio.services.creation import AgentBuilder, start_in_background
from schemas import HttpTool, Model
from schemas.tools import ARGUMENTS_JSON_MAX, check_json_size

__all__ = ["MAX_TOOL_BODY", "NO_BUILDER", "agent_tool_routes"]

NO_BUILDER = "this server has no AgentCreator attached, so the agent cannot be rebuilt with its tools changed here"
MAX_TOOL_BODY = 64 * 1024
"""One HTTP tool: a schema of at most 16,000 characters (JSON-escaped), a response schema, headers, a description."""
MAX_TRIAL_BODY = ARGUMENTS_JSON_MAX * 2 + 1024
"""Sample arguments (JSON-escaped, so up to twice as long) and the two flags."""


class ToolAccess(SignInAccess, Protocol):
    """What these routes use; a `Platform` satisfies it (names are its members')."""

    @property
    def agent_tools(self) -> ToolService: ...

    @property
    def builder(self) -> AgentBuilder | None: ...


class NewTool(Model):
    """The body of `POST /api/v1/agents/{id}/tools`: one HTTP tool, as MCP's `add_agent_tool` takes it."""

    tool: HttpTool


class ToolChanges(Model):
    """The body of `PATCH .../tools/{name}`: the fields to change, as MCP's `update_agent_tool` takes them.

    The service merges them into the stored tool and checks the result like a new tool, so an unknown
    field or a bad value is refused there, naming it."""

    changes: dict[str, Any]

    @field_validator("changes")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_size(value, limit=MAX_TOOL_BODY, what="the changes")


class ToolTrial(Model):
    """The body of `POST .../tools/{name}/test`, as MCP's `test_agent_tool` takes it."""

    arguments: dict[str, Any] = Field(default_factory=dict)
    send: bool = False
    confirm_write: bool = False

    @field_validator("arguments")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_json_size(value, limit=ARGUMENTS_JSON_MAX, what="the arguments")


def agent_tool_routes(platform: ToolAccess, public_url: str | None, limiter: RateLimiter) -> list[BaseRoute]:
    """`limiter`: the test chat's per-tenant bucket, which a tool test that really sends also draws from."""
    api = _ToolsApi(platform, public_url, limiter)
    base = "/api/v1/agents/{agent_id}/tools"
    return [
        Route(base, handles_errors(api.tools), methods=["GET", "POST"]),
        Route(f"{base}/{{name}}", handles_errors(api.tool), methods=["PATCH", "DELETE"]),
        Route(f"{base}/{{name}}/test", handles_errors(api.test), methods=["POST"]),
    ]


def _tool_name(request: Request) -> str:
    name = str(request.path_params["name"])
    if not 1 <= len(name) <= 64:
        raise InvalidInput("a tool's name is 1 to 64 characters", field="name")
    return name


class _ToolsApi:
    def __init__(self, platform: ToolAccess, public_url: str | None, limiter: RateLimiter) -> None:
        self._p = platform
        self._public_url = public_url
        self._limiter = limiter

    async def tools(self, request: Request) -> Response:
        """GET: the agent's tools. POST: add one and rebuild the agent: 202, the rebuild runs on (the page
        follows the agent's events); a tool the service refuses stores nothing and starts nothing (422, 409
        for a name the agent has)."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        if request.method == "POST":
            new = await http.body(request, NewTool, MAX_TOOL_BODY)
            builder = self._builder()
            agent = await http.run(lambda: self._p.agent_tools.add_tool(principal, agent_id, new.tool))
            start_in_background(builder, agent.tenant_id, agent.id)
            return JSONResponse({"agent_id": agent.id, "added": new.tool.name, "status": "building"}, status_code=202)
        tools = await http.run(lambda: self._p.agent_tools.list_tools(principal, agent_id))
        return JSONResponse({"agent_id": agent_id, "tools": [http.dump(t) for t in tools]})

    async def tool(self, request: Request) -> Response:
        """PATCH: change the tool's fields; DELETE: take it away. Either rebuilds the agent (202)."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        name = _tool_name(request)
        tools = self._p.agent_tools
        if request.method == "PATCH":
            edit = await http.body(request, ToolChanges, MAX_TOOL_BODY)
            builder = self._builder()
            agent = await http.run(lambda: tools.update_tool(principal, agent_id, name, edit.changes))
            start_in_background(builder, agent.tenant_id, agent.id)
            renamed = str(edit.changes.get("name", name))
            answer = {"agent_id": agent.id, "updated": name, "name": renamed, "status": "building"}
            return JSONResponse(answer, status_code=202)
        builder = self._builder()
        agent = await http.run(lambda: tools.remove_tool(principal, agent_id, name))
        start_in_background(builder, agent.tenant_id, agent.id)
        return JSONResponse({"agent_id": agent.id, "removed": name, "status": "building"}, status_code=202)

    async def test(self, request: Request) -> Response:
        """Try the tool with sample arguments: MCP's `test_agent_tool`, nothing of it stored on a session.
        A schema error is a 200 with `valid: false` and the errors (the answer the admin asked for), as MCP's."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        name = _tool_name(request)
        trial = await http.body(request, ToolTrial, MAX_TRIAL_BODY)
        if trial.send:
            self._limiter.check(f"test-chat:{principal.tenant_id}")
        result = await self._p.agent_tools.test_tool(
            principal, agent_id, name, trial.arguments, send=trial.send, confirm_write=trial.confirm_write
        )
        return JSONResponse(http.dump(result))

    def _builder(self) -> AgentBuilder:
        builder = self._p.builder
        if builder is None:
            raise InvalidState(NO_BUILDER)
        return builder
