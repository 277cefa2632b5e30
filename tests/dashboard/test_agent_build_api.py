"""Building an agent's abilities from the dashboard over a real socket: HTTP tools declared in the creation
form and added on the agent page (the same checks as MCP's `add_agent_tool`: schema, address policy,
secrets by name), the admin's own test scenarios and a re-run that holds them, and a document uploaded on
the agent page that the live agent answers from. Bad input is a clear 4xx that stores nothing, another
tenant's agent is 404, and a signed-in person's writes need the CSRF token.

Builds go through the offline AgentCreator on the background thread the routes start; the tests wait for
it with a bound, and read outcomes (the serving version, the stored tools), never the order of events.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.agent_admin_support import join_build
from tests.dashboard.built_agents import (
    SETTINGS,
    SOP,
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

__all__ = ["acme", "built", "person", "platform", "platform_models"]  # the fixtures of built_agents

TOOL_URL = "http://127.0.0.1:9/orders/{order_id}"
"""A loopback address the operator allowed (`ORATIO_WEBHOOK_ALLOWED_HOSTS`, `LOOPBACK_TOOLS`); never called here."""
HOURS = b"# Opening hours\n\nThe Desk is open from 7 in the morning to 11 at night, Tuesday to Sunday.\n"


def lookup(**changes: Any) -> dict[str, Any]:
    """An order lookup as the page sends it: MCP's `add_agent_tool` shape."""
    tool: dict[str, Any] = {
        "name": "get_order",
        "description": "Look up an order by its id: its status and delivery date.",
        "method": "GET",
        "url": TOOL_URL,
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{3,8}$"}},
            "required": ["order_id"],
        },
    }
    tool.update(changes)
    return tool


SCENARIO: dict[str, Any] = {
    "id": "asks_for_a_manager",
    "name": "A customer who asks for a manager is handed off",
    "customer_messages": ["I want to speak to a manager"],
    "assertions": [{"kind": "handed_off"}],
}


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {**SETTINGS, **LOOPBACK_TOOLS}


def _agent(built: Built) -> str:
    return f"/api/v1/agents/{built.agent.id}"


def _refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert all(word in body["message"] for word in words), body
    return body


def _form(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Orders desk", "sop": SOP, "channels": ["text"]}
    body.update(changes)
    return body


# -- tools in the creation form ---------------------------------------------------------------------------------


def test_tools_declared_in_the_creation_form_are_part_of_the_built_agent(acme: httpx.Client, built: Built) -> None:
    assert acme.post("/api/v1/secrets", json={"name": "ORDERS_TOKEN", "value": "t0ken"}).status_code == 201
    tool = lookup(headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"})
    created = acme.post("/api/v1/agents", json=_form(tools=[tool]))
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    join_build(agent_id)

    progress = acme.get(f"/api/v1/agents/{agent_id}/creation").json()
    assert progress["state"] == "live", progress
    [stored] = acme.get(f"/api/v1/agents/{agent_id}/tools").json()["tools"]
    assert (stored["name"], stored["url"], stored["write"]) == ("get_order", TOOL_URL, False)
    assert stored["headers"] == {"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"}  # the reference, not the value
    plan = acme.get(f"/api/v1/agents/{agent_id}").json()["plan"]
    assert "get_order" in str(plan["actions"])  # the reviewed plan serves it, not only the spec


@pytest.mark.parametrize(
    ("tool", "field", "words"),
    [
        (lookup(url="http://10.0.0.5/orders/{order_id}"), "tool 'get_order'.url", ("address policy",)),
        (lookup(url="http://169.254.169.254/latest/{order_id}"), "tool 'get_order'.url", ("address policy",)),
        (lookup(headers={"Authorization": "Bearer abc123pasted"}), None, ("secret",)),
        (lookup(headers={"Authorization": "Bearer {{secret:NOT_SET}}"}), None, ("NOT_SET",)),
        (lookup(name="knowledge_search"), None, ("built-in",)),
        (
            lookup(parameters={"type": "object", "properties": {"order_id": {"type": "string", "pattern": "(?=a)"}}}),
            None,
            ("order_id",),
        ),
        (lookup(url="https://api.example.com/orders/{missing}"), None, ("missing",)),
    ],
)
def test_a_tool_mcp_would_refuse_is_refused_by_the_creation_form_and_stores_nothing(
    acme: httpx.Client, built: Built, tool: dict[str, Any], field: str | None, words: tuple[str, ...]
) -> None:
    before = acme.get("/api/v1/agents").json()["agents"]
    refused = _refused(acme.post("/api/v1/agents", json=_form(tools=[tool])), 422, *words)
    if field is not None:
        assert refused["field"] == field
    assert acme.get("/api/v1/agents").json()["agents"] == before


def test_malformed_tool_lists_in_the_creation_form_are_422_naming_the_tool(acme: httpx.Client, built: Built) -> None:
    twice = _refused(acme.post("/api/v1/agents", json=_form(tools=[lookup(), lookup()])), 422)
    assert "two tools are named 'get_order'" in twice["message"]
    no_url = _refused(
        acme.post(
            "/api/v1/agents", json=_form(tools=[{"name": "lookup", "description": "Look up an order by its id"}])
        ),
        422,
    )
    assert no_url["field"] == "tools.0.url"
    _refused(acme.post("/api/v1/agents", json=_form(tools="get_order")), 422)
    many = [lookup(name=f"tool_{n}") for n in range(31)]
    _refused(acme.post("/api/v1/agents", json=_form(tools=many)), 422, "30")
    mcp = {"kind": "mcp", "name": "desk", "description": "A desk MCP server", "url": "https://mcp.example.com/mcp"}
    _refused(acme.post("/api/v1/agents", json=_form(tools=[mcp])), 422)  # the form declares HTTP tools only
    assert [a["name"] for a in acme.get("/api/v1/agents").json()["agents"]] == ["Desk"]


# -- tools on the agent page ------------------------------------------------------------------------------------


def test_a_tool_added_on_the_agent_page_rebuilds_the_agent_with_it(acme: httpx.Client, built: Built) -> None:
    added = acme.post(f"{_agent(built)}/tools", json={"tool": lookup()})
    assert added.status_code == 202, added.text
    assert added.json() == {"agent_id": built.agent.id, "added": "get_order", "status": "building"}
    wait_for_builds(built.agent.id)

    after = acme.get(_agent(built)).json()
    assert after["agent"]["artifact_version"] == 2, after["build"]
    assert "get_order" in str(after["plan"]["actions"])
    assert [t["name"] for t in acme.get(f"{_agent(built)}/tools").json()["tools"]] == ["get_order"]
    _refused(acme.post(f"{_agent(built)}/tools", json={"tool": lookup()}), 409, "already has a tool")


def test_a_bad_tool_on_the_agent_page_is_a_clear_4xx_and_changes_nothing(acme: httpx.Client, built: Built) -> None:
    path = f"{_agent(built)}/tools"
    assert _refused(acme.post(path, json={"tool": lookup(url="http://10.0.0.5/x")}), 422, "address policy")
    _refused(acme.post(path, json={"tool": lookup(headers={"X-Api-Key": "pasted-key-123"})}), 422, "secret")
    _refused(acme.post(path, json={"tool": lookup(name="Bad Name")}), 422)
    _refused(acme.post(path, json={}), 422)
    _refused(acme.post(path, content=b"{not json"), 422)
    _refused(acme.post(path, content=b"x" * (70 * 1024)), 413)
    _refused(acme.post("/api/v1/agents/not a valid id!/tools", json={"tool": lookup()}), 422)
    _refused(acme.post("/api/v1/agents/agt_unknown/tools", json={"tool": lookup()}), 404)
    agent = acme.get(_agent(built)).json()
    assert (agent["agent"]["artifact_version"], agent["build"]) == (1, None)  # no rebuild started
    assert acme.get(path).json()["tools"] == []


# -- scenarios --------------------------------------------------------------------------------------------------


def test_an_admin_scenario_is_added_and_held_by_the_next_run(acme: httpx.Client, built: Built) -> None:
    added = acme.post(f"{_agent(built)}/scenarios", json={"scenario": SCENARIO})
    assert added.status_code == 201, added.text
    assert (added.json()["id"], added.json()["origin"]) == ("asks_for_a_manager", "admin")
    scenarios = acme.get(f"{_agent(built)}/simulations").json()["scenarios"]
    assert "asks_for_a_manager" in [s["id"] for s in scenarios]

    ran = acme.post(f"{_agent(built)}/simulations")
    assert ran.status_code == 201, ran.text
    [result] = [r for r in ran.json()["report"]["results"] if r["scenario_id"] == "asks_for_a_manager"]
    assert result["passed"], result
    shown = acme.get(f"{_agent(built)}/simulations").json()["report"]
    assert "asks_for_a_manager" in [r["scenario_id"] for r in shown["results"]]
    _refused(acme.post(f"{_agent(built)}/scenarios", json={"scenario": SCENARIO}), 409, "already has a scenario")


def test_a_bad_scenario_is_a_clear_422(acme: httpx.Client, built: Built) -> None:
    path = f"{_agent(built)}/scenarios"
    assert _refused(acme.post(path, json={"scenario": {**SCENARIO, "id": "Bad Id"}}), 422)["field"] == "scenario.id"
    _refused(acme.post(path, json={"scenario": {**SCENARIO, "customer_messages": []}}), 422, "customer_messages")
    _refused(acme.post(path, json={"scenario": {**SCENARIO, "assertions": []}}), 422)
    _refused(acme.post(path, json={"scenario": {**SCENARIO, "assertions": [{"kind": "sang"}]}}), 422)
    _refused(acme.post(path, json={}), 422)
    _refused(acme.post(path, content=b"x" * (70 * 1024)), 413)
    ids = [s["id"] for s in acme.get(f"{_agent(built)}/simulations").json()["scenarios"]]
    assert "asks_for_a_manager" not in ids


# -- a document uploaded on the agent page reaches the live agent -----------------------------------------------


def test_a_document_uploaded_on_the_agent_page_is_answered_from_by_the_live_agent(
    acme: httpx.Client, built: Built
) -> None:
    question = {"message": "When is the Desk open?"}
    before = acme.post(f"{_agent(built)}/chat", json=question).json()["reply"]
    assert "11 at night" not in before

    uploaded = acme.post(f"{_agent(built)}/documents", files={"file": ("hours.md", HOURS, "text/markdown")})
    assert uploaded.status_code == 201, uploaded.text
    assert built.platform.documents.wait_settled(built.acme.principal, built.agent.id, 60.0) == []
    [document] = acme.get(f"{_agent(built)}/documents").json()["documents"]
    assert document["status"] == "ready", document

    answer = acme.post(f"{_agent(built)}/chat", json=question).json()
    assert "11 at night" in answer["reply"] and "hours.md" in answer["reply"], answer
    assert [s["document_name"] for s in answer["sources"]][:1] == ["hours.md"]
    assert acme.get(_agent(built)).json()["agent"]["artifact_version"] == 1  # no rebuild: the live index


# -- tenancy and CSRF -------------------------------------------------------------------------------------------


def test_another_tenants_agent_takes_no_tool_and_no_scenario(http: httpx.Client, built: Built) -> None:
    http.headers.update(built.bearer(built.globex_token))
    for path, body in [
        (f"{_agent(built)}/tools", {"tool": lookup()}),
        (f"{_agent(built)}/scenarios", {"scenario": SCENARIO}),
    ]:
        refused = _refused(http.post(path, json=body), 404)
        assert f"agent '{built.agent.id}' was not found" in refused["message"], path
    acme = built.acme.principal
    assert built.platform.agent_tools.list_tools(acme, built.agent.id) == []
    assert "asks_for_a_manager" not in [s.id for s in built.platform.simulations.scenarios(acme, built.agent.id)]
    # Globex's own agent does take them, and Acme's sees none of it.
    own = http.post(f"/api/v1/agents/{built.globex_agent.id}/scenarios", json={"scenario": SCENARIO})
    assert own.status_code == 201, own.text
    assert "asks_for_a_manager" not in [s.id for s in built.platform.simulations.scenarios(acme, built.agent.id)]


def test_a_signed_in_persons_new_writes_need_the_csrf_token(person: tuple[httpx.Client, str], built: Built) -> None:
    client, csrf = person
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"{_agent(built)}/tools", {"tool": lookup()}),
        (f"{_agent(built)}/scenarios", {"scenario": SCENARIO}),
        ("/api/v1/agents", _form(tools=[lookup()])),
    ]
    for path, body in writes:
        _refused(json_post(client, path, body), 403)
        _refused(json_post(client, path, body, csrf="wrong"), 403)
    assert built.platform.agent_tools.list_tools(built.acme.principal, built.agent.id) == []
    added = json_post(client, f"{_agent(built)}/scenarios", {"scenario": SCENARIO}, csrf=csrf)
    assert added.status_code == 201, added.text
