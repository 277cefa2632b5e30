"""The HTTP doors fuzzed over a real socket: the agent runtime, /api/v1/me, /healthz, raw MCP JSON-RPC.

Bodies come from the runtime's own pydantic schema (`Invocation`), bent toward its limits, and from
anything at all: random JSON, random bytes, invalid UTF-8, bodies around the 64 KiB limit. Headers
are drawn too: API keys (valid, another tenant's, malformed), session headers, content types,
Accept. Admin tokens are garbage, JWT-shaped garbage, and tokens signed with the real key over
random claims. Every answer must come within the client's timeout (no hang), be below 500, and
every refusal must be a JSON body naming the error; a 200 stream must end in a final or error event.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcore_apps.contract import AGENTCORE_API_KEY_HEADER, MAX_BODY_BYTES, SESSION_HEADER, Invocation
from schemas import Channel
from tests.reliability.strategies import from_schema, garbage
from tests.reliability.world import JWT_SECRET, Side, new_side, reliability_platform, serving

TIMEOUT_S = 15.0
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@dataclass(frozen=True)
class Target:
    http: httpx.Client
    acme: Side
    globex: Side
    session_id: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with reliability_platform(tmp_path_factory.mktemp("fuzz-http")) as platform:
        acme, globex = new_side(platform, "Acme"), new_side(platform, "Globex")
        session = platform.engine.turn(acme.tenant_id, acme.agent.id, None, "hello", Channel.TEXT).session_id
        with serving(platform) as served, httpx.Client(base_url=served.base_url, timeout=TIMEOUT_S) as http:
            yield Target(http, acme, globex, session)


def assert_clear(response: httpx.Response, what: str) -> None:
    """Below 500; a refusal is a JSON object with an error name (and, from Oratio, a message)."""
    assert response.status_code < 500, f"{what} -> {response.status_code} {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers.get("content-type", "").startswith("application/json"), f"{what} -> {response.text}"
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("error"), str | dict), f"{what} -> {body}"


def header_text(max_size: int = 120) -> st.SearchStrategy[str]:
    """What a client can put in a header: visible ASCII, spaces inside."""
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=max_size).map(str.strip)


# -- the agent runtime --------------------------------------------------------------------------------


@st.composite
def invocations(draw: st.DrawFn, target: Target) -> tuple[str, str, bytes, dict[str, str]]:
    acme, globex = target.acme, target.globex
    ids = [acme.agent.id, globex.agent.id, target.session_id]
    body = draw(
        st.one_of(
            from_schema(Invocation.model_json_schema(), ids=ids).map(lambda v: json.dumps(v).encode()),
            garbage.map(lambda v: json.dumps(v).encode()),
            st.binary(max_size=300),
            st.binary(max_size=50).map(lambda b: b'{"message": "' + b + b'\xff\xfe"}'),
            st.integers(min_value=MAX_BODY_BYTES - 40, max_value=MAX_BODY_BYTES + 40).map(
                lambda n: (b'{"message": "' + b"x" * n)[:n] + b'"}'
            ),
        )
    )
    agent = draw(st.sampled_from([acme.agent.id, globex.agent.id]) | header_text(70))
    path = draw(
        st.sampled_from(["/runtime/invocations", "/runtime/ping", "/runtime/", f"/runtime/agents/{acme.agent.id}/x"])
        | st.just(f"/runtime/agents/{quote(agent, safe='')}/invocations")
    )
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"]))
    headers: dict[str, str] = {}
    key = draw(st.sampled_from([acme.secret, globex.secret, "ora_sk_" + "A" * 43, "", None]) | header_text(60))
    if key is not None:
        name = draw(st.sampled_from(["X-Api-Key", AGENTCORE_API_KEY_HEADER, "Authorization"]))
        value = (f"Bearer {key}" if name == "Authorization" else key).strip()
        if value:
            headers[name] = value
    session = draw(st.none() | st.just(f"oratio-{target.session_id}") | header_text(300))
    if session is not None:
        headers[SESSION_HEADER] = session
    headers["Content-Type"] = draw(
        st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""])
    )
    accept = draw(st.none() | st.sampled_from(["text/event-stream", "application/json", "*/*"]) | header_text(40))
    if accept is not None:
        headers["Accept"] = accept
    return method, path, body, headers


def test_runtime_answers_every_request_clearly(target: Target) -> None:
    @given(call=invocations(target))
    @FUZZ
    def run(call: tuple[str, str, bytes, dict[str, str]]) -> None:
        method, path, body, headers = call
        response = target.http.request(method, path, content=body, headers=headers)
        what = f"{method} {path} {headers} {body[:200]!r}"
        assert_clear(response, what)
        if response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream"):
            events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
            assert events and events[-1]["type"] in ("final", "error"), f"{what} -> {response.text[:500]}"
            if events[-1]["type"] == "error":  # a final event's `status` is the session's, not an HTTP code
                assert events[-1]["status"] < 500, f"{what} -> {events[-1]}"

    run()
    # Still serving.
    ok = target.http.post(
        f"/runtime/agents/{target.acme.agent.id}/invocations",
        json={"message": "hi"},
        headers={"X-Api-Key": target.acme.secret},
    )
    assert ok.status_code == 200, ok.text


# -- admin tokens: /api/v1/me and /mcp --------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed_by_hand(claims: Any, algorithm: str = "HS256") -> str:
    """A JWS over any JSON claims (PyJWT's encoder refuses odd ones), signed with the platform's real key."""
    signing_input = f"{b64(json.dumps({'alg': algorithm, 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(algorithm)
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), digest).digest() if digest else b""
    return f"{signing_input}.{b64(signature)}"


CLAIMS = ("iss", "aud", "sub", "tid", "exp", "nbf", "iat", "scope", "scopes", "jti")


def tokens(target: Target) -> st.SearchStrategy[str]:
    good_claims = jwt.decode(target.acme.token, options={"verify_signature": False})
    random_claims = st.dictionaries(st.sampled_from(CLAIMS), garbage, max_size=8)
    mutated = st.dictionaries(st.sampled_from(CLAIMS), garbage, max_size=2).map(lambda c: {**good_claims, **c})
    signed = (random_claims | mutated | garbage).map(signed_by_hand)
    shaped = st.tuples(garbage, garbage, st.binary(max_size=40)).map(
        lambda parts: ".".join([b64(json.dumps(parts[0]).encode()), b64(json.dumps(parts[1]).encode()), b64(parts[2])])
    )
    other_algorithms = st.sampled_from(["HS384", "HS512", "none", "RS256"]).map(
        lambda alg: signed_by_hand(good_claims, alg)
    )
    return signed | shaped | other_algorithms | header_text(200) | st.just(target.globex.token)


def test_admin_routes_answer_every_token_clearly(target: Target) -> None:
    @given(token=tokens(target), scheme=st.sampled_from(["Bearer ", "bearer ", "Basic ", ""]))
    @FUZZ
    def run(token: str, scheme: str) -> None:
        headers = {"Authorization": f"{scheme}{token}".strip()}
        me = target.http.get("/api/v1/me", headers=headers)
        assert_clear(me, f"/api/v1/me {headers}")
        if me.status_code == 200:
            assert me.json()["tenant"]["id"] in (target.acme.tenant_id, target.globex.tenant_id)
        mcp = target.http.post(
            "/mcp", content=b"{}", headers={**headers, **MCP_HEADERS, "Content-Type": "application/json"}
        )
        assert_clear(mcp, f"/mcp {headers}")

    run()


def json_rpc() -> st.SearchStrategy[Any]:
    tools = st.sampled_from(["get_agent", "list_agents", "upload_document", "chat_with_agent", "nope"])
    call = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0") | garbage, "id": st.integers(0, 10) | garbage, "method": st.just("tools/call")},
        optional={"params": st.fixed_dictionaries({"name": tools, "arguments": garbage}) | garbage},
    )
    other = st.fixed_dictionaries(
        {"jsonrpc": st.just("2.0"), "id": st.integers(0, 10), "method": st.text(max_size=30)},
        optional={"params": garbage},
    )
    return call | other | garbage | st.lists(call, max_size=3)


def test_raw_mcp_requests_get_clear_answers(target: Target) -> None:
    headers = {"Authorization": f"Bearer {target.acme.token}", **MCP_HEADERS, "Content-Type": "application/json"}

    @given(message=json_rpc() | st.binary(max_size=200))
    @FUZZ
    def run(message: Any) -> None:
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        response = target.http.post("/mcp", content=body, headers=headers)
        assert_clear(response, f"/mcp {body[:300]!r}")

    run()


@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]), path=header_text(60))
@FUZZ
def test_any_path_and_method_answers_clearly(target: Target, method: str, path: str) -> None:
    response = target.http.request(method, "/" + quote(path.lstrip("/"), safe="/"))
    assert_clear(response, f"{method} /{path}")
