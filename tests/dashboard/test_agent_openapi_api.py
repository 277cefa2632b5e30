"""The agent page's OpenAPI import over a real socket: `POST .../openapi/operations` lists a pasted
document's operations through the service MCP's `list_openapi_operations` uses, `POST .../openapi/import`
stores the ticked ones as tools and rebuilds the agent, as MCP's `import_openapi_tools`. Every bad input is a
clear 4xx that stores and starts nothing: a body past its cap (413 naming it), a bad document (422 naming
`spec`), an operation it lacks, a name the agent has (409), another tenant's agent (404), a signed-in
person's write without the CSRF token (403).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dashboard.agent_openapi import MAX_OPENAPI_BODY
from oratio.actions.openapi import DOCUMENT_BYTES_MAX
from tests.dashboard.built_agents import (
    SETTINGS,
    Built,
    acme,
    built,
    person,
    platform,
    platform_models,
    wait_for_builds,
)
from tests.dashboard.test_agent_tools_api import lookup
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.signin import json_post

__all__ = ["acme", "built", "person", "platform", "platform_models"]  # the fixtures of built_agents

ORDERS_API = """openapi: 3.1.0
info: {title: Orders, version: "1"}
servers: [{url: "http://127.0.0.1:9"}]
paths:
  /orders/{order_id}:
    get:
      operationId: getOrder
      summary: Look up an order
      parameters: [{name: order_id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: the order}}
  /orders/{order_id}/cancel:
    post:
      operationId: cancelOrder
      summary: Cancel an order that has not shipped
      parameters: [{name: order_id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: cancelled}}
"""
"""Two operations on the loopback address the tests' operator allows (`LOOPBACK_TOOLS`); nothing calls them."""


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


def _openapi(built: Built, what: str) -> str:
    return f"/api/v1/agents/{built.agent.id}/openapi/{what}"


def _refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert all(word in body["message"] for word in words), body
    return body


def test_listed_operations_are_imported_as_tools_and_the_agent_rebuilt(acme: httpx.Client, built: Built) -> None:
    listed = acme.post(_openapi(built, "operations"), json={"spec": ORDERS_API})
    assert listed.status_code == 200, listed.text
    shown = {
        (op["method"], op["path"], op["summary"], op["write"], op["tool_name"], op["taken"])
        for op in listed.json()["operations"]
    }
    assert shown == {
        ("GET", "/orders/{order_id}", "Look up an order", False, "get_order", False),
        ("POST", "/orders/{order_id}/cancel", "Cancel an order that has not shipped", True, "cancel_order", False),
    }
    assert listed.json()["total"] == 2

    chosen = {"spec": ORDERS_API, "operations": ["getOrder", "POST /orders/{order_id}/cancel"]}
    imported = acme.post(_openapi(built, "import"), json=chosen)
    assert imported.status_code == 202, imported.text
    assert imported.json() == {
        "agent_id": built.agent.id,
        "imported": ["get_order", "cancel_order"],
        "status": "building",
    }
    wait_for_builds(built.agent.id)
    after = acme.get(f"/api/v1/agents/{built.agent.id}").json()
    assert after["agent"]["artifact_version"] == 2, after["build"]
    tools = acme.get(f"/api/v1/agents/{built.agent.id}/tools").json()["tools"]
    assert {(t["name"], t["method"], t["url"], t["write"]) for t in tools} == {
        ("get_order", "GET", "http://127.0.0.1:9/orders/{order_id}", False),
        ("cancel_order", "POST", "http://127.0.0.1:9/orders/{order_id}/cancel", True),
    }
    again = acme.post(_openapi(built, "operations"), json={"spec": ORDERS_API}).json()["operations"]
    assert all(op["taken"] for op in again)  # the page marks names the agent has now


def test_bad_imports_are_clear_4xx_that_change_nothing(http: httpx.Client, built: Built) -> None:
    built.platform.agent_tools.add_tool(built.acme.principal, built.agent.id, lookup())  # get_order is taken
    http.headers.update(built.bearer())
    listing, importing = _openapi(built, "operations"), _openapi(built, "import")

    too_big = _refused(http.post(listing, content=b"x" * (MAX_OPENAPI_BODY + 1)), 413, str(MAX_OPENAPI_BODY))
    assert too_big["error"] == "payload_too_large"
    _refused(http.post(importing, content=b"x" * (MAX_OPENAPI_BODY + 1)), 413, str(MAX_OPENAPI_BODY))
    near_the_cap = {"spec": "# " + "x" * (DOCUMENT_BYTES_MAX - 100) + "\nopenapi: 3.1.0\n"}  # read whole, then parsed
    assert _refused(http.post(listing, json=near_the_cap), 422, "no paths")["field"] == "spec"
    long_spec = {"spec": "a" * (DOCUMENT_BYTES_MAX + 1)}
    assert _refused(http.post(listing, json=long_spec), 422, str(DOCUMENT_BYTES_MAX))["field"] == "spec"
    for bad in ("openapi: [unclosed", "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}", "a: &x [1]\nb: *x"):
        assert _refused(http.post(listing, json={"spec": bad}), 422)["field"] == "spec", bad
        refused = _refused(http.post(importing, json={"spec": bad, "operations": ["getOrder"]}), 422)
        assert refused["field"] == "spec", bad
    _refused(http.post(listing, json={}), 422, "spec")
    _refused(http.post(listing, content=b"{not json"), 422)
    _refused(http.post(importing, json={"spec": ORDERS_API, "operations": []}), 422, "operations")
    _refused(http.post(importing, json={"spec": ORDERS_API, "operations": ["nope"]}), 422, "nope")
    clash = _refused(http.post(importing, json={"spec": ORDERS_API, "operations": ["getOrder"]}), 409, "get_order")
    assert clash["field"] == "operations"
    private = {"spec": ORDERS_API, "operations": ["cancelOrder"], "base_url": "http://10.0.0.5"}
    _refused(http.post(importing, json=private), 422, "address policy")

    http.headers.update(built.bearer(built.globex_token))  # another tenant: the agent is not found
    _refused(http.post(listing, json={"spec": ORDERS_API}), 404, f"agent '{built.agent.id}' was not found")
    _refused(http.post(importing, json={"spec": ORDERS_API, "operations": ["cancelOrder"]}), 404)

    agent = built.platform.agents.get(built.acme.principal, built.agent.id)
    latest = built.platform.creations.latest(agent.tenant_id, agent.id)
    assert agent.artifact_version == 1 and latest is not None and latest.version == 1  # no rebuild was started
    stored = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
    assert [t.name for t in stored] == ["get_order"]


def test_a_signed_in_persons_import_needs_the_csrf_token(person: tuple[httpx.Client, str], built: Built) -> None:
    client, csrf = person
    chosen = {"spec": ORDERS_API, "operations": ["getOrder"]}
    _refused(json_post(client, _openapi(built, "import"), chosen), 403)
    _refused(json_post(client, _openapi(built, "import"), chosen, csrf="wrong"), 403)
    _refused(json_post(client, _openapi(built, "operations"), {"spec": ORDERS_API}), 403)
    assert built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id) == []
    listed = json_post(client, _openapi(built, "operations"), {"spec": ORDERS_API}, csrf=csrf)
    assert listed.status_code == 200 and len(listed.json()["operations"]) == 2
