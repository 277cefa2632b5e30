"""An agent's tools for admins: list, add, update, remove, dry-run, and import from OpenAPI.

Tools are part of the agent's spec (`AgentSpec.tools`), so every change goes through
`AgentService.update` (with `edit_tools`, applied to the stored list inside the write) and the door
then rebuilds the agent through the AgentCreator exactly like an SOP change: the tools that serve are
the reviewed ones in the plan, never the spec's latest edit.

Checked at every add and update, before anything is stored, by the same code the runner trusts
(`oratio.actions.http_tool.vet_http_tool`): a valid draft 2020-12 schema with RE2 regexes and local
references that resolve, URL placeholders that are declared arguments, a URL the address policy allows
whose host resolves (the same policy as webhooks, so an admin learns at once that 10.0.0.5 needs
ORATIO_WEBHOOK_ALLOWED_HOSTS or that a name is mistyped, not at a customer's first call); here too: a
name that is unique and not a built-in's, secret references to secrets that exist, at most
TOOLS_PER_AGENT_MAX tools. A dry run validates with the runner's `ArgumentValidator` and shows the
runner's own request (`preview`).

An MCP server tool has no arguments of its own to try: its test is the AgentCreator's discovery
(`McpDiscovery`, the platform's `McpToolRunner`): a dry run says what would be asked of whom, a send
connects through the same address policy, bearer secret, timeout and byte cap as a build does, lists
the server's tools and checks that every allowed one is there with a usable input schema, so an admin
learns of a mistyped tool name or a dead server before the rebuild does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import anyio.to_thread
from pydantic import TypeAdapter, ValidationError

from oratio.actions import ActionRunner, ToolRequest
from oratio.actions.http_tool import preview, secret_refs, vet_http_tool, vet_url
from oratio.actions.mcp_errors import McpUnavailable
from oratio.actions.openapi import OperationInfo, import_operations, list_operations
from oratio.actions.schema_check import ArgumentValidator
from oratio.errors import Conflict, InvalidInput, InvalidState, NotFound
from oratio.notify.address_policy import Resolver, WebhookPolicy, system_resolver
from oratio.services._common import authorize
from oratio.services.agents import AgentService
from schemas import (
    Agent,
    AgentUpdate,
    HttpTool,
    McpServerTool,
    McpToolSnapshot,
    McpTransport,
    Principal,
    Scope,
    ToolCallStatus,
    ToolTestResult,
)
from schemas.tools import RESERVED_TOOL_NAMES, TOOLS_PER_AGENT_MAX, ToolDefinition

AgentTool = HttpTool | McpServerTool
_TOOL: TypeAdapter[AgentTool] = TypeAdapter(ToolDefinition)


class SecretNames(Protocol):
    """Which secrets a tenant has (`oratio.services.secrets.SecretService`, task A)."""

    def missing(self, tenant_id: str, names: Iterable[str]) -> list[str]: ...


class McpDiscovery(Protocol):
    """Lists an MCP server's allowed tools as a build would (`oratio.actions.mcp_client.McpToolRunner`).

    Raises InvalidInput (a refused address, a missing secret, an allowed tool the server lacks) or
    McpUnavailable (down, slow, too much data)."""

    async def discover(self, tenant_id: str, server: McpServerTool) -> list[McpToolSnapshot]: ...


class ToolService:
    def __init__(
        self,
        agents: AgentService,
        *,
        policy: WebhookPolicy,
        actions: ActionRunner | None = None,
        secrets: SecretNames | None = None,
        resolve: Resolver = system_resolver,
        discovery: McpDiscovery | None = None,
    ) -> None:
        """`discovery`: how an MCP server tool is tried (None: a send is refused as not possible here)."""
        self._agents = agents
        self._discovery = discovery
        self._policy = policy
        self._actions = actions
        self._secrets = secrets
        self._resolve = resolve
        self._validator = ArgumentValidator()

    def check_tools(self, principal: Principal, tools: Sequence[AgentTool]) -> None:
        """The checks of add_tool for tools given whole (`create_agent`'s spec, `update_agent`'s change):
        one check for every door that saves a tool. Raises InvalidInput naming the tool and field."""
        for tool in tools:
            self._check(principal, tool)

    def list_tools(self, principal: Principal, agent_id: str) -> list[AgentTool]:
        return list(self._agents.get(principal, agent_id).spec.tools)

    def add_tool(self, principal: Principal, agent_id: str, tool: AgentTool) -> Agent:
        """Add one tool; refused if an agent tool of that name exists (update_tool changes one)."""
        self._check(principal, tool)

        def edit(tools: list[AgentTool]) -> list[AgentTool]:
            if any(t.name == tool.name for t in tools):
                raise Conflict(f"agent '{agent_id}' already has a tool named '{tool.name}'", field="tool.name")
            return _at_most([*tools, tool])

        return self._agents.update(principal, agent_id, AgentUpdate(), edit_tools=edit)

    def update_tool(self, principal: Principal, agent_id: str, name: str, changes: Mapping[str, Any]) -> Agent:
        """Change the named tool's fields (those given; `name` renames it); checked like a new tool."""
        if not changes:
            raise InvalidInput("nothing to update: give at least one field", field="changes")
        current = _find(self.list_tools(principal, agent_id), name, agent_id)
        merged = {**current.model_dump(), **changes}
        if "method" in changes and "write" not in changes and merged.get("write") is False:
            # A read tool moved to POST/PUT/PATCH/DELETE takes the new method's default (a write); a stored
            # `false` is not the admin's choice about a method they have only just set.
            merged.pop("write")
        try:
            tool = _TOOL.validate_python(merged)
        except ValidationError as exc:
            raise _invalid(exc, "changes") from None
        self._check(principal, tool)

        def edit(tools: list[AgentTool]) -> list[AgentTool]:
            _find(tools, name, agent_id)
            if tool.name != name and any(t.name == tool.name for t in tools):
                raise Conflict(f"agent '{agent_id}' already has a tool named '{tool.name}'", field="changes.name")
            return [tool if t.name == name else t for t in tools]

        return self._agents.update(principal, agent_id, AgentUpdate(), edit_tools=edit)

    def remove_tool(self, principal: Principal, agent_id: str, name: str) -> Agent:
        authorize(principal, Scope.AGENTS_WRITE)

        def edit(tools: list[AgentTool]) -> list[AgentTool]:
            _find(tools, name, agent_id)
            return [t for t in tools if t.name != name]

        return self._agents.update(principal, agent_id, AgentUpdate(), edit_tools=edit)

    def list_openapi_operations(self, principal: Principal, spec_text: str) -> list[OperationInfo]:
        authorize(principal, Scope.AGENTS_READ)
        return list_operations(spec_text)

    def import_openapi(
        self,
        principal: Principal,
        agent_id: str,
        spec_text: str,
        operations: Sequence[str],
        *,
        base_url: str | None = None,
        replace: bool = False,
    ) -> tuple[Agent, list[HttpTool]]:
        """Add the selected operations as tools; `replace` lets them replace same-named tools (else Conflict)."""
        authorize(principal, Scope.AGENTS_WRITE)
        imported = import_operations(spec_text, list(operations), base_url=base_url)
        self.check_tools(principal, imported)

        def edit(tools: list[AgentTool]) -> list[AgentTool]:
            names = {t.name for t in imported}
            taken = sorted(names & {t.name for t in tools})
            if taken and not replace:
                raise Conflict(
                    f"the agent already has tool(s) named {', '.join(taken)[:200]}; import again with replace on "
                    "to overwrite them (MCP: replace=true; the agent page: its Replace box), or leave those "
                    "operations out",
                    field="operations",
                )
            return _at_most([*(t for t in tools if t.name not in names), *imported])

        return self._agents.update(principal, agent_id, AgentUpdate(), edit_tools=edit), imported

    def dry_run(self, principal: Principal, agent_id: str, name: str, arguments: Mapping[str, Any]) -> ToolTestResult:
        """Validate sample arguments against the tool's schema and render the request it would make."""
        authorize(principal, Scope.AGENTS_WRITE)
        tool = self._http_tool(principal, agent_id, name)
        errors = self._validator.errors(tool.parameters, dict(arguments))
        if errors:
            return ToolTestResult(tool=name, valid=False, errors=errors)
        try:
            request = preview(tool, arguments)
        except InvalidInput as exc:  # valid for the schema, but cannot fill the request (a fixed query key)
            return ToolTestResult(tool=name, valid=False, errors=[exc.message])
        return ToolTestResult(tool=name, valid=True, request=request)

    async def test_tool(
        self,
        principal: Principal,
        agent_id: str,
        name: str,
        arguments: Mapping[str, Any],
        *,
        send: bool = False,
        confirm_write: bool = False,
    ) -> ToolTestResult:
        """The dry run; with `send` and valid arguments, the call itself through the ActionRunner.

        A write tool (it changes something) is sent only with confirm_write as well: a test must never
        cancel a real order by accident. Nothing of a test is stored on a session. An MCP server tool is
        checked instead (`try_server`); it takes no arguments.
        """
        authorize(principal, Scope.AGENTS_WRITE)
        found = await anyio.to_thread.run_sync(lambda: _find(self.list_tools(principal, agent_id), name, agent_id))
        if isinstance(found, McpServerTool):
            return await self.try_server(principal, found, send=send)
        result = await anyio.to_thread.run_sync(lambda: self.dry_run(principal, agent_id, name, arguments))
        if not send or not result.valid:
            return result
        tool = await anyio.to_thread.run_sync(lambda: self._http_tool(principal, agent_id, name))
        if tool.write and not confirm_write:
            raise InvalidInput(
                f"'{name}' is a write action (it changes something): pass confirm_write=true to really send it",
                field="confirm_write",
            )
        if self._actions is None:
            raise InvalidState("this server cannot send tool calls yet; run the test with send=false")
        outcome = await self._actions.run(
            ToolRequest(
                tenant_id=principal.tenant_id,
                agent_id=agent_id,
                session_id=None,
                tool=tool,
                arguments=dict(arguments),
                deadline_s=tool.timeout_seconds,
            )
        )
        return result.model_copy(
            update={
                "sent": True,
                "status": outcome.status,
                "result": outcome.content,
                "duration_ms": outcome.duration_ms,
            }
        )

    async def try_server(self, principal: Principal, server: McpServerTool, *, send: bool) -> ToolTestResult:
        """An MCP server tool's test: without `send`, what would be asked (tools/list) of which server;
        with it, the discovery a build runs. A refusal or a server that fails is the answer (`status`
        error, `errors` saying why), not an exception: the admin asked whether the server works."""
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        where = server.url if server.url is not None else f"stdio:{server.server}"
        headers = {"Authorization": f"Bearer {{{{secret:{server.bearer_secret}}}}}"} if server.bearer_secret else {}
        request = {"method": "MCP tools/list", "url": where, "headers": headers, "body": None}
        result = ToolTestResult(tool=server.name, valid=True, request=request)
        if not send:
            return result
        if self._discovery is None:
            raise InvalidState("this server cannot reach MCP servers yet; run the test with send=false")
        try:
            found = await self._discovery.discover(tenant_id, server)
        except (InvalidInput, McpUnavailable) as exc:
            return result.model_copy(
                update={"sent": True, "status": ToolCallStatus.ERROR, "errors": [exc.message], "result": None}
            )
        listed = [{"tool": s.tool, "name": s.name, "write": s.write, "description": s.description} for s in found]
        return result.model_copy(
            update={"sent": True, "status": ToolCallStatus.OK, "result": {"tools": listed}, "discovered": found}
        )

    def _http_tool(self, principal: Principal, agent_id: str, name: str) -> HttpTool:
        tool = _find(self.list_tools(principal, agent_id), name, agent_id)
        if not isinstance(tool, HttpTool):
            raise InvalidInput(
                f"'{name}' is an MCP server; its tools are discovered and checked when the agent is built",
                field="name",
            )
        return tool

    def _check(self, principal: Principal, tool: AgentTool) -> None:
        """Everything about one tool that needs the core; raises InvalidInput naming the field."""
        tenant_id = authorize(principal, Scope.AGENTS_WRITE)
        where = f"tool '{tool.name}'"
        if tool.name in RESERVED_TOOL_NAMES:
            raise InvalidInput(f"'{tool.name}' is a built-in tool's name; pick another", field=f"{where}.name")
        if isinstance(tool, HttpTool):
            vet_http_tool(tool, where, self._policy, self._resolve)
            needed, field = secret_refs(tool.headers), f"{where}.headers"
        else:
            if tool.transport is McpTransport.HTTP and tool.url is not None:
                vet_url(tool.url, where, self._policy, self._resolve)
            # TODO(issue 18, task C): a stdio server must be in the operator's registry (ORATIO_MCP_STDIO_SERVERS).
            needed, field = {tool.bearer_secret} if tool.bearer_secret else set(), f"{where}.bearer_secret"
        # TODO(issue 18, task A): wire Platform.secrets (SecretService.names) in build_services.
        if needed and self._secrets is not None:
            missing = self._secrets.missing(tenant_id, needed)
            if missing:
                raise InvalidInput(
                    f"tool '{tool.name}' refers to secret(s) not set: {', '.join(missing)[:200]}; "
                    "store them with set_secret first",
                    field=field,
                )


def _find(tools: Sequence[AgentTool], name: str, agent_id: str) -> AgentTool:
    for tool in tools:
        if tool.name == name:
            return tool
    raise NotFound(f"agent '{agent_id}' has no tool named '{name[:64]}'")


def _at_most(tools: list[AgentTool]) -> list[AgentTool]:
    if len(tools) > TOOLS_PER_AGENT_MAX:
        raise InvalidInput(f"an agent has at most {TOOLS_PER_AGENT_MAX} tools; remove some first", field="tools")
    return tools


def _invalid(exc: ValidationError, field: str) -> InvalidInput:
    first = exc.errors()[0]
    loc = [str(p) for p in first["loc"]]
    where = ".".join(loc) or field
    more = len(exc.errors()) - 1
    message = f"{field}.{where}: {first['msg']}" + (f" (and {more} more)" if more else "")
    # The field names the tool's own field (`changes.url`, without the union's tag), so a form can show the
    # reason beside it.
    named = loc[1:] if loc[:1] in (["http"], ["mcp"]) else loc
    return InvalidInput(message, field=".".join([field, *named]))
