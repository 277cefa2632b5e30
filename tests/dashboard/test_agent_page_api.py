"""The agent page's API over a real socket: read an agent and its plan, edit it into a new version, diff,
restore, pause and resume, simulations, keys, tools, secrets and the test chat; bad input is a clear 4xx,
another tenant's agent is 404, and a signed-in person's writes need the CSRF token.

Edits and restores go through the offline AgentCreator (review, test conversations, deploy), on the
background thread the route starts; the tests wait for it with a bound.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard.agent_access import TEST_CALL_KEY, agent_access_routes
from oratio.auth.rate_limit import TokenBucketLimiter
from oratio.platform import Platform
from schemas import AgentType, AgentUpdate
from tests.dashboard.built_agents import (
    Built,
    acme,
    built,
    person,
    platform,
    platform_models,
    platform_settings,
    wait_for_builds,
)
from tests.support.signin import json_post

# The fixtures of built_agents.
__all__ = ["acme", "built", "person", "platform", "platform_models", "platform_settings"]

NEW_CLOSING = "Thanks for visiting the Desk, see you soon!"


def _agent(built: Built) -> str:
    return f"/api/v1/agents/{built.agent.id}"


def _edit(http: httpx.Client, built: Built, changes: dict[str, Any], base: int | None = 1) -> httpx.Response:
    return http.post(f"{_agent(built)}/plan", json={"changes": changes, "base_version": base})


class Answer(Protocol):
    """An HTTP answer of httpx or of Starlette's TestClient."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


def _error(response: Answer, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["message"]
    return body


def test_the_agent_with_its_plan_by_section_and_its_versions(acme: httpx.Client, built: Built) -> None:
    body = acme.get(_agent(built)).json()

    assert body["agent"]["id"] == built.agent.id and body["agent"]["status"] == "active"
    assert body["plan"]["version"] == 1 and "Always be polite." in body["plan"]["system_prompt"]
    sections = {s["id"]: s["fields"] for s in body["sections"]}
    assert sections["instructions"] == ["system_prompt"] and "handoff_rules" in sections["handoff"]
    assert all(f in body["plan"] for fields in sections.values() for f in fields)  # every field shown exists
    assert "closing_message" in body["editable"] and "model" not in body["editable"]
    assert body["build"] is None and body["charts"] == f"#charts?agent={built.agent.id}"
    versions = acme.get(f"{_agent(built)}/versions").json()
    assert [(v["version"], v["current"]) for v in versions["versions"]] == [(1, True)]


def test_an_edit_becomes_a_new_version_the_diff_shows_and_a_restore_brings_back(
    acme: httpx.Client, built: Built
) -> None:
    original = acme.get(_agent(built)).json()["plan"]["closing_message"]

    started = _edit(acme, built, {"closing_message": NEW_CLOSING})
    assert started.status_code == 202, started.text
    assert (started.json()["attempted_version"], started.json()["changed_fields"]) == (2, ["closing_message"])
    wait_for_builds(built.agent.id)

    after = acme.get(_agent(built)).json()
    assert (after["agent"]["artifact_version"], after["plan"]["closing_message"]) == (2, NEW_CLOSING)
    assert after["build"] is None
    diff = acme.get(f"{_agent(built)}/versions/1/diff/2").json()
    [change] = diff["changes"]
    assert (change["field"], change["before"], change["after"]) == ("closing_message", original, NEW_CLOSING)

    restored = acme.post(f"{_agent(built)}/versions/1/restore", json={"base_version": 2})
    assert restored.status_code == 202, restored.text
    assert (restored.json()["attempted_version"], restored.json()["restored_version"]) == (3, 1)
    wait_for_builds(built.agent.id)

    final = acme.get(_agent(built)).json()
    assert (final["agent"]["artifact_version"], final["plan"]["closing_message"]) == (3, original)
    assert acme.get(f"{_agent(built)}/versions/1/diff/3").json()["changes"] == []
    assert [v["version"] for v in acme.get(f"{_agent(built)}/versions").json()["versions"]] == [3, 2, 1]


def test_bad_ids_versions_and_bodies_are_clear_4xx(acme: httpx.Client, built: Built) -> None:
    agent = _agent(built)
    _error(acme.get("/api/v1/agents/not a valid id!"), 422)
    _error(acme.get(f"{agent}/versions/abc/diff/1"), 422)
    _error(acme.get(f"{agent}/versions/0/diff/1"), 422)
    _error(acme.get(f"{agent}/versions/1/diff/99999999"), 422)
    _error(acme.get(f"{agent}/versions/1/diff/9"), 404)
    _error(acme.get("/api/v1/agents/agt_unknown"), 404)
    _error(_edit(acme, built, {}), 422)  # nothing to change
    assert _error(_edit(acme, built, {"colour": "blue"}), 422)["field"] == "changes.colour"
    assert _error(_edit(acme, built, {"system_prompt": "short"}), 422)["field"] == "changes.system_prompt"
    _error(_edit(acme, built, {"closing_message": NEW_CLOSING}, base=7), 409)  # not the serving version
    _error(acme.post(f"{agent}/plan", content=b"{not json"), 422)
    _error(acme.post(f"{agent}/plan", content=b"x" * (70 * 1024)), 413)
    _error(acme.post(f"{agent}/versions/1/restore", json={}), 422)  # the version serving now
    _error(acme.post(f"{agent}/versions/5/restore", json={}), 404)
    _error(acme.delete(f"{agent}/tools/no_such_tool"), 404)
    _error(acme.post(f"{agent}/chat", json={"message": ""}), 422)
    _error(acme.post(f"{agent}/keys", json={"name": ""}), 422)
    _error(acme.post("/api/v1/secrets", json={"name": "lower", "value": "v"}), 422)
    assert acme.post(f"{agent}/pause").status_code == 200
    _error(_edit(acme, built, {"closing_message": NEW_CLOSING}), 409)  # paused: resume first
    _error(acme.post(f"{agent}/pause"), 409)
    assert acme.post(f"{agent}/resume").json()["status"] == "active"
    _error(acme.post(f"{agent}/resume"), 409)


def test_another_tenants_agent_is_not_found_through_every_route(http: httpx.Client, built: Built) -> None:
    http.headers.update(built.bearer(built.globex_token))
    agent = _agent(built)
    for method, path, body in [
        ("GET", agent, None),
        ("GET", f"{agent}/versions", None),
        ("GET", f"{agent}/versions/1/diff/1", None),
        ("POST", f"{agent}/plan", {"changes": {"closing_message": NEW_CLOSING}}),
        ("POST", f"{agent}/versions/1/restore", {}),
        ("GET", f"{agent}/simulations", None),
        ("POST", f"{agent}/pause", None),
        ("GET", f"{agent}/keys", None),
        ("POST", f"{agent}/keys", {"name": "stolen"}),
        ("POST", f"{agent}/keys/{built.key_id}/revoke", None),
        ("GET", f"{agent}/tools", None),
        ("POST", f"{agent}/chat", {"message": "hello"}),
    ]:
        refused = _error(http.request(method, path, json=body), 404)
        assert f"agent '{built.agent.id}' was not found" in refused["message"], (method, path)  # the service's
    # Acme's own key is not revoked through Globex's agent either.
    revoked = _error(http.post(f"/api/v1/agents/{built.globex_agent.id}/keys/{built.key_id}/revoke"), 404)
    assert "has no key" in revoked["message"]
    assert built.platform.agents.get(built.acme.principal, built.agent.id).status.value == "active"


def test_keys_of_this_agent_are_minted_once_listed_and_revoked(acme: httpx.Client, built: Built) -> None:
    minted = acme.post(f"{_agent(built)}/keys", json={"name": "website", "ttl_days": 30})
    assert minted.status_code == 201, minted.text
    secret, key = minted.json()["secret"], minted.json()["key"]
    assert key["agent_id"] == built.agent.id and secret.startswith(key["prefix"])
    listed = acme.get(f"{_agent(built)}/keys").json()["keys"]
    assert {k["id"] for k in listed} == {key["id"], built.key_id} and secret not in str(listed)
    revoked = acme.post(f"{_agent(built)}/keys/{key['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    _error(acme.post(f"{_agent(built)}/keys/{key['id']}/revoke"), 409)
    assert "has no key" in _error(acme.post(f"{_agent(built)}/keys/key_unknown/revoke"), 404)["message"]


def test_secrets_are_names_only_and_values_never_come_back(acme: httpx.Client, built: Built) -> None:
    value = "s3cr3t-value-that-must-not-leak"
    put = acme.post("/api/v1/secrets", json={"name": "ORDERS_TOKEN", "value": value})
    assert put.status_code == 201 and value not in put.text and put.json()["name"] == "ORDERS_TOKEN"
    listed = acme.get("/api/v1/secrets")
    assert [s["name"] for s in listed.json()["secrets"]] == ["ORDERS_TOKEN"] and value not in listed.text
    globex = acme.get("/api/v1/secrets", headers=built.bearer(built.globex_token))
    assert globex.json()["secrets"] == []
    _error(acme.delete("/api/v1/secrets/ORDERS_TOKEN", headers=built.bearer(built.globex_token)), 404)
    assert acme.delete("/api/v1/secrets/ORDERS_TOKEN").status_code == 200
    assert acme.get("/api/v1/secrets").json()["secrets"] == []


def test_the_test_chat_talks_to_the_agent_and_continues_its_session(acme: httpx.Client, built: Built) -> None:
    first = acme.post(f"{_agent(built)}/chat", json={"message": "Hello there"})
    assert first.status_code == 200, first.text
    assert first.json()["reply"] and first.json()["session_id"]
    second = acme.post(f"{_agent(built)}/chat", json={"message": "Thanks", "session_id": first.json()["session_id"]})
    assert second.json()["session_id"] == first.json()["session_id"]
    session = built.platform.sessions.get(built.acme.principal, first.json()["session_id"]).session
    assert session.agent_id == built.agent.id and session.tester == built.acme.principal.subject


def test_the_test_chat_is_rate_limited_per_tenant(platform: Platform, built: Built) -> None:
    limiter = TokenBucketLimiter(rate_per_minute=1, burst=1, clock=lambda: 0.0)
    app = Starlette(routes=agent_access_routes(platform, chat_limiter=limiter))
    with TestClient(app, headers=built.bearer()) as client:
        assert client.post(f"{_agent(built)}/chat", json={"message": "Hello"}).status_code == 200
        refused = _error(client.post(f"{_agent(built)}/chat", json={"message": "Hello again"}), 429)
        assert "rate limit" in refused["message"]
        globex = client.post(
            f"/api/v1/agents/{built.globex_agent.id}/chat",
            json={"message": "Hello"},
            headers=built.bearer(built.globex_token),
        )
        assert globex.status_code == 200  # another tenant's budget is its own


def test_a_test_call_key_is_minted_for_a_day_and_replaces_the_last_one(acme: httpx.Client, built: Built) -> None:
    path = f"{_agent(built)}/test-call"
    _error(acme.post(path), 409)  # a text agent takes no calls
    built.platform.agents.update(built.acme.principal, built.agent.id, AgentUpdate(agent_type=AgentType.BOTH))
    first = acme.post(path)
    assert first.status_code == 201, first.text
    assert (first.json()["agent_id"], first.json()["client"]) == (built.agent.id, "/voice/client")
    second = acme.post(path).json()["secret"]
    keys = {k["prefix"]: k for k in acme.get(f"{_agent(built)}/keys").json()["keys"] if k["name"] == TEST_CALL_KEY}
    assert len(keys) == 2
    [old] = [k for p, k in keys.items() if first.json()["secret"].startswith(p)]
    [new] = [k for p, k in keys.items() if second.startswith(p)]
    assert old["revoked_at"] and not new["revoked_at"]
    assert new["expires_at"] and new["expires_at"] < (datetime.now(UTC) + timedelta(days=1, minutes=1)).isoformat()
    assert built.platform.keys.authenticate_for_agent(second, built.agent.id).agent_id == built.agent.id
    _error(acme.post(f"/api/v1/agents/{built.globex_agent.id}/test-call"), 404)


def test_simulations_show_the_last_report_and_run_again(acme: httpx.Client, built: Built) -> None:
    found = acme.get(f"{_agent(built)}/simulations").json()
    assert found["report"]["version"] == 1 and found["scenarios"]
    ran = acme.post(f"{_agent(built)}/simulations")
    assert ran.status_code == 201, ran.text
    assert ran.json()["report"]["version"] == 1
    assert acme.get(f"{_agent(built)}/tools").json() == {"agent_id": built.agent.id, "tools": []}


def test_a_signed_in_persons_writes_need_the_csrf_token(person: tuple[httpx.Client, str], built: Built) -> None:
    client, csrf = person
    agent = _agent(built)
    assert client.get(agent).status_code == 200  # reads need no token
    writes: list[tuple[str, dict[str, Any]]] = [
        (f"{agent}/plan", {"changes": {"closing_message": NEW_CLOSING}}),
        (f"{agent}/versions/1/restore", {}),
        (f"{agent}/pause", {}),
        (f"{agent}/keys", {"name": "web"}),
        (f"{agent}/keys/{built.key_id}/revoke", {}),
        (f"{agent}/chat", {"message": "hello"}),
        (f"{agent}/simulations", {}),
        ("/api/v1/secrets", {"name": "ORDERS_TOKEN", "value": "v"}),
    ]
    for path, body in writes:
        _error(json_post(client, path, body), 403)  # no X-CSRF-Token
        _error(json_post(client, path, body, csrf="wrong"), 403)
    _error(client.delete(f"{agent}/tools/anything", headers={"Origin": str(client.base_url).rstrip("/")}), 403)
    cross = client.post(f"{agent}/pause", headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf})
    _error(cross, 403)
    assert built.platform.agents.get(built.acme.principal, built.agent.id).status.value == "active"
    assert json_post(client, f"{agent}/pause", {}, csrf=csrf).json()["status"] == "paused"
    assert json_post(client, f"{agent}/resume", {}, csrf=csrf).json()["status"] == "active"
    chat = json_post(client, f"{agent}/chat", {"message": "Hello"}, csrf=csrf)
    assert chat.status_code == 200 and chat.json()["reply"]
