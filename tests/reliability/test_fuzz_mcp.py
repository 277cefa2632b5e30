"""Every MCP tool, called with arguments generated from its own inputSchema (and with garbage).

Each call answers within a bound with either a result or a tool error whose text a model can act
on: Oratio's `code: message`, the SDK's argument validation, or "Unknown tool". Anything else (a
bare exception's text, a 5xx-like code such as `backend_unavailable` or `config_error`) fails, and
the server must still serve a plain call afterwards. Ids of real records, both tenants', are mixed
into every `*_id` argument so the calls reach past validation into the services.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import Tool

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from schemas import Channel
from tests.reliability.doors import tool_error
from tests.reliability.strategies import from_schema, garbage
from tests.reliability.world import new_side, reliability_platform

CALL_TIMEOUT_S = 20.0
ACCEPTED = re.compile(
    r"Error executing tool \w+: ("
    r"(invalid_input|not_found|conflict|invalid_state|forbidden|unauthenticated|rate_limited|model_unavailable): \S"
    r"|\d+ validation errors? for \w+Arguments"
    r")"
    r"|Unknown tool: \S",
    re.DOTALL,
)
# Destructive tools go last, so the records the others aim at exist while they run.
TOOLS = (
    "get_agent",
    "list_agents",
    "get_creation_records",
    "get_agent_plan",
    "diff_agent_plan",
    "edit_agent_plan",
    "create_agent",
    "update_agent",
    "retry_creation",
    "pause_agent",
    "resume_agent",
    "upload_document",
    "list_documents",
    "get_document",
    "reingest_document",
    "search_knowledge",
    "mint_api_key",
    "list_api_keys",
    "list_sessions",
    "list_live_sessions",
    "get_session",
    "get_session_analysis",
    "export_sessions",
    "list_notifications",
    "mark_notification_read",
    "acknowledge_handoff",
    "take_over_session",
    "send_human_message",
    "return_session_to_agent",
    "list_deliveries",
    "retry_delivery",
    "chat_with_agent",
    "list_scenarios",
    "add_scenario",
    "set_scenario_critical",
    "get_simulation_report",
    "run_simulations",
    "list_admins",
    "enable_admin",
    "disable_admin",
    "revoke_admin_tokens",
    "create_service_account",
    "list_service_accounts",
    "list_agent_tools",
    "add_agent_tool",
    "update_agent_tool",
    "test_agent_tool",
    "list_openapi_operations",
    "import_openapi_tools",
    "remove_agent_tool",
    "set_secret",
    "list_secrets",
    "revoke_api_key",
    "revoke_service_account",
    "close_session",
    "delete_secret",
    "delete_document",
    "delete_agent",
)


@dataclass(frozen=True)
class Fuzzing:
    portal: BlockingPortal
    client: Client
    tools: dict[str, Tool]
    ids: list[str]


@pytest.fixture(scope="module")
def fuzzing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzing]:
    with reliability_platform(tmp_path_factory.mktemp("fuzz-mcp")) as platform:
        acme, globex = new_side(platform, "Acme"), new_side(platform, "Globex")
        ids = [acme.agent.id, acme.key_id, globex.agent.id, globex.key_id, acme.admin.id, globex.admin.id]
        for side in (acme, globex):
            ids += [d.id for d in platform.documents.list(side.principal, side.agent.id).items]
            handed = platform.engine.turn(side.tenant_id, side.agent.id, None, "I want a person", Channel.TEXT)
            ids.append(handed.session_id)
            ids += [n.id for n in platform.notifications.list(side.principal).items]
        with (
            start_blocking_portal(backend="asyncio") as portal,
            portal.wrap_async_context_manager(Client(build_server(platform, OperatorPrincipal(acme.principal)))) as c,
        ):
            listed = portal.call(c.list_tools)
            yield Fuzzing(portal, c, {tool.name: tool for tool in listed.tools}, ids)


def test_every_listed_tool_is_fuzzed(fuzzing: Fuzzing) -> None:
    assert sorted(fuzzing.tools) == sorted(TOOLS)


def call(fuzzing: Fuzzing, tool: str, arguments: Any) -> str | None:
    async def bounded() -> str | None:
        with anyio.fail_after(CALL_TIMEOUT_S):
            result = await fuzzing.client.call_tool(tool, arguments)
        return tool_error(result)

    return fuzzing.portal.call(bounded)


@pytest.mark.parametrize("tool", TOOLS)
def test_generated_arguments_get_a_result_or_a_clear_tool_error(fuzzing: Fuzzing, tool: str) -> None:
    schema = fuzzing.tools[tool].input_schema
    # The client sends only objects; other JSON in `arguments` is fuzzed over raw HTTP (test_fuzz_http).
    valid = from_schema(schema, ids=fuzzing.ids, valid=True)
    bent = from_schema(schema, ids=fuzzing.ids).filter(lambda value: isinstance(value, dict))
    arguments = st.one_of(valid, valid, bent, st.dictionaries(st.text(max_size=12), garbage, max_size=4))

    @given(arguments=arguments)
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def run(arguments: Any) -> None:
        error = call(fuzzing, tool, arguments)
        assert error is None or ACCEPTED.match(error), f"{tool}({str(arguments)[:300]}) -> {error[:1000]}"

    run()
    # The server is whole afterwards.
    assert call(fuzzing, "list_agents", {}) is None
