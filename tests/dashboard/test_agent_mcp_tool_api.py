"""An MCP server tool on the agent page's routes, over a real socket and against a real MCP server process
(tests/support/mcp_test_server.py): Edit (`PATCH .../tools/{name}`) changes the fields `update_agent_tool` takes
for kind "mcp" and rebuilds the agent; Try it (`POST .../tools/{name}/test`) is a dry run that says what would
be asked of which server, or, sent, the discovery a build runs (address policy, bearer secret, timeout): each
allowed tool with its input schema, or why the server cannot be used. Bad edits are 4xx naming the field,
another tenant's agent 404.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from schemas import McpServerTool
from tests.dashboard.built_agents import SETTINGS, Built, acme, built, platform, platform_models, wait_for_builds
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.mcp_test_server import serving_http

__all__ = ["acme", "built", "platform", "platform_models"]  # the fixtures of built_agents

TOKEN = secrets.token_urlsafe(24)


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


@pytest.fixture(scope="module")
def mcp_port() -> Iterator[int]:
    """One MCP server process (bearer `TOKEN`) for the module's tests."""
    with serving_http(TOKEN) as port:
        yield port


def orders_server(port: int, **changes: Any) -> McpServerTool:
    fields: dict[str, Any] = {
        "kind": "mcp",
        "name": "orders",
        "description": "The orders desk's MCP server",
        "url": f"http://127.0.0.1:{port}/mcp",
        "bearer_secret": "ORDERS_MCP_TOKEN",
        "allowed_tools": ["find_order", "cancel_order"],
        "read_only_tools": ["find_order"],
        "timeout_seconds": 30,  # the most there is: a loaded machine's slow answer is not a failed check or build
    }
    return McpServerTool.model_validate(fields | changes)


def given_server(built: Built, server: McpServerTool, token: str = TOKEN) -> None:
    """The tenant's bearer secret set, and the agent has `server` among its tools (no rebuild awaited)."""
    built.platform.secrets.put(built.acme.principal, "ORDERS_MCP_TOKEN", token)
    built.platform.agent_tools.add_tool(built.acme.principal, built.agent.id, server)


def _test(built: Built, name: str = "orders") -> str:
    return f"/api/v1/agents/{built.agent.id}/tools/{name}/test"


def _refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert all(word in body["message"] for word in words), body
    return body


def test_try_it_checks_an_mcp_server_as_a_build_would(acme: httpx.Client, built: Built, mcp_port: int) -> None:
    given_server(built, orders_server(mcp_port))
    dry = acme.post(_test(built), json={})
    assert dry.status_code == 200, dry.text
    assert (dry.json()["valid"], dry.json()["sent"]) == (True, False)
    assert dry.json()["request"]["method"] == "MCP tools/list"
    assert dry.json()["request"]["url"] == f"http://127.0.0.1:{mcp_port}/mcp"
    assert dry.json()["request"]["headers"] == {"Authorization": "Bearer {{secret:ORDERS_MCP_TOKEN}}"}
    assert TOKEN not in dry.text

    sent = acme.post(_test(built), json={"send": True})
    assert sent.status_code == 200, sent.text
    assert (sent.json()["sent"], sent.json()["status"]) == (True, "ok"), sent.json()["errors"]
    found = {t["tool"]: t for t in sent.json()["discovered"]}
    assert set(found) == {"find_order", "cancel_order"}
    assert (found["find_order"]["write"], found["cancel_order"]["write"]) == (False, True)
    assert found["find_order"]["name"] == "orders_find_order"
    assert "order_id" in found["find_order"]["parameters"]["properties"]
    assert TOKEN not in sent.text

    missing = orders_server(mcp_port, name="typo", allowed_tools=["find_order", "find_ordr"], read_only_tools=[])
    built.platform.agent_tools.add_tool(built.acme.principal, built.agent.id, missing)
    wrong = acme.post(_test(built, "typo"), json={"send": True}).json()
    assert (wrong["sent"], wrong["status"], wrong["discovered"]) == (True, "error", None)
    assert "find_ordr" in wrong["errors"][0]

    built.platform.secrets.put(built.acme.principal, "ORDERS_MCP_TOKEN", "not-the-token")
    refused = acme.post(_test(built), json={"send": True}).json()
    assert refused["status"] == "error" and "could not be reached or answered badly" in refused["errors"][0]


def test_an_mcp_server_tool_is_edited_and_bad_edits_are_4xx(http: httpx.Client, built: Built, mcp_port: int) -> None:
    given_server(built, orders_server(mcp_port))
    http.headers.update(built.bearer())
    one = f"/api/v1/agents/{built.agent.id}/tools/orders"
    field = _refused(http.patch(one, json={"changes": {"url": "http://10.0.0.5/mcp"}}), 422, "address policy")["field"]
    assert field.endswith(".url")
    timeout = _refused(http.patch(one, json={"changes": {"timeout_seconds": 99}}), 422)
    assert timeout["field"] == "changes.timeout_seconds"
    _refused(http.patch(one, json={"changes": {"read_only_tools": ["zzz"]}}), 422, "zzz")
    _refused(http.patch(one, json={"changes": {"bearer_secret": "NOT_SET"}}), 422, "NOT_SET")
    _refused(http.post(_test(built), json={"arguments": "x"}), 422)
    http.headers.update(built.bearer(built.globex_token))
    _refused(http.patch(one, json={"changes": {"timeout_seconds": 5}}), 404)
    _refused(http.post(_test(built), json={"send": True}), 404)
    assert built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id) == [orders_server(mcp_port)]

    http.headers.update(built.bearer())
    changes = {"allowed_tools": ["find_order"], "read_only_tools": ["find_order"], "timeout_seconds": 25}
    edited = http.patch(one, json={"changes": changes})
    assert edited.status_code == 202, edited.text
    wait_for_builds(built.agent.id)
    [stored] = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
    assert stored == orders_server(mcp_port, **changes)
    after = http.get(f"/api/v1/agents/{built.agent.id}").json()
    assert after["agent"]["artifact_version"] == 2, after["build"]
