"""The dashboard's doors fuzzed over a real socket: every `/api/v1` endpoint and `WS /ws/dashboard`.

Query strings come from the endpoints' own request models (`AgentQuery`, `SessionQuery`, ...: valid
with real ids of both tenants, or bent past their limits), plus unknown and repeated parameters;
path ids are real ids of both tenants, unknown ids and junk; `POST /api/v1/keys` bodies come from
`MintKeyRequest` and from anything at all; tokens are the acme admin's mostly, else anything
`tokens()` of test_fuzz_http makes (garbage, JWT-shaped garbage, random claims signed with the real
key, the other tenant's token). Every answer is below 500, a refusal is a JSON body naming the
error, and a 200 for acme's token names nothing of the other tenant's.

The WebSocket's first message is drawn from `AuthMessage`'s schema with those tokens, or is any
JSON, text or binary; then come a few more frames. It must answer `ready` or close with a
documented code (4401, 4403, 4422, 4429) and a reason, never 1011 and never hang; a binary or
oversize frame after `ready` closes it with 4422.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import anyio
import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dashboard.agent_openapi import OpenApiImport
from dashboard.api import AgentQuery, KeyQuery, LiveQuery, NotificationQuery, SessionQuery
from dashboard.live import MAX_CLIENT_MESSAGE, AuthMessage
from schemas import Channel, MintKeyRequest
from tests.reliability.ledger import unknown_id
from tests.reliability.strategies import from_schema, garbage
from tests.reliability.test_fuzz_http import FUZZ, TIMEOUT_S, Target, assert_clear, header_text, tokens
from tests.reliability.world import new_side, reliability_platform, serving

WS_CODES = {4401, 4403, 4422, 4429}
QUERIES: tuple[tuple[str, type[BaseModel] | None], ...] = (
    ("/api/v1/agents", AgentQuery),
    ("/api/v1/sessions", SessionQuery),
    ("/api/v1/sessions/live", LiveQuery),
    ("/api/v1/notifications", NotificationQuery),
    ("/api/v1/keys", KeyQuery),
    ("/api/v1/stats", None),
)
BY_ID = (
    ("GET", "/api/v1/sessions/{}"),
    ("POST", "/api/v1/notifications/{}/read"),
    ("POST", "/api/v1/notifications/{}/acknowledge"),
    ("POST", "/api/v1/keys/{}/revoke"),
    ("POST", "/api/v1/sessions/{}/handoff/acknowledge"),
    ("POST", "/api/v1/sessions/{}/handoff/take-over"),
    ("POST", "/api/v1/sessions/{}/handoff/return"),
    ("POST", "/api/v1/sessions/{}/handoff/close"),
    ("POST", "/api/v1/sessions/{}/messages"),
    # The agent page (dashboard.agent_page, dashboard.agent_access, dashboard.agent_tools).
    ("GET", "/api/v1/agents/{}"),
    ("GET", "/api/v1/agents/{}/versions"),
    ("GET", "/api/v1/agents/{}/versions/1/diff/1"),
    ("GET", "/api/v1/agents/{}/simulations"),
    ("GET", "/api/v1/agents/{}/keys"),
    ("GET", "/api/v1/agents/{}/tools"),
    ("POST", "/api/v1/agents/{}/plan"),
    ("POST", "/api/v1/agents/{}/versions/1/restore"),
    ("POST", "/api/v1/agents/{}/chat"),
    ("POST", "/api/v1/agents/{}/pause"),
    ("POST", "/api/v1/agents/{}/resume"),
    # Its tool routes (dashboard.agent_tools): the agents have no tool, so a body is read and then 404.
    ("PATCH", "/api/v1/agents/{}/tools/get_order"),
    ("POST", "/api/v1/agents/{}/tools/get_order/test"),
    ("DELETE", "/api/v1/agents/{}/tools/get_order"),
    # Its OpenAPI import (dashboard.agent_openapi): a body drawn from anything, for agents of both tenants.
    ("POST", "/api/v1/agents/{}/openapi/operations"),
    ("POST", "/api/v1/agents/{}/openapi/import"),
)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Target, str, list[str]]]:
    """The fuzz target of test_fuzz_http (acme, globex, a session), its ws:// base, and real ids of both."""
    with reliability_platform(tmp_path_factory.mktemp("fuzz-dashboard")) as platform:
        acme, globex = new_side(platform, "Acme"), new_side(platform, "Globex")
        ids = [acme.agent.id, globex.agent.id, acme.key_id, globex.key_id]
        for side in (acme, globex):
            turn = platform.engine.turn(side.tenant_id, side.agent.id, None, "I want to talk to a person", Channel.TEXT)
            ids.append(turn.session_id)
            ids += [n.id for n in platform.notifications.list(side.principal, limit=10).items]
        with serving(platform) as served, httpx.Client(base_url=served.base_url, timeout=TIMEOUT_S) as http:
            yield Target(http, acme, globex, ids[4]), served.ws_base, ids


def query_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@st.composite
def queries(draw: st.DrawFn, model: type[BaseModel] | None, ids: list[str]) -> list[tuple[str, str]]:
    fields: Any = {}
    if model is not None:
        schema = model.model_json_schema()
        fields = draw(from_schema(schema, ids=ids, valid=True) | from_schema(schema, ids=ids))
    pairs = [(str(k), query_value(v)) for k, v in fields.items()] if isinstance(fields, dict) else []
    extra = draw(st.lists(st.tuples(st.sampled_from(["limit", "cursor", "x", "status"]), header_text(20)), max_size=2))
    return pairs + extra


def test_api_answers_every_request_clearly(dashboard: tuple[Target, str, list[str]]) -> None:
    target, _, ids = dashboard
    acme_token = target.acme.token
    token = st.one_of(st.just(acme_token), st.just(acme_token), tokens(target))
    path_ids = st.sampled_from(ids) | st.sampled_from(["agent", "session", "key", "notification"]).map(unknown_id)
    body = from_schema(MintKeyRequest.model_json_schema(), ids=ids, valid=True) | from_schema(
        MintKeyRequest.model_json_schema(), ids=ids
    )
    statuses: set[int] = set()

    @given(
        request=st.one_of(
            st.sampled_from(QUERIES).flatmap(
                lambda q: queries(q[1], ids).map(lambda params: ("GET", f"{q[0]}?{urlencode(params)}", None))
            ),
            st.tuples(st.sampled_from(BY_ID), path_ids | header_text(30)).map(
                lambda t: (t[0][0], t[0][1].format(quote(t[1], safe="")), None)
            ),
            st.tuples(body | garbage, st.booleans()).map(
                lambda b: ("POST", "/api/v1/keys", json.dumps(b[0]).encode() if b[1] else b"\xff{" + b"x" * 20_000)
            ),
        ),
        token=token,
    )
    @FUZZ
    def run(request: tuple[str, str, bytes | None], token: str) -> None:
        method, path, content = request
        headers = {"Authorization": f"Bearer {token}".strip(), "Content-Type": "application/json"}
        response = target.http.request(method, path, content=content, headers=headers)
        what = f"{method} {path} {content[:200] if content else ''!r}"
        assert_clear(response, what)
        statuses.add(response.status_code)
        if response.status_code < 300 and token == acme_token:
            text = response.text
            for foreign in (target.globex.tenant_id, target.globex.agent.id, target.globex.key_id):
                assert foreign not in text, f"{what}: {foreign} in {text[:300]}"

    run()
    # Past the token, past validation, into the services: served, refused, unknown and invalid all seen.
    assert {200, 401, 404, 422} <= statuses, statuses


async def first_messages(ws_base: str, frames: list[str | bytes]) -> tuple[dict[str, Any] | None, int | None, str]:
    """Send `frames`; (ready or None, the server's close code or None if it stayed open, the reason)."""
    with anyio.fail_after(TIMEOUT_S):
        async with connect(f"{ws_base}/ws/dashboard", open_timeout=10, max_size=2**22) as ws:
            ready: dict[str, Any] | None = None
            try:
                await ws.send(frames[0])
                answer = json.loads(await ws.recv())
                assert answer["type"] == "ready", answer
                ready = answer
                for frame in frames[1:]:
                    await ws.send(frame)
                if not any(isinstance(f, bytes) or len(f) > MAX_CLIENT_MESSAGE for f in frames[1:]):
                    return ready, None, ""
                async for message in ws:  # events until the close the bad frame earns
                    assert json.loads(message)["type"] == "event", message
            except ConnectionClosed as closed:
                if closed.rcvd is None:
                    return ready, 1006, ""
                return ready, closed.rcvd.code, closed.rcvd.reason
            raise AssertionError(f"{frames}: the server closed without a close frame")


DOCUMENT_PIECES = st.sampled_from(
    [
        "openapi: 3.1.0\n",
        "openapi: '3.0.3'\n",
        "info: {title: t, version: '1'}\n",
        "paths:\n  /a/{id}:\n    get:\n      parameters: [{name: id, in: path, required: true}]\n",
        "      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}\n",
        "components: {schemas: {A: {$ref: '#/components/schemas/A'}}}\n",
        "servers: [{url: 'http://10.0.0.5'}]\n",
        "a: &x [1]\nb: *x\n",
        "!!python/object:os.system x\n",
        '{"openapi": "3.1.0", "paths": {"/x": {"post": {}}}}',
        "[" * 200,
    ]
)
"""Pieces of OpenAPI-ish documents (real keys, refs that cycle, aliases, tags, deep nesting) to join at random."""


def test_openapi_import_answers_every_document_clearly(dashboard: tuple[Target, str, list[str]]) -> None:
    """The agent page's OpenAPI routes with bodies from their own model (valid or bent), documents stitched
    from pieces, or anything at all, for agents of both tenants: every answer is below 500 and clear."""
    target, _, ids = dashboard
    schema = OpenApiImport.model_json_schema()
    documents = st.lists(DOCUMENT_PIECES | st.text(max_size=60), max_size=8).map("".join)
    stitched = st.tuples(documents, st.lists(st.text(max_size=30), max_size=3)).map(
        lambda d: {"spec": d[0], "operations": d[1] or ["GET /a/{id}"]}
    )
    body = from_schema(schema, ids=ids, valid=True) | from_schema(schema, ids=ids) | stitched | garbage
    agents = st.sampled_from([target.acme.agent.id, target.globex.agent.id])
    statuses: set[int] = set()

    @given(body=body, agent=agents, route=st.sampled_from(["operations", "import"]), only_spec=st.booleans())
    @FUZZ
    def run(body: Any, agent: str, route: str, only_spec: bool) -> None:
        if only_spec and isinstance(body, dict) and "spec" in body:
            body = {"spec": body["spec"]}  # the listing's own body: a document and nothing else
        headers = {"Authorization": f"Bearer {target.acme.token}"}
        response = target.http.post(f"/api/v1/agents/{agent}/openapi/{route}", json=body, headers=headers)
        assert_clear(response, f"POST {route} {json.dumps(body)[:200]}")
        statuses.add(response.status_code)

    run()
    assert {404, 422} <= statuses, statuses


def test_dashboard_socket_answers_every_first_message(dashboard: tuple[Target, str, list[str]]) -> None:
    target, ws_base, _ = dashboard
    auth = from_schema(AuthMessage.model_json_schema(), valid=True).flatmap(
        lambda m: st.one_of(st.just(target.acme.token), tokens(target)).map(lambda t: {**m, "type": "auth", "token": t})
    )
    first = st.one_of(
        auth.map(json.dumps),
        auth.map(json.dumps),
        from_schema(AuthMessage.model_json_schema()).map(json.dumps),
        garbage.map(json.dumps),
        st.text(max_size=40),
        st.binary(max_size=40),
        st.just("x" * (MAX_CLIENT_MESSAGE + 1)),
    )
    later = st.text(max_size=40) | garbage.map(json.dumps) | st.binary(max_size=40) | st.just("y" * 20_000)
    seen: set[int | str] = set()

    with start_blocking_portal(backend="asyncio") as portal:

        @given(frames=st.tuples(first, st.lists(later, max_size=3)).map(lambda t: [t[0], *t[1]]))
        @FUZZ
        def run(frames: list[str | bytes]) -> None:
            ready, code, reason = portal.call(first_messages, ws_base, frames)
            what = f"{[f[:100] for f in frames]} -> {ready} {code} {reason!r}"
            if ready is None:
                assert code in WS_CODES and reason.strip(), what
            elif code is not None:
                assert code == 4422 and reason.strip(), what
            seen.add(code or "ready")

        run()
    assert "ready" in seen and 4401 in seen and 4422 in seen, seen
