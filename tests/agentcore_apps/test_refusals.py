"""Every bad request gets its own clear 4xx JSON answer, over a real socket, and never a 500.

These refusals all happen before a model is asked anything: the body limit and JSON check in the
guard middleware, the key, the payload schema, the agent and the session header. The refusals that
need the conversation engine (a paused agent, an ended session) are in `test_turns.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcore_apps.app import create_runtime_app
from agentcore_apps.contract import AGENTCORE_API_KEY_HEADER, MAX_BODY_BYTES, SESSION_HEADER
from schemas import Limits
from tests.support.models import scripted_agent
from tests.support.platforms import open_test_platform
from tests.support.serving import serving
from tests.support.tenants import mint, new_agent, new_tenancy
from tests.support.worlds import World


def invoke(
    http: httpx.Client, body: Any, *, key: str | None = None, path: str = "/invocations", **headers: str
) -> httpx.Response:
    sent = dict(headers)
    if key is not None:
        sent["X-Api-Key"] = key
    if isinstance(body, bytes):
        return http.post(path, content=body, headers={"Content-Type": "application/json", **sent})
    return http.post(path, json=body, headers=sent)


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word in body["message"], body
    return body


def test_ping_is_healthy(http: httpx.Client) -> None:
    response = http.get("/ping")
    assert response.status_code == 200
    assert response.json()["status"] == "Healthy"


# -- the key -----------------------------------------------------------------------------------


def test_no_key_is_401_with_a_challenge_that_says_how_to_send_one(http: httpx.Client, world: World) -> None:
    response = invoke(http, {"agent_id": world.agent.id, "message": "hi"})
    body = assert_error(response, 401, "unauthenticated", "X-Api-Key", "Authorization: Bearer")
    assert AGENTCORE_API_KEY_HEADER in body["message"]
    assert response.headers["www-authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Api-Key": "ora_sk_" + "A" * 43},  # the right shape, but no such key
        {"X-Api-Key": "not-a-key"},
        {"Authorization": "Bearer ora_sk_" + "B" * 43},
        {AGENTCORE_API_KEY_HEADER: "ora_sk_" + "C" * 43},
    ],
    ids=["unknown", "malformed", "bearer-unknown", "agentcore-header-unknown"],
)
def test_a_bad_key_is_401_and_says_no_more(http: httpx.Client, world: World, headers: dict[str, str]) -> None:
    response = invoke(http, {"agent_id": world.agent.id, "message": "hi"}, **headers)
    body = assert_error(response, 401, "unauthenticated")
    assert body["message"] == "API key is not valid"
    assert "www-authenticate" in response.headers


def test_a_bearer_token_that_is_not_an_api_key_is_401(http: httpx.Client, world: World) -> None:
    response = invoke(http, {"agent_id": world.agent.id, "message": "hi"}, Authorization="Bearer eyJhbGciOi.x.y")
    assert_error(response, 401, "unauthenticated", "X-Api-Key")


def test_every_key_header_is_accepted(http: httpx.Client, world: World) -> None:
    """Reaching the session lookup (404: no such session) proves the key passed, whichever header carried it."""
    body = {"agent_id": world.agent.id, "message": "hi"}
    for headers in (
        {"X-Api-Key": world.secret},
        {"Authorization": f"Bearer {world.secret}"},
        {AGENTCORE_API_KEY_HEADER: world.secret},
    ):
        response = invoke(http, {**body, "session_id": "ses_" + "0" * 26}, **headers)
        assert response.status_code == 404, response.text
        assert response.json()["message"] == f"session '{'ses_' + '0' * 26}' was not found"


def test_a_key_of_another_agent_of_the_tenant_is_403(http: httpx.Client, world: World) -> None:
    response = invoke(http, {"agent_id": world.other_agent.id, "message": "hi"}, key=world.secret)
    assert_error(response, 403, "forbidden", "another agent")


def test_an_agent_the_tenant_does_not_have_is_404(http: httpx.Client, world: World) -> None:
    unknown = "agt_" + "0" * 26
    response = invoke(http, {"agent_id": unknown, "message": "hi"}, key=world.secret)
    assert_error(response, 404, "not_found", unknown)


def test_another_tenants_agent_reads_as_unknown(http: httpx.Client, world: World) -> None:
    """Globex's agent exists, but to Acme's key it is exactly as unknown as a made-up id."""
    response = invoke(http, {"agent_id": world.globex_agent.id, "message": "hi"}, key=world.secret)
    assert_error(response, 404, "not_found", world.globex_agent.id)


# -- the body ----------------------------------------------------------------------------------


def test_an_oversize_body_is_413_with_the_limit(http: httpx.Client, world: World) -> None:
    big = {"agent_id": world.agent.id, "message": "x" * (MAX_BODY_BYTES + 1)}
    response = invoke(http, big, key=world.secret)
    assert_error(response, 413, "payload_too_large", str(MAX_BODY_BYTES), "64 KiB")


def test_an_oversize_chunked_body_is_413_without_reading_it_all(http: httpx.Client, world: World) -> None:
    """No Content-Length to trust: the guard counts bytes as they arrive and stops past the limit."""

    def chunks() -> Iterator[bytes]:
        yield b'{"agent_id": "%s", "message": "' % world.agent.id.encode()
        for _ in range(64):
            yield b"y" * 4096
        yield b'"}'

    response = http.post("/invocations", content=chunks(), headers={"X-Api-Key": world.secret})
    assert_error(response, 413, "payload_too_large", str(MAX_BODY_BYTES))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", ("not valid JSON", "line 1")),
        (b"", ("not valid JSON",)),
        (b"\xff\xfe{}", ("UTF-8",)),
    ],
    ids=["syntax", "empty", "not-utf8"],
)
def test_a_body_that_is_not_json_is_422(http: httpx.Client, world: World, raw: bytes, words: tuple[str, ...]) -> None:
    response = invoke(http, raw, key=world.secret)
    assert_error(response, 422, "invalid_input", *words)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (["hi"], None, ("JSON object",)),
        ({"message": "hi"}, "agent_id", ("agent_id is required",)),
        ({"agent_id": "AGENT-1", "message": "hi"}, "agent_id", ("agent_id",)),
        ({"agent_id": "@", "message": ""}, "agent_id", ("message",)),
        ({"message": "x" * (Limits.TURN_TEXT_MAX + 1)}, "message", ("at most 8000 characters",)),
        ({"message": "   "}, "message", ("message is empty",)),
        ({"message": 42}, "message", ("valid string",)),
        ({"message": "hi", "mesage": "typo"}, "mesage", ("Extra inputs are not permitted",)),
        ({"message": "hi", "stream": "often"}, "stream", ("valid boolean",)),
        ({"message": "hi", "session_id": "my session"}, "session_id", ("session_id",)),
        ({"message": "hi", "customer": {"name": ["a"]}}, "customer", ("customer.name",)),
        ({"message": "hi", "customer": {f"k{i}": "v" for i in range(33)}}, "customer", ("at most 32",)),
    ],
    ids=[
        "array",
        "no-agent",
        "bad-agent-id",
        "several-errors",
        "message-too-long",
        "blank-message",
        "message-not-text",
        "unknown-field",
        "stream-not-bool",
        "bad-session-id",
        "customer-not-strings",
        "customer-too-many-keys",
    ],
)
def test_a_malformed_payload_is_422_naming_the_field(
    http: httpx.Client, world: World, body: Any, field: str | None, words: tuple[str, ...]
) -> None:
    if isinstance(body, dict) and "agent_id" not in body and field != "agent_id":
        body = {"agent_id": world.agent.id, **body}
    response = invoke(http, body, key=world.secret)
    answer = assert_error(response, 422, "invalid_input", *words)
    assert answer.get("field") == field


def test_the_agent_may_come_from_the_path(http: httpx.Client, world: World) -> None:
    response = invoke(http, {"message": "hi"}, key=world.secret, path=f"/agents/{world.other_agent.id}/invocations")
    assert_error(response, 403, "forbidden")  # routed to the path's agent, which the key is not for


def test_path_and_body_must_name_the_same_agent(http: httpx.Client, world: World) -> None:
    path = f"/agents/{world.agent.id}/invocations"
    response = invoke(http, {"agent_id": world.other_agent.id, "message": "hi"}, key=world.secret, path=path)
    assert_error(response, 422, "invalid_input", "differs")


def test_a_path_that_is_not_an_agent_id_is_422(http: httpx.Client, world: World) -> None:
    response = invoke(http, {"message": "hi"}, key=world.secret, path="/agents/Agent-1/invocations")
    assert_error(response, 422, "invalid_input", "not an agent id")


@pytest.mark.parametrize("value", ["short", "x" * 257, "has space" + "x" * 30], ids=["short", "long", "space"])
def test_a_session_header_agentcore_would_refuse_is_422(http: httpx.Client, world: World, value: str) -> None:
    response = invoke(http, {"agent_id": world.agent.id, "message": "hi"}, key=world.secret, **{SESSION_HEADER: value})
    assert_error(response, 422, "invalid_input", "33 to 256")


def test_header_and_body_must_name_the_same_session(http: httpx.Client, world: World) -> None:
    headers = {SESSION_HEADER: "oratio-ses_" + "1" * 26}
    body = {"agent_id": world.agent.id, "message": "hi", "session_id": "ses_" + "2" * 26}
    response = invoke(http, body, key=world.secret, **headers)
    assert_error(response, 422, "invalid_input", "differs")


def test_unknown_routes_and_methods_answer_json(http: httpx.Client) -> None:
    assert_error(http.get("/nowhere"), 404, "not_found", "/invocations")
    assert_error(http.get("/invocations"), 405, "method_not_allowed", "GET")


# -- the rate limit ----------------------------------------------------------------------------


def test_a_spent_rate_limit_is_429_with_retry_after(tmp_path: Path) -> None:
    with open_test_platform(tmp_path, models=scripted_agent, key_burst=2, key_rate_per_minute=1) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = new_agent(platform, acme, "Support")
        secret, _ = mint(platform, acme, agent)
        unknown_session = {"agent_id": agent.id, "message": "hi", "session_id": "ses_" + "0" * 26}
        with serving(create_runtime_app(platform)) as served, httpx.Client(base_url=served.base_url) as http:
            for _ in range(2):
                assert invoke(http, unknown_session, key=secret).status_code == 404
            response = invoke(http, unknown_session, key=secret)
            assert_error(response, 429, "rate_limited")
            assert 1 <= int(response.headers["retry-after"]) <= 60
