"""The agent page's tool routes over a real socket: Edit (`PATCH .../tools/{name}`, MCP's `update_agent_tool`)
rebuilds the agent with the change, Try it (`POST .../tools/{name}/test`, MCP's `test_agent_tool`) shows the
request a call would send and, sent for real, what the endpoint answered. Every bad input is a clear 4xx
naming its field that stores and starts nothing, another tenant's agent is 404, and a signed-in person's
writes need the CSRF token.

Builds go through the offline AgentCreator on the background thread the route starts; the tests wait for it
with a bound and read outcomes (the serving version, the stored tool), never the order of events.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from schemas import HttpTool
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
from tests.support.actions import LOOPBACK_TOOLS
from tests.support.signin import json_post
from tests.support.tool_server import tool_server

__all__ = ["acme", "built", "person", "platform", "platform_models"]  # the fixtures of built_agents

TOOL_URL = "http://127.0.0.1:9/orders/{order_id}"
"""A loopback address the operator allowed (`LOOPBACK_TOOLS`); a dry run never calls it."""


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


def lookup(url: str = TOOL_URL, **changes: Any) -> HttpTool:
    fields: dict[str, Any] = {
        "name": "get_order",
        "description": "Look up an order by its id: its status and delivery date.",
        "method": "GET",
        "url": url,
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{3,8}$"}},
            "required": ["order_id"],
        },
    }
    return HttpTool.model_validate({**fields, **changes})


def _tools(built: Built) -> str:
    return f"/api/v1/agents/{built.agent.id}/tools"


def _given(built: Built, tool: HttpTool) -> None:
    """The agent has `tool` in its spec (as a tool added earlier, without waiting for that rebuild)."""
    built.platform.agent_tools.add_tool(built.acme.principal, built.agent.id, tool)


def _refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert all(word in body["message"] for word in words), body
    return body


def test_an_edited_tool_rebuilds_the_agent_with_every_field_the_service_takes(acme: httpx.Client, built: Built) -> None:
    _given(built, lookup())
    changes = {
        "name": "find_order",
        "timeout_seconds": 5,
        "max_response_bytes": 2000,
        "sensitive_arguments": ["order_id"],
        "write": True,
    }
    edited = acme.patch(f"{_tools(built)}/get_order", json={"changes": changes})
    assert edited.status_code == 202, edited.text
    assert edited.json() == {
        "agent_id": built.agent.id,
        "updated": "get_order",
        "name": "find_order",
        "status": "building",
    }
    wait_for_builds(built.agent.id)

    after = acme.get(f"/api/v1/agents/{built.agent.id}").json()
    assert after["agent"]["artifact_version"] == 2, after["build"]
    assert "find_order" in str(after["plan"]["actions"])
    [stored] = acme.get(_tools(built)).json()["tools"]
    assert {k: stored[k] for k in changes} == changes
    assert stored["url"] == TOOL_URL  # what the change did not name is kept


def test_bad_edits_and_trials_are_clear_4xx_that_change_nothing(http: httpx.Client, built: Built) -> None:
    _given(built, lookup())
    _given(built, lookup(name="cancel_order", method="POST", url="http://127.0.0.1:9/orders/{order_id}/cancel"))
    http.headers.update(built.bearer())
    one = f"{_tools(built)}/get_order"
    field = _refused(http.patch(one, json={"changes": {"url": "http://10.0.0.5/x"}}), 422, "address policy")["field"]
    assert field.endswith(".url")
    assert (
        _refused(http.patch(one, json={"changes": {"timeout_seconds": 99}}), 422)["field"] == "changes.timeout_seconds"
    )
    assert _refused(http.patch(one, json={"changes": {"colour": "blue"}}), 422)["field"] == "changes.colour"
    assert _refused(http.patch(one, json={"changes": {"headers": {"X-Api-Key": "pasted-123"}}}), 422, "secret")
    _refused(http.patch(one, json={"changes": {"name": "cancel_order"}}), 409, "already has a tool")
    _refused(http.patch(one, json={"changes": {}}), 422, "nothing to update")
    _refused(http.patch(one, json={}), 422)
    _refused(http.patch(one, content=b"{not json"), 422)
    _refused(http.patch(one, content=b"x" * (70 * 1024)), 413)
    _refused(http.patch(f"{_tools(built)}/{'n' * 65}", json={"changes": {"timeout_seconds": 5}}), 422)
    _refused(http.patch(f"{_tools(built)}/no_such_tool", json={"changes": {"timeout_seconds": 5}}), 404)
    _refused(http.patch("/api/v1/agents/not a valid id!/tools/get_order", json={"changes": {"write": True}}), 422)

    test = f"{one}/test"
    _refused(http.post(test, json={"arguments": "A123"}), 422)
    _refused(http.post(test, json={"arguments": {"order_id": "A123"}, "colour": 1}), 422)
    _refused(http.post(test, json={"arguments": {"x": "y" * 9000}}), 422, "8000")
    _refused(http.post(test, content=b"x" * (20 * 1024)), 413)
    _refused(http.post(f"{_tools(built)}/no_such_tool/test", json={}), 404)
    write = {"arguments": {"order_id": "A123"}, "send": True}
    _refused(http.post(f"{_tools(built)}/cancel_order/test", json=write), 422, "confirm_write")

    http.headers.update(built.bearer(built.globex_token))  # another tenant: the agent is not found, whatever the route
    for method, path, body in [
        ("GET", _tools(built), None),
        ("PATCH", one, {"changes": {"timeout_seconds": 5}}),
        ("POST", test, {"arguments": {"order_id": "A123"}}),
        ("DELETE", one, None),
    ]:
        refused = _refused(http.request(method, path, json=body), 404)
        assert f"agent '{built.agent.id}' was not found" in refused["message"], (method, path)

    agent = built.platform.agents.get(built.acme.principal, built.agent.id)
    latest = built.platform.creations.latest(agent.tenant_id, agent.id)
    assert agent.artifact_version == 1 and latest is not None and latest.version == 1  # no rebuild was started
    stored = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
    assert [t.model_dump() for t in stored] == [
        lookup().model_dump(),
        lookup(name="cancel_order", method="POST", url="http://127.0.0.1:9/orders/{order_id}/cancel").model_dump(),
    ]


def test_try_it_shows_the_request_and_sent_for_real_what_came_back(acme: httpx.Client, built: Built) -> None:
    with tool_server() as server:
        schema = lookup().parameters
        noted = {**schema, "properties": {**schema["properties"], "note": {"type": "string"}}}
        _given(built, lookup(server.url("/orders/{order_id}"), parameters=noted, sensitive_arguments=["note"]))
        test = f"{_tools(built)}/get_order/test"
        dry = acme.post(test, json={"arguments": {"order_id": "A123", "note": "card 4111"}})
        assert dry.status_code == 200, dry.text
        request = dry.json()["request"]
        assert request is not None, dry.json()["errors"]
        assert (dry.json()["valid"], dry.json()["sent"]) == (True, False)
        assert request["method"] == "GET" and request["url"].startswith(server.url("/orders/A123"))
        assert "4111" not in dry.text  # a sensitive argument is redacted in what the page shows
        assert server.requests == []  # a dry run sends nothing

        wrong = acme.post(test, json={"arguments": {"order_id": "nope"}}).json()
        assert wrong["valid"] is False and wrong["errors"] and wrong["request"] is None

        sent = acme.post(test, json={"arguments": {"order_id": "A123"}, "send": True})
        assert sent.status_code == 200, sent.text
        assert (sent.json()["sent"], sent.json()["status"]) == (True, "ok")
        assert "shipped" in str(sent.json()["result"])
        assert [r.path for r in server.requests] == ["/orders/A123"]


def test_a_signed_in_persons_tool_writes_need_the_csrf_token(person: tuple[httpx.Client, str], built: Built) -> None:
    _given(built, lookup())
    client, csrf = person
    origin = {"Origin": str(client.base_url).rstrip("/")}
    one = f"{_tools(built)}/get_order"
    for headers in (origin, {**origin, "X-CSRF-Token": "wrong"}):
        _refused(client.patch(one, json={"changes": {"timeout_seconds": 5}}, headers=headers), 403)
    _refused(json_post(client, f"{one}/test", {"arguments": {"order_id": "A123"}}), 403)
    _refused(json_post(client, f"{one}/test", {"arguments": {"order_id": "A123"}}, csrf="wrong"), 403)
    [stored] = built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id)
    assert stored.timeout_seconds == 10.0
    tried = json_post(client, f"{one}/test", {"arguments": {"order_id": "A123"}}, csrf=csrf)
    assert tried.status_code == 200 and tried.json()["valid"] is True
