"""The agent page's OpenAPI import: list a pasted document's operations, import the ticked ones as tools.

MCP's `list_openapi_operations` and `import_openapi_tools`, through the same service
(`ToolService.list_openapi_operations`, `ToolService.import_openapi`), so the page parses nothing itself
and checks nothing MCP does not: the document's bounds (size, depth, nodes, no YAML aliases or tags), each
imported tool checked like a new one (schema, address policy, secrets by reference), a name the agent
already has refused (409) unless `replace`, at most `TOOLS_PER_AGENT_MAX` tools.

- `POST /api/v1/agents/{id}/openapi/operations` `{spec}`: the operations (method, path, summary, whether
  it is a write, the tool name it would get and whether the agent has a tool of that name already).
- `POST /api/v1/agents/{id}/openapi/import` `{spec, operations, base_url?, replace?}`: store them and
  rebuild the agent (202), as the page's Add a tool.

The body is at most `MAX_OPENAPI_BODY` bytes (413 naming the limit), the document itself at most
`DOCUMENT_BYTES_MAX` UTF-8 bytes (422 naming it). Parsing runs on a worker thread, off the event loop.
Another tenant's agent is 404, for the listing too (it reads the agent first).
"""

from __future__ import annotations

from typing import Protocol

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard import agent_http as http
from dashboard.credentials import SignInAccess
from oratio.actions.openapi import DOCUMENT_BYTES_MAX
from oratio.errors import InvalidState
from oratio.http_json import handles_errors
from oratio.services.agent_tools import ToolService
from oratio.services.creation import AgentBuilder, start_in_background
from schemas import Model
from schemas.tools import TOOLS_PER_AGENT_MAX

__all__ = ["MAX_OPENAPI_BODY", "OPERATIONS_SHOWN", "agent_openapi_routes"]

MAX_OPENAPI_BODY = 2 * DOCUMENT_BYTES_MAX + 64 * 1024
"""The document JSON-escaped (its newlines and quotes doubled) and the selection."""
OPERATIONS_SHOWN = 300
"""As MCP's `list_openapi_operations`: the page lists at most this many (and says how many there are)."""
NO_BUILDER = "this server has no AgentCreator attached, so the agent cannot be rebuilt with imported tools here"


class OpenApiAccess(SignInAccess, Protocol):
    """What these routes use; a `Platform` satisfies it."""

    @property
    def agent_tools(self) -> ToolService: ...

    @property
    def builder(self) -> AgentBuilder | None: ...


class OpenApiDocument(Model):
    """`POST .../openapi/operations`: the pasted or picked document, JSON or YAML."""

    spec: str = Field(min_length=1, max_length=DOCUMENT_BYTES_MAX)


class OpenApiImport(OpenApiDocument):
    """`POST .../openapi/import`: the document and the operations ticked (operationIds or "METHOD /path")."""

    operations: list[str] = Field(min_length=1, max_length=TOOLS_PER_AGENT_MAX)
    base_url: str | None = Field(default=None, max_length=2048)
    replace: bool = False


def agent_openapi_routes(platform: OpenApiAccess, public_url: str | None) -> list[BaseRoute]:
    api = _OpenApi(platform, public_url)
    base = "/api/v1/agents/{agent_id}/openapi"
    return [
        Route(f"{base}/operations", handles_errors(api.operations), methods=["POST"]),
        Route(f"{base}/import", handles_errors(api.import_tools), methods=["POST"]),
    ]


class _OpenApi:
    def __init__(self, platform: OpenApiAccess, public_url: str | None) -> None:
        self._p = platform
        self._public_url = public_url

    async def operations(self, request: Request) -> Response:
        """The document's operations to tick; `taken` marks a name the agent already has (an import of
        it would be refused unless it replaces)."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        document = await http.body(request, OpenApiDocument, MAX_OPENAPI_BODY)
        tools = self._p.agent_tools
        existing = await http.run(lambda: {t.name for t in tools.list_tools(principal, agent_id)})
        found = await http.run(lambda: tools.list_openapi_operations(principal, document.spec))
        shown = [{**http.dump(op), "taken": op.tool_name in existing} for op in found[:OPERATIONS_SHOWN]]
        return JSONResponse({"agent_id": agent_id, "operations": shown, "total": len(found)})

    async def import_tools(self, request: Request) -> Response:
        """Store the ticked operations as tools and rebuild the agent (202); a refusal stores nothing."""
        principal = await http.principal(self._p, request, self._public_url)
        agent_id = http.path_id(request, "agent_id")
        chosen = await http.body(request, OpenApiImport, MAX_OPENAPI_BODY)
        tools = self._p.agent_tools
        await http.run(lambda: tools.list_tools(principal, agent_id))  # another tenant's agent: 404 before all else
        builder = self._p.builder
        if builder is None:
            raise InvalidState(NO_BUILDER)
        agent, imported = await http.run(
            lambda: tools.import_openapi(
                principal,
                agent_id,
                chosen.spec,
                chosen.operations,
                base_url=chosen.base_url or None,
                replace=chosen.replace,
            )
        )
        start_in_background(builder, agent.tenant_id, agent.id)
        names = [tool.name for tool in imported]
        return JSONResponse({"agent_id": agent.id, "imported": names, "status": "building"}, status_code=202)
