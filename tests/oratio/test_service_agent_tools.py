"""ToolService: an agent's tools added, changed, removed, dry-run and imported, all through AgentService.update."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from oratio.actions import ToolOutcome, ToolRequest
from oratio.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from oratio.notify.address_policy import WebhookPolicy
from oratio.platform import Platform
from oratio.services.agent_tools import ToolService
from schemas import Agent, AgentUpdate, HttpTool, McpServerTool, Scope, ToolCallStatus
from tests.support.tenants import Tenancy, create_agent, events, narrow

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).parent.parent / "actions" / "openapi_corpus"
ADDRESSES = {"api.shop.example": ["93.184.215.14"], "internal.shop.example": ["10.0.0.5"]}


def resolve(host: str, port: int) -> Sequence[str]:
    """DNS for these tests: public and private names, and one that does not resolve."""
    if host not in ADDRESSES:
        raise OSError(f"{host} did not resolve")
    return ADDRESSES[host]


class Secrets:
    """A tenant's secret names (the SecretResolver side of task A's SecretService)."""

    def __init__(self, names: set[str]) -> None:
        self._names = names

    def missing(self, tenant_id: str, names: Iterable[str]) -> list[str]:
        return sorted(set(names) - self._names)


class RecordingRunner:
    """An ActionRunner that records the requests it gets and answers one outcome."""

    def __init__(self) -> None:
        self.requests: list[ToolRequest] = []

    async def run(self, request: ToolRequest) -> ToolOutcome:
        self.requests.append(request)
        return ToolOutcome(status=ToolCallStatus.OK, content={"status": "shipped"}, summary="shipped", duration_ms=12.5)


@pytest.fixture
def runner() -> RecordingRunner:
    return RecordingRunner()


def service(
    platform: Platform, runner: RecordingRunner | None = None, *, policy: WebhookPolicy | None = None
) -> ToolService:
    return ToolService(
        platform.agents,
        policy=policy or WebhookPolicy(),
        actions=runner,
        secrets=Secrets({"SHOP_TOKEN", "BEARER_AUTH"}),
        resolve=resolve,
    )


@pytest.fixture
def tools(platform: Platform, runner: RecordingRunner) -> ToolService:
    return service(platform, runner)


@pytest.fixture
def agent(platform: Platform, acme: Tenancy) -> Agent:
    return create_agent(platform, acme)


def lookup(**fields: Any) -> HttpTool:
    return HttpTool.model_validate(
        {
            "name": "get_order",
            "description": "Look up an order by its id",
            "url": "https://api.shop.example/orders/{order_id}",
            "parameters": {
                "type": "object",
                "properties": {
                    "order_id": {"type": "string", "pattern": "^A[0-9]{3}$"},
                    "verbose": {"type": "boolean"},
                    "pin": {"type": "string"},
                },
                "required": ["order_id"],
                "additionalProperties": False,
            },
            "headers": {"Authorization": "Bearer {{secret:SHOP_TOKEN}}"},
            "sensitive_arguments": ["pin"],
            **fields,
        }
    )


def cancel() -> HttpTool:
    return lookup(
        name="cancel_order",
        description="Cancel an order that has not shipped",
        method="POST",
        url="https://api.shop.example/orders/{order_id}/cancel",
        write=True,
    )


def test_add_tool_stores_it_on_the_spec_through_agent_update(
    tools: ToolService, platform: Platform, acme: Tenancy, agent: Agent
) -> None:
    updated = tools.add_tool(acme.principal, agent.id, lookup())

    assert updated.spec.tools == [lookup()]
    assert tools.list_tools(acme.principal, agent.id) == [lookup()]
    assert platform.agents.get(acme.principal, agent.id).spec.tools == [lookup()]
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == ("agent.updated", agent.id, {"fields": ["tools"]})


def test_agent_update_takes_tools_directly(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    updated = platform.agents.update(acme.principal, agent.id, AgentUpdate(tools=[lookup()]))
    assert updated.spec.tools == [lookup()]

    cleared = platform.agents.update(acme.principal, agent.id, AgentUpdate(tools=[]))
    assert cleared.spec.tools == []


def test_a_name_is_unique_and_never_a_builtins(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())

    with pytest.raises(Conflict, match="already has a tool named 'get_order'"):
        tools.add_tool(acme.principal, agent.id, lookup(description="Another lookup of orders"))
    server = McpServerTool(name="end_session", url="https://api.shop.example/mcp", allowed_tools=["x"])
    with pytest.raises(InvalidInput, match="built-in tool's name"):
        tools.add_tool(acme.principal, agent.id, server)


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"type": "object", "properties": {"a": {"type": "nope"}}},
            "tool 'get_order'.parameters.properties.a.type: not valid JSON Schema (draft 2020-12)",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?=a)b"}}},
            "tool 'get_order'.parameters.properties.a.pattern: not a linear-time (RE2) regex",
        ),
        (
            {"type": "object", "patternProperties": {"(a)\\1": {}}},
            "tool 'get_order'.parameters.patternProperties['(a)\\\\1']: not a linear-time (RE2) regex",
        ),
    ],
)
def test_a_schema_is_checked_naming_the_place(
    tools: ToolService, acme: Tenancy, agent: Agent, parameters: dict[str, Any], expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        tools.add_tool(acme.principal, agent.id, lookup(parameters=parameters))
    assert caught.value.message.startswith(expected)
    assert caught.value.field == "tool 'get_order'.parameters"
    assert tools.list_tools(acme.principal, agent.id) == []


def test_the_address_policy_applies_at_add_time(platform: Platform, acme: Tenancy, agent: Agent) -> None:
    tools = service(platform)

    for url, reason in [
        ("http://127.0.0.1:8080/orders", "refused by the address policy (the same as for webhooks): tool host 127"),
        ("https://internal.shop.example/orders", "tool host internal.shop.example resolves to a private or reserved"),
        # Decided: a host that does not resolve is refused at save (the admin learns now, not at a call).
        ("https://nowhere.shop.example/orders", "the host nowhere.shop.example does not resolve from this server"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            tools.add_tool(acme.principal, agent.id, lookup(url=url))
        assert caught.value.message.startswith("tool 'get_order'.url: ") and reason in caught.value.message
        assert caught.value.field == "tool 'get_order'.url"
        assert "webhook" not in caught.value.message.split("(the same as for webhooks)")[-1]
    server = McpServerTool(name="crm", url="http://10.1.2.3/mcp", allowed_tools=["find_customer"])
    with pytest.raises(InvalidInput, match="address policy"):
        tools.add_tool(acme.principal, agent.id, server)

    allowed = service(platform, policy=WebhookPolicy.of(False, "internal.shop.example"))
    allowed.add_tool(acme.principal, agent.id, lookup(url="https://internal.shop.example/orders"))
    assert [t.name for t in allowed.list_tools(acme.principal, agent.id)] == ["get_order"]


def test_secret_references_must_exist(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    with pytest.raises(InvalidInput, match="secret\\(s\\) not set: NOPE_TOKEN; store them with set_secret"):
        tools.add_tool(acme.principal, agent.id, lookup(headers={"X-Key": "{{secret:NOPE_TOKEN}}"}))
    server = McpServerTool(
        name="crm", url="https://api.shop.example/mcp", bearer_secret="CRM_TOKEN", allowed_tools=["a"]
    )
    with pytest.raises(InvalidInput, match="CRM_TOKEN"):
        tools.add_tool(acme.principal, agent.id, server)

    tools.add_tool(acme.principal, agent.id, lookup())  # SHOP_TOKEN exists


def test_at_most_thirty_tools(tools: ToolService, platform: Platform, acme: Tenancy, agent: Agent) -> None:
    many = [lookup(name=f"tool_{i:02d}") for i in range(30)]
    platform.agents.update(acme.principal, agent.id, AgentUpdate(tools=many))

    with pytest.raises(InvalidInput, match="at most 30 tools"):
        tools.add_tool(acme.principal, agent.id, lookup(name="one_more"))


def test_moving_a_read_tool_to_post_makes_it_a_write_unless_write_is_given(
    tools: ToolService, acme: Tenancy, agent: Agent
) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())

    [moved] = tools.update_tool(acme.principal, agent.id, "get_order", {"method": "POST"}).spec.tools
    assert isinstance(moved, HttpTool) and moved.write is True
    [kept] = tools.update_tool(acme.principal, agent.id, "get_order", {"method": "PUT", "write": False}).spec.tools
    assert isinstance(kept, HttpTool) and kept.write is False


def test_update_tool_changes_the_fields_given(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())
    tools.add_tool(acme.principal, agent.id, cancel())

    updated = tools.update_tool(acme.principal, agent.id, "get_order", {"timeout_seconds": 3, "name": "find_order"})

    assert [t.name for t in updated.spec.tools] == ["find_order", "cancel_order"]
    found = updated.spec.tools[0]
    assert isinstance(found, HttpTool) and found.timeout_seconds == 3 and found.url == lookup().url
    with pytest.raises(Conflict, match="already has a tool named 'cancel_order'"):
        tools.update_tool(acme.principal, agent.id, "find_order", {"name": "cancel_order"})
    with pytest.raises(NotFound, match="no tool named 'get_order'"):
        tools.update_tool(acme.principal, agent.id, "get_order", {"timeout_seconds": 4})
    with pytest.raises(InvalidInput) as caught:
        tools.update_tool(acme.principal, agent.id, "find_order", {"timeout_seconds": 99})
    assert caught.value.message.startswith("changes.http.timeout_seconds: ")
    with pytest.raises(InvalidInput, match="address policy"):
        tools.update_tool(acme.principal, agent.id, "find_order", {"url": "http://127.0.0.1/x"})
    with pytest.raises(InvalidInput, match="nothing to update"):
        tools.update_tool(acme.principal, agent.id, "find_order", {})


def test_remove_tool(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())
    tools.add_tool(acme.principal, agent.id, cancel())

    assert [t.name for t in tools.remove_tool(acme.principal, agent.id, "get_order").spec.tools] == ["cancel_order"]
    with pytest.raises(NotFound):
        tools.remove_tool(acme.principal, agent.id, "get_order")


def test_scopes_and_tenants(tools: ToolService, acme: Tenancy, globex: Tenancy, agent: Agent) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())
    reader = narrow(acme, Scope.AGENTS_READ)

    assert [t.name for t in tools.list_tools(reader, agent.id)] == ["get_order"]
    with pytest.raises(Forbidden):
        tools.add_tool(reader, agent.id, cancel())
    with pytest.raises(Forbidden):
        tools.remove_tool(reader, agent.id, "get_order")
    with pytest.raises(NotFound):
        tools.list_tools(globex.principal, agent.id)
    with pytest.raises(NotFound):
        tools.remove_tool(globex.principal, agent.id, "get_order")


async def test_a_dry_run_validates_and_shows_the_runners_request_with_secrets_unread(
    tools: ToolService, runner: RecordingRunner, acme: Tenancy, agent: Agent
) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())

    result = await tools.test_tool(
        acme.principal, agent.id, "get_order", {"order_id": "A123", "verbose": True, "pin": "4242"}
    )

    assert (result.valid, result.sent, result.errors) == (True, False, [])
    assert result.request == {
        "method": "GET",
        "url": "https://api.shop.example/orders/A123?verbose=true&pin=%5Bredacted%5D",  # pin is sensitive
        "headers": {
            "User-Agent": "Oratio-Tools/1",
            "Accept": "application/json, text/*;q=0.5",
            "Authorization": "Bearer {{secret:SHOP_TOKEN}}",  # the reference, never the value
        },
        "body": None,
    }
    assert runner.requests == []


async def test_a_dry_run_reports_every_invalid_argument(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())

    result = await tools.test_tool(acme.principal, agent.id, "get_order", {"order_id": "B1", "colour": "red"})

    assert not result.valid and result.request is None and not result.sent
    assert result.errors == [
        "unexpected arguments: 'colour'; the tool takes only the arguments its schema declares (retry without them)",
        "order_id: 'B1' does not match ^A[0-9]{3}$",
    ]


async def test_send_calls_the_action_runner_with_the_exact_arguments(
    tools: ToolService, runner: RecordingRunner, acme: Tenancy, agent: Agent
) -> None:
    tools.add_tool(acme.principal, agent.id, lookup())

    result = await tools.test_tool(acme.principal, agent.id, "get_order", {"order_id": "A123"}, send=True)

    assert (result.sent, result.status, result.result, result.duration_ms) == (
        True,
        ToolCallStatus.OK,
        {"status": "shipped"},
        12.5,
    )
    [request] = runner.requests
    assert (request.tenant_id, request.agent_id, request.session_id) == (acme.tenant_id, agent.id, None)
    assert request.tool == lookup() and dict(request.arguments) == {"order_id": "A123"}


async def test_a_write_tool_is_sent_only_with_confirm_write(
    tools: ToolService, runner: RecordingRunner, acme: Tenancy, agent: Agent
) -> None:
    tools.add_tool(acme.principal, agent.id, cancel())

    dry = await tools.test_tool(acme.principal, agent.id, "cancel_order", {"order_id": "A123"})
    assert dry.request is not None and dry.request["body"] == {} and dry.request["method"] == "POST"
    with pytest.raises(InvalidInput, match="write action .* confirm_write=true"):
        await tools.test_tool(acme.principal, agent.id, "cancel_order", {"order_id": "A123"}, send=True)
    assert runner.requests == []

    sent = await tools.test_tool(
        acme.principal, agent.id, "cancel_order", {"order_id": "A123"}, send=True, confirm_write=True
    )
    assert sent.sent and len(runner.requests) == 1


async def test_send_without_a_runner_and_mcp_tools_are_clear_errors(
    platform: Platform, acme: Tenancy, agent: Agent
) -> None:
    tools = service(platform, None)
    tools.add_tool(acme.principal, agent.id, lookup())
    tools.add_tool(
        acme.principal, agent.id, McpServerTool(name="crm", url="https://api.shop.example/mcp", allowed_tools=["a"])
    )

    with pytest.raises(InvalidState, match="send=false"):
        await tools.test_tool(acme.principal, agent.id, "get_order", {"order_id": "A123"}, send=True)
    dry = await tools.test_tool(acme.principal, agent.id, "crm", {})  # an MCP server: what would be asked of whom
    assert (dry.valid, dry.sent, dry.request) == (
        True,
        False,
        {"method": "MCP tools/list", "url": "https://api.shop.example/mcp", "headers": {}, "body": None},
    )
    with pytest.raises(InvalidState, match="cannot reach MCP servers"):  # no discovery attached
        await tools.test_tool(acme.principal, agent.id, "crm", {}, send=True)
    with pytest.raises(NotFound):
        await tools.test_tool(acme.principal, agent.id, "nope", {})


def test_import_openapi_adds_the_selected_operations(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    text = (CORPUS / "orders31.json").read_text()
    tools.add_tool(acme.principal, agent.id, lookup(name="find_order"))

    updated, imported = tools.import_openapi(
        acme.principal, agent.id, text, ["get-order", "cancelOrder"], base_url="https://api.shop.example/v2"
    )

    assert [t.name for t in imported] == ["get_order", "cancel_order"]
    assert updated.spec.tools == [lookup(name="find_order"), *imported]
    assert [t.write for t in imported] == [False, True]


def test_import_openapi_conflicts_unless_replace(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    text = (CORPUS / "orders31.json").read_text()
    tools.add_tool(acme.principal, agent.id, lookup())

    with pytest.raises(Conflict, match="already has tool\\(s\\) named get_order; import again with replace on"):
        tools.import_openapi(acme.principal, agent.id, text, ["get-order"], base_url="https://api.shop.example/v2")
    assert tools.list_tools(acme.principal, agent.id) == [lookup()]

    updated, _ = tools.import_openapi(
        acme.principal,
        agent.id,
        text,
        ["get-order", "cancelOrder"],
        base_url="https://api.shop.example/v2",
        replace=True,
    )
    by_name = {t.name: t for t in updated.spec.tools}
    assert sorted(by_name) == ["cancel_order", "get_order"]
    assert isinstance(by_name["get_order"], HttpTool)
    assert by_name["get_order"].url == "https://api.shop.example/v2/orders/{id}"


def test_import_openapi_checks_like_add(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    text = (CORPUS / "petstore30.yaml").read_text()

    with pytest.raises(InvalidInput, match="does not resolve"):
        tools.import_openapi(acme.principal, agent.id, text, ["listPets"])  # eu.pets.example: no DNS here
    with pytest.raises(InvalidInput, match="secret\\(s\\) not set: SHOP_KEY"):
        tools.import_openapi(acme.principal, agent.id, text, ["listPets"], base_url="https://api.shop.example")
    with pytest.raises(InvalidInput, match="OpenAPI 3.x only"):
        tools.import_openapi(acme.principal, agent.id, '{"swagger": "2.0"}', ["x"])
    assert tools.list_tools(acme.principal, agent.id) == []


def test_list_openapi_operations_needs_a_read_scope(tools: ToolService, acme: Tenancy) -> None:
    text = (CORPUS / "orders31.json").read_text()

    assert len(tools.list_openapi_operations(narrow(acme, Scope.AGENTS_READ), text)) == 4
    with pytest.raises(Forbidden):
        tools.list_openapi_operations(narrow(acme, Scope.SESSIONS_READ), text)


def test_a_remote_ref_is_refused(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    parameters = {"type": "object", "properties": {"a": {"$ref": "https://schemas.example/a.json"}}}

    with pytest.raises(InvalidInput, match="properties.a.\\$ref: only local references"):
        tools.add_tool(acme.principal, agent.id, lookup(parameters=parameters))


def test_a_local_ref_that_points_nowhere_is_refused_at_save(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    parameters = {"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}}

    with pytest.raises(InvalidInput) as caught:
        tools.add_tool(acme.principal, agent.id, lookup(parameters=parameters, headers={}))

    assert caught.value.message == (
        "tool 'get_order'.parameters.properties.a.$ref: '#/$defs/nope' does not point at anything in this schema"
    )
    assert tools.list_tools(acme.principal, agent.id) == []


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("#/$defs/nope", "the tool cannot be called: the tool's schema.properties.a.$ref: '#/$defs/nope' does not"),
        ("#/properties/a", "too complex to check against the tool's schema"),
    ],
)
async def test_a_dry_run_on_a_broken_local_ref_is_an_error_not_a_crash(
    tools: ToolService, platform: Platform, acme: Tenancy, agent: Agent, ref: str, expected: str
) -> None:
    parameters = {"type": "object", "properties": {"a": {"$ref": ref}}}
    # Stored without the ToolService's check (a spec written before it), so the dry run meets it.
    platform.agents.update(acme.principal, agent.id, AgentUpdate(tools=[lookup(parameters=parameters, headers={})]))

    result = await tools.test_tool(acme.principal, agent.id, "get_order", {"a": 1})

    assert not result.valid and result.errors[0].startswith(expected)


async def test_a_dry_run_that_cannot_fill_the_request_is_invalid_not_an_error(
    tools: ToolService, acme: Tenancy, agent: Agent
) -> None:
    parameters = {"type": "object", "properties": {"order_id": {"type": "string"}, "scope": {"type": "string"}}}
    tools.add_tool(
        acme.principal,
        agent.id,
        lookup(url="https://api.shop.example/orders/{order_id}?scope=read", parameters=parameters),
    )

    missing = await tools.test_tool(acme.principal, agent.id, "get_order", {})
    fixed = await tools.test_tool(acme.principal, agent.id, "get_order", {"order_id": "A1", "scope": "admin"})

    assert (missing.valid, missing.errors) == (False, ["order_id is required (it goes in the URL)"])
    assert (fixed.valid, fixed.errors) == (False, ["scope is fixed by the tool and cannot be sent as an argument"])


def test_concurrent_changes_are_all_kept(tools: ToolService, acme: Tenancy, agent: Agent) -> None:
    """Each change is applied to the stored tool list inside the write, so racing admins lose nothing."""
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def add(i: int) -> None:
        barrier.wait(timeout=10)
        try:
            tools.add_tool(acme.principal, agent.id, lookup(name=f"tool_{i}"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    assert sorted(t.name for t in tools.list_tools(acme.principal, agent.id)) == [f"tool_{i}" for i in range(4)]
